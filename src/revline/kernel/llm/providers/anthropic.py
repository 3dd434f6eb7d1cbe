"""Anthropic messages API over the official SDK (retries off: the gateway owns them)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Iterator
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
from revline.kernel.llm.routing import ProviderSpec
from revline.kernel.llm.types import Message

JSON_INSTRUCTION = "Answer with a single JSON object and nothing else."
_CONTEXT_MARKERS = ("prompt is too long", "context window", "too many tokens")


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


class AnthropicProvider:
    """Adapter over `anthropic.Anthropic` / `anthropic.AsyncAnthropic`."""

    def __init__(
        self,
        spec: ProviderSpec,
        *,
        http_client: httpx2.Client | None = None,
        async_http_client: httpx2.AsyncClient | None = None,
    ) -> None:
        self.spec = spec
        self._client = anthropic.Anthropic(
            api_key=spec.api_key,
            base_url=spec.base_url,
            max_retries=0,
            timeout=spec.timeout_s,
            http_client=http_client,
        )
        self._async_http_client = async_http_client
        self._aclients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, anthropic.AsyncAnthropic
        ] = weakref.WeakKeyDictionary()

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

    def _stream_kwargs(self, request: ProviderRequest, first_token_s: float) -> dict[str, Any]:
        kwargs = self._kwargs(request)
        kwargs["stream"] = True
        kwargs["timeout"] = httpx2.Timeout(request.timeout_s or self.spec.timeout_s,
                                           read=first_token_s)
        return kwargs

    @staticmethod
    def _completion(resp: Any) -> Completion:
        text = "".join(getattr(block, "text", "") for block in resp.content or [])
        usage = resp.usage
        return Completion(
            text=text,
            model=resp.model or "",
            prompt_tokens=_input_tokens(usage),
            completion_tokens=(usage.output_tokens or 0) if usage else 0,
            finish_reason=resp.stop_reason,
        )

    @staticmethod
    def _chunk(event: Any) -> StreamChunk | None:
        kind = event.type
        if kind == "content_block_delta" and getattr(event.delta, "type", "") == "text_delta":
            return StreamChunk(text=event.delta.text)
        if kind == "message_start":
            return StreamChunk(prompt_tokens=_input_tokens(event.message.usage))
        if kind == "message_delta":
            return StreamChunk(completion_tokens=event.usage.output_tokens if event.usage else None)
        if kind == "message_stop":
            return StreamChunk(finish_reason="end_turn")
        return None

    def complete(self, request: ProviderRequest) -> Completion:
        """One completion; SDK and transport errors become ProviderFailure."""
        try:
            resp = self._client.messages.create(**self._kwargs(request))
        except Exception as exc:
            raise failure(exc) from exc
        return self._completion(resp)

    def stream(
        self, request: ProviderRequest, first_token_s: float = 30.0
    ) -> Iterator[StreamChunk]:
        """Chunks of one streamed answer; a stream without message_stop raises."""
        finished = False
        try:
            with self._client.messages.create(**self._stream_kwargs(request, first_token_s)) as s:
                for event in s:
                    chunk = self._chunk(event)
                    if chunk is not None:
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

    def _aclient(self) -> anthropic.AsyncAnthropic:
        loop = asyncio.get_running_loop()
        client = self._aclients.get(loop)
        if client is None:
            client = anthropic.AsyncAnthropic(
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
            resp = await self._aclient().messages.create(**self._kwargs(request))
        except Exception as exc:
            raise failure(exc) from exc
        return self._completion(resp)

    async def astream(
        self, request: ProviderRequest, first_token_s: float = 30.0
    ) -> AsyncIterator[StreamChunk]:
        """Chunks of one streamed answer on the running loop."""
        finished = False
        try:
            stream = await self._aclient().messages.create(
                **self._stream_kwargs(request, first_token_s)
            )
            async with stream:
                async for event in stream:
                    chunk = self._chunk(event)
                    if chunk is not None:
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


def _input_tokens(usage: Any) -> int:
    if usage is None:
        return 0
    return int(
        (usage.input_tokens or 0)
        + (getattr(usage, "cache_creation_input_tokens", 0) or 0)
        + (getattr(usage, "cache_read_input_tokens", 0) or 0)
    )


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
        status = exc.status_code
        message = " ".join(str(exc.api_message or exc.message).split())[:300]
        if status == 429:
            kind = "rate_limit"
        elif status >= 500 or status in (408, 409):
            kind = "server"  # includes 529 overloaded
        elif status in (400, 413) and any(m in message.lower() for m in _CONTEXT_MARKERS):
            kind = "context_length"
        elif status in (401, 403):
            kind = "auth"
        elif status == 404:
            kind = "not_found"
        else:
            kind = "bad_request"
        return ProviderFailure(kind, message, status=status,
                               retry_after=retry_after_seconds(exc.response.headers))
    return ProviderFailure("bad_response", f"{type(exc).__name__}: {exc}"[:300])
