"""Typed errors. Services raise these; only endpoints and the CLI map them to HTTP/exit codes."""

from __future__ import annotations


class RevlineError(Exception):
    """Base error: a one-line, actionable message plus the HTTP status it maps to."""

    status_code: int = 400
    exit_code: int = 1

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code

    def __str__(self) -> str:
        return self.message


class InvalidInput(RevlineError):
    """The caller's input (file, column, option, payload) is wrong."""

    status_code = 422
    exit_code = 2


class UnreadableInput(InvalidInput):
    """A file cannot be read at all: missing, empty, wrong encoding, not the format it claims."""

    exit_code = 2


class PayloadTooLarge(InvalidInput):
    """An upload is over the configured size limit."""

    status_code = 413


class NotFound(RevlineError):
    """A resource does not exist for this tenant."""

    status_code = 404


class Conflict(RevlineError):
    """The request conflicts with current state."""

    status_code = 409


class Unauthorized(RevlineError):
    """Missing or wrong credentials."""

    status_code = 401


class Forbidden(RevlineError):
    """Credentials are valid but lack a scope."""

    status_code = 403


class ConfigError(RevlineError):
    """Configuration is missing or invalid."""

    status_code = 500
    exit_code = 2


class LLMNotConfigured(RevlineError):
    """No LLM provider is configured; callers degrade or tell the user how to configure one."""

    status_code = 503

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "LLM not configured: set REVLINE_OPENAI_API_KEY (or REVLINE_LLM_BASE_URL for an "
            "OpenAI-compatible server), or set openai_api_key in revline.toml"
        )


class BudgetExceeded(RevlineError):
    """A cost budget would be exceeded by the requested call."""

    status_code = 402
