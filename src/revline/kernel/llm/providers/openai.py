"""OpenAI chat completions, and any OpenAI-compatible base_url (Ollama, vLLM, Groq, DeepInfra).

SDK retries are off: the gateway owns retries, so Retry-After is read from the response
that failed, and every attempt is visible to the breaker.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import AsyncIterator, Iterator
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
from revline.kernel.llm.routing import ProviderSpec

# Reasoning models take max_completion_tokens and only the default temperature.
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")
_CONTEXT_MARKERS = ("context_length_exceeded", "maximum context length", "too many tokens")


class OpenAIProvider:
    """Adapter over `openai.OpenAI` / `openai.AsyncOpenAI`."""

    def __init__(
        self,
        spec: ProviderSpec,
        *,
        http_client: httpx2.Client | None = None,
        async_http_client: httpx2.AsyncClient | None = None,
    ) -> None:
        self.spec = spec
        self._client = openai.OpenAI(
            api_key=spec.api_key,
            base_url=spec.base_url,
            max_retries=0,
            timeout=spec.timeout_s,
            http_client=http_client,
        )
        self._async_http_client = async_http_client
        self._aclients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, openai.AsyncOpenAI
        ] = weakref.WeakKeyDictionary()

    # Request shape ----------------------------------------------------------------------
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

    def _stream_kwargs(self, request: ProviderRequest, first_token_s: float) -> dict[str, Any]:
        kwargs = self._kwargs(request)
        kwargs["stream"] = True
        kwargs["stream_options"] = {"include_usage": True}
        # The read timeout bounds the wait for the first (and every next) chunk.
        kwargs["timeout"] = httpx2.Timeout(request.timeout_s or self.spec.timeout_s,
                                           read=first_token_s)
        return kwargs

    @staticmethod
    def _completion(resp: Any) -> Completion:
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

    @staticmethod
    def _chunk(chunk: Any) -> StreamChunk:
        out = StreamChunk()
        if chunk.choices:
            choice = chunk.choices[0]
            out.text = (choice.delta.content or "") if choice.delta else ""
            out.finish_reason = choice.finish_reason
        if chunk.usage is not None:
            out.prompt_tokens = chunk.usage.prompt_tokens
            out.completion_tokens = chunk.usage.completion_tokens
        return out

    # Blocking ---------------------------------------------------------------------------
    def complete(self, request: ProviderRequest) -> Completion:
        """One completion; SDK and transport errors become ProviderFailure."""
        try:
            resp = self._client.chat.completions.create(**self._kwargs(request))
        except Exception as exc:
            raise failure(exc) from exc
        return self._completion(resp)

    def stream(
        self, request: ProviderRequest, first_token_s: float = 30.0
    ) -> Iterator[StreamChunk]:
        """Chunks of one streamed answer; a stream that stops short raises ProviderFailure."""
        finished = False
        try:
            with self._client.chat.completions.create(
                **self._stream_kwargs(request, first_token_s)
            ) as stream:
                for raw in stream:
                    chunk = self._chunk(raw)
                    finished = finished or chunk.finish_reason is not None
                    yield chunk
        except ProviderFailure:
            raise
        except Exception as exc:
            raise failure(exc) from exc
        if not finished:
            raise ProviderFailure("connection", "stream ended before the answer finished")

    def close(self) -> None:
        """Close pooled connections."""
        self._client.close()

    # Async ------------------------------------------------------------------------------
    def _aclient(self) -> openai.AsyncOpenAI:
        # One client per event loop: pooled connections belong to the loop that opened them.
        loop = asyncio.get_running_loop()
        client = self._aclients.get(loop)
        if client is None:
            client = openai.AsyncOpenAI(
                api_key=self.spec.api_key,
                base_url=self.spec.base_url,
                max_retries=0,
                timeout=self.spec.timeout_s,
                http_client=self._async_http_client,
            )
            self._aclients[loop] = client
        return client

    async def acomplete(self, request: ProviderRequest) -> Completion:
        """One completion on the running loop."""
        try:
            resp = await self._aclient().chat.completions.create(**self._kwargs(request))
        except Exception as exc:
            raise failure(exc) from exc
        return self._completion(resp)

    async def astream(
        self, request: ProviderRequest, first_token_s: float = 30.0
    ) -> AsyncIterator[StreamChunk]:
        """Chunks of one streamed answer on the running loop."""
        finished = False
        try:
            stream = await self._aclient().chat.completions.create(
                **self._stream_kwargs(request, first_token_s)
            )
            async with stream:
                async for raw in stream:
                    chunk = self._chunk(raw)
                    finished = finished or chunk.finish_reason is not None
                    yield chunk
        except ProviderFailure:
            raise
        except Exception as exc:
            raise failure(exc) from exc
        if not finished:
            raise ProviderFailure("connection", "stream ended before the answer finished")

    async def aclose(self) -> None:
        """Close the running loop's client."""
        client = self._aclients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()


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
        status = exc.status_code
        headers = exc.response.headers  # the response that failed, not a stale one
        body = exc.body if isinstance(exc.body, dict) else {}
        message = str(body.get("message") or exc.message)
        text = f"{exc.code or ''} {message}".lower()
        if status == 429:
            kind = "rate_limit"
        elif status >= 500 or status in (408, 409):
            kind = "server"
        elif status in (400, 413) and any(marker in text for marker in _CONTEXT_MARKERS):
            kind = "context_length"
        elif status in (401, 403):
            kind = "auth"
        elif status == 404:
            kind = "not_found"
        else:
            kind = "bad_request"
        return ProviderFailure(kind, _one_line(message), status=status,
                               retry_after=retry_after_seconds(headers))
    return ProviderFailure("bad_response", f"{type(exc).__name__}: {_one_line(str(exc))}")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:300]
