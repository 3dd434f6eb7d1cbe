"""What the executor needs from an ad platform, and the shapes adapters return."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol


def parse_time(value: Any) -> datetime | None:
    """Vendor timestamps: ISO 8601 (with Z or +0000) or epoch milliseconds, as UTC."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000.0, tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Usage:
    """Account rate-limit usage from a response header: highest percentage, minutes to regain."""

    pct: int
    regain_minutes: int = 0
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PlatformState:
    """Live state of one budget on the platform."""

    daily_budget_minor: int
    status: str
    learning_status: str | None = None
    learning_info: dict[str, Any] = field(default_factory=dict)
    spend_today_minor: int | None = None
    usage: Usage | None = None


@dataclass(frozen=True)
class PlatformResult:
    """A successful write, with the usage the response reported."""

    usage: Usage | None = None


class PlatformError(Exception):
    """A platform refused or failed a call; rate limits are retried later, not counted as bugs."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        subcode: int | None = None,
        http_status: int | None = None,
        rate_limited: bool = False,
        retryable: bool = False,
        usage: Usage | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.subcode = subcode
        self.http_status = http_status
        self.rate_limited = rate_limited
        self.retryable = retryable or rate_limited
        self.usage = usage


class AdPlatform(Protocol):
    """A platform the safe executor can read budgets from and write budgets to."""

    name: str

    async def fetch_state(self, external_id: str, *, spend_today: bool) -> PlatformState:
        """Current budget, status, learning stage (and today's spend when asked)."""
        ...

    async def set_daily_budget(self, external_id: str, budget_minor: int) -> PlatformResult:
        """Write a new daily budget in minor units."""
        ...

    async def pause(self, external_id: str) -> PlatformResult:
        """Stop delivery."""
        ...
