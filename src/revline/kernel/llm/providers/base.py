"""What every provider adapter takes and returns, and the shared Retry-After parser."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Protocol

from revline.kernel.llm.routing import ProviderSpec
from revline.kernel.llm.types import Message


@dataclass(slots=True)
class ProviderRequest:
    """One request to one deployment, already in the gateway's normalized shape."""

    model: str
    messages: list[Message]
    temperature: float
    max_tokens: int
    json_mode: bool = False
    timeout_s: float | None = None


@dataclass(slots=True)
class Completion:
    """A finished answer with the provider's own token counts."""

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str | None = None


@dataclass(slots=True)
class StreamChunk:
    """One piece of a stream: a text delta and/or usage, and the finish reason at the end."""

    text: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None


class Provider(Protocol):
    """A vendor adapter. Every failure is raised as a ProviderFailure, never an SDK error."""

    spec: ProviderSpec

    def complete(self, request: ProviderRequest) -> Completion:
        """One blocking completion."""
        ...

    def stream(self, request: ProviderRequest, first_token_s: float = ...) -> Iterator[StreamChunk]:
        """A blocking stream; ends with a chunk carrying finish_reason."""
        ...

    async def acomplete(self, request: ProviderRequest) -> Completion:
        """One completion on the running event loop."""
        ...

    def astream(
        self, request: ProviderRequest, first_token_s: float = ...
    ) -> AsyncIterator[StreamChunk]:
        """A stream on the running event loop."""
        ...

    def close(self) -> None:
        """Close the blocking HTTP client."""
        ...

    async def aclose(self) -> None:
        """Close the HTTP client of the running event loop."""
        ...


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from retry-after-ms, retry-after (seconds or HTTP date), else None."""
    if not headers:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def make_provider(spec: ProviderSpec) -> Provider:
    """The adapter for a provider spec; SDKs are imported only when first needed."""
    if spec.kind == "anthropic":
        from revline.kernel.llm.providers.anthropic import AnthropicProvider

        return AnthropicProvider(spec)
    from revline.kernel.llm.providers.openai import OpenAIProvider

    return OpenAIProvider(spec)
