"""Anthropic messages API over the official SDK (retries off: the gateway owns them)."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2

from revline.kernel.llm.errors import ProviderFailure
from revline.kernel.llm.providers.base import (
    Completion,
    ProviderRequest,
    StreamChunk,
    retry_after_seconds,
)
from revline.kernel.llm.providers.sdk import SDKProvider, status_kind
from revline.kernel.llm.types import Message

JSON_INSTRUCTION = "Answer with a single JSON object and nothing else."
_CONTEXT_MARKERS = ("prompt is too long", "context window", "too many tokens")
# Errors sent as an SSE `error` event inside a 200 stream carry only their type: read it as
# the HTTP status the same error has outside a stream, so overloads and rate limits fall over.
_EVENT_STATUS = {
    "rate_limit_error": 429, "overloaded_error": 529, "api_error": 500, "timeout_error": 504,
    "request_too_large": 413, "invalid_request_error": 400, "authentication_error": 401,
    "permission_error": 403, "not_found_error": 404,
}


def split_system(messages: list[Message], json_mode: bool) -> tuple[str, list[dict[str, Any]]]:
    """Anthropic takes the system prompt apart and wants alternating user/assistant turns."""
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role", "user")
        content = message.get("content", "")
        if role == "system":
            system.append(str(content))
            continue
        role = "assistant" if role == "assistant" else "user"
        if turns and turns[-1]["role"] == role and isinstance(content, str):
            turns[-1]["content"] = f"{turns[-1]['content']}\n\n{content}"
        else:
            turns.append({"role": role, "content": content})
    if json_mode:
        system.append(JSON_INSTRUCTION)
    if not turns or turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "content": "(start)"})
    return "\n\n".join(system), turns


def _input_tokens(usage: Any) -> int:
    if usage is None:
        return 0
    return int(
        (usage.input_tokens or 0)
        + (getattr(usage, "cache_creation_input_tokens", 0) or 0)
        + (getattr(usage, "cache_read_input_tokens", 0) or 0)
    )


class AnthropicProvider(SDKProvider):
    """Adapter over `anthropic.Anthropic` / `anthropic.AsyncAnthropic`."""

    def _new_client(self, http_client: httpx2.Client | None) -> anthropic.Anthropic:
        return anthropic.Anthropic(api_key=self.spec.api_key, base_url=self.spec.base_url,
                                   max_retries=0, timeout=self.spec.timeout_s,
                                   http_client=http_client)

    def _new_async_client(
        self, http_client: httpx2.AsyncClient | None
    ) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(api_key=self.spec.api_key, base_url=self.spec.base_url,
                                        max_retries=0, timeout=self.spec.timeout_s,
                                        http_client=http_client)

    def _endpoint(self, client: Any) -> Any:
        return client.messages

    def _kwargs(self, request: ProviderRequest) -> dict[str, Any]:
        system, turns = split_system(request.messages, request.json_mode)
        # The 2.x messages API has no temperature: sampling is the model's own.
        kwargs: dict[str, Any] = {
            "model": request.model,
            "messages": turns,
            "max_tokens": request.max_tokens,
        }
        if system:
            kwargs["system"] = system
        if request.timeout_s is not None:
            kwargs["timeout"] = request.timeout_s
        return kwargs

    def _completion(self, resp: Any) -> Completion:
        text = "".join(getattr(block, "text", "") for block in resp.content or [])
        usage = resp.usage
        return Completion(
            text=text,
            model=resp.model or "",
            prompt_tokens=_input_tokens(usage),
            completion_tokens=(usage.output_tokens or 0) if usage else 0,
            finish_reason=resp.stop_reason,
        )

    def _chunk(self, raw: Any) -> StreamChunk | None:
        kind = raw.type
        if kind == "content_block_delta" and getattr(raw.delta, "type", "") == "text_delta":
            return StreamChunk(text=raw.delta.text)
        if kind == "message_start":
            return StreamChunk(prompt_tokens=_input_tokens(raw.message.usage))
        if kind == "message_delta":
            return StreamChunk(completion_tokens=raw.usage.output_tokens if raw.usage else None)
        if kind == "message_stop":
            return StreamChunk(finish_reason="end_turn")
        return None

    def _failure(self, exc: BaseException) -> ProviderFailure:
        return failure(exc)


def _error_type(body: object) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("type", "")) if isinstance(error, dict) else ""


def failure(exc: BaseException) -> ProviderFailure:
    """Map an SDK or transport exception to a ProviderFailure (kind, status, Retry-After)."""
    if isinstance(exc, ProviderFailure):
        return exc
    if isinstance(exc, anthropic.APITimeoutError | httpx2.TimeoutException):
        return ProviderFailure("timeout", "request timed out")
    if isinstance(exc, anthropic.APIConnectionError | httpx2.TransportError):
        return ProviderFailure("connection", f"connection failed: {type(exc).__name__}")
    if isinstance(exc, anthropic.APIResponseValidationError | ValueError):
        return ProviderFailure("bad_response", "answer was not valid JSON")
    if isinstance(exc, anthropic.APIStatusError):
        message = " ".join(str(exc.api_message or exc.message).split())[:300]
        status = exc.status_code
        if status < 400:  # an error event inside a stream that started fine
            status = _EVENT_STATUS.get(_error_type(exc.body), 500)
        kind = status_kind(status, message, _CONTEXT_MARKERS)
        return ProviderFailure(kind, message, status=status,
                               retry_after=retry_after_seconds(exc.response.headers))
    return ProviderFailure("bad_response", f"{type(exc).__name__}: {exc}"[:300])
