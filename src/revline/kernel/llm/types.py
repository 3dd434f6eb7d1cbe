"""Public value types of the gateway: who pays for a call (CallScope) and what came back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

Message = dict[str, Any]  # {"role": "system"|"user"|"assistant", "content": str}

ScopeId = uuid.UUID | str | None


def _ref(value: ScopeId) -> str | None:
    """Scope ids are stored as text so jobs, runs and conversations can use any id scheme."""
    if value is None or value == "":
        return None
    text = str(value)
    if len(text) > 64:
        from revline.kernel.errors import InvalidInput

        raise InvalidInput(f"scope id {text[:20]}... is longer than 64 characters")
    return text


@dataclass(frozen=True, slots=True)
class CallScope:
    """Who a call is billed to; budgets are checked at every level that is set."""

    tenant_id: uuid.UUID | str
    feature: str = ""
    job_id: ScopeId = None
    workflow_id: ScopeId = None
    agent_id: ScopeId = None
    conversation_id: ScopeId = None

    def tenant_uuid(self) -> uuid.UUID:
        """The tenant as a UUID; a malformed id is a one-line InvalidInput."""
        if isinstance(self.tenant_id, uuid.UUID):
            return self.tenant_id
        try:
            return uuid.UUID(str(self.tenant_id))
        except ValueError:
            from revline.kernel.errors import InvalidInput

            raise InvalidInput(f"CallScope.tenant_id {self.tenant_id!r} is not a UUID") from None

    def refs(self) -> dict[str, str | None]:
        """The optional levels as text ids, keyed by budget scope name."""
        return {
            "job": _ref(self.job_id),
            "workflow": _ref(self.workflow_id),
            "agent": _ref(self.agent_id),
            "conversation": _ref(self.conversation_id),
        }


@dataclass(slots=True)
class ChatResult:
    """Text plus usage and cost of one completed call."""

    text: str
    model: str
    provider: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd_micros: int = 0
    cached: bool = False
    latency_ms: float = 0.0
    attempts: int = 1
    finish_reason: str | None = None
    call_id: uuid.UUID | None = None

    @property
    def cost_usd(self) -> float:
        """Cost in dollars, for display; the ledger keeps integer micro-dollars."""
        return self.cost_usd_micros / 1_000_000


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens and cost of a (possibly partial) answer."""

    prompt_tokens: int
    completion_tokens: int
    cost_usd_micros: int
