"""OpenAI chat completions, and any OpenAI-compatible base_url (Ollama, vLLM, Groq, DeepInfra)."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import openai

from revline.kernel.llm.errors import ProviderFailure
from revline.kernel.llm.providers.base import (
    Completion,
    ProviderRequest,
    StreamChunk,
    retry_after_seconds,
)
from revline.kernel.llm.providers.sdk import SDKProvider, status_kind

# Reasoning models take max_completion_tokens and only the default temperature.
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")
_CONTEXT_MARKERS = ("context_length_exceeded", "maximum context length", "too many tokens")


class OpenAIProvider(SDKProvider):
    """Adapter over `openai.OpenAI` / `openai.AsyncOpenAI`."""

    def _new_client(self, http_client: httpx2.Client | None) -> openai.OpenAI:
        return openai.OpenAI(api_key=self.spec.api_key, base_url=self.spec.base_url,
                             max_retries=0, timeout=self.spec.timeout_s, http_client=http_client)

    def _new_async_client(self, http_client: httpx2.AsyncClient | None) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(api_key=self.spec.api_key, base_url=self.spec.base_url,
                                  max_retries=0, timeout=self.spec.timeout_s,
                                  http_client=http_client)

    def _endpoint(self, client: Any) -> Any:
        return client.chat.completions

    def _kwargs(self, request: ProviderRequest) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"model": request.model, "messages": request.messages}
        if request.model.startswith(_REASONING_PREFIXES):
            kwargs["max_completion_tokens"] = request.max_tokens
        else:
            kwargs["max_tokens"] = request.max_tokens
            kwargs["temperature"] = request.temperature
        if request.json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        if request.timeout_s is not None:
            kwargs["timeout"] = request.timeout_s
        return kwargs

    def _stream_options(self) -> dict[str, Any]:
        return {"stream_options": {"include_usage": True}}

    def _completion(self, resp: Any) -> Completion:
        choice = resp.choices[0] if resp.choices else None
        if choice is None:
            raise ProviderFailure("bad_response", "answer has no choices")
        usage = resp.usage
        return Completion(
            text=choice.message.content or "",
            model=resp.model or "",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            finish_reason=choice.finish_reason,
        )

    def _chunk(self, raw: Any) -> StreamChunk:
        out = StreamChunk()
        if raw.choices:
            choice = raw.choices[0]
            out.text = (choice.delta.content or "") if choice.delta else ""
            out.finish_reason = choice.finish_reason
        if raw.usage is not None:
            out.prompt_tokens = raw.usage.prompt_tokens
            out.completion_tokens = raw.usage.completion_tokens
        return out

    def _failure(self, exc: BaseException) -> ProviderFailure:
        return failure(exc)


def failure(exc: BaseException) -> ProviderFailure:
    """Map an SDK or transport exception to a ProviderFailure (kind, status, Retry-After)."""
    if isinstance(exc, ProviderFailure):
        return exc
    if isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException):
        return ProviderFailure("timeout", "request timed out")
    if isinstance(exc, openai.APIConnectionError | httpx2.TransportError):
        return ProviderFailure("connection", f"connection failed: {type(exc).__name__}")
    if isinstance(exc, openai.APIResponseValidationError | json.JSONDecodeError):
        return ProviderFailure("bad_response", "answer was not valid JSON")
    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        message = " ".join(str(body.get("message") or exc.message).split())[:300]
        kind = status_kind(exc.status_code, f"{exc.code or ''} {message}", _CONTEXT_MARKERS)
        # Retry-After of the response that failed, not of an earlier one.
        return ProviderFailure(kind, message, status=exc.status_code,
                               retry_after=retry_after_seconds(exc.response.headers))
    return ProviderFailure("bad_response", f"{type(exc).__name__}: {exc}"[:300])
