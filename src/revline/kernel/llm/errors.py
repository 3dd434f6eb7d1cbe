"""Typed gateway errors; `LLMNotConfigured` and `BudgetExceeded` live in kernel.errors."""

from __future__ import annotations

from revline.kernel.errors import ConfigError, RevlineError
from revline.kernel.llm.types import Usage


class LLMError(RevlineError):
    """The provider failed after retries, or answered with something unusable."""

    status_code = 502


class LLMUnavailable(LLMError):
    """Every deployment of the requested chain failed, was cooling down or too expensive."""

    status_code = 503


class LLMInvalidOutput(LLMError):
    """The answer did not parse or validate, even after one repair and every fallback."""


class StreamTruncated(LLMError):
    """A stream broke after its first chunk; no fallback is possible, partial usage is kept."""

    def __init__(self, message: str, *, partial_text: str, usage: Usage, model: str) -> None:
        super().__init__(message)
        self.partial_text = partial_text
        self.usage = usage
        self.model = model


class PriceUnknown(ConfigError):
    """A model has no price: we refuse to record a silent $0."""


class ProviderFailure(Exception):
    """A normalized provider error: what happened, whether to retry, and the Retry-After."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind  # see RETRYABLE_KINDS / FALLBACK_KINDS
        self.message = message
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        """Worth another attempt on the same deployment."""
        return self.kind in RETRYABLE_KINDS

    @property
    def falls_over(self) -> bool:
        """Worth trying the next deployment of the chain."""
        return self.kind in FALLBACK_KINDS

    def describe(self) -> str:
        """Short one-line form for error messages and the ledger."""
        code = f" {self.status}" if self.status else ""
        return f"{self.kind}{code}: {self.message}".splitlines()[0][:300]


# Transient: try again (honouring Retry-After), then fall over.
RETRYABLE_KINDS = frozenset({"rate_limit", "server", "timeout", "connection", "bad_response"})
# Worth the next deployment: the transient ones plus a prompt too long for this model.
FALLBACK_KINDS = RETRYABLE_KINDS | {"context_length"}
# These open the circuit breaker (a too-long prompt says nothing about the deployment's health).
BREAKER_KINDS = RETRYABLE_KINDS
