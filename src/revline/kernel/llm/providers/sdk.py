"""Shared shape of the SDK adapters: blocking and per-event-loop async clients, streams.

Subclasses say how to build a client, shape a request, read an answer or a stream event and
classify an exception; this base turns that into complete/stream/acomplete/astream, with
every failure raised as a ProviderFailure.
"""

from __future__ import annotations

import asyncio
import weakref
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2

from revline.kernel.llm.errors import ProviderFailure
from revline.kernel.llm.providers.base import Completion, ProviderRequest, StreamChunk
from revline.kernel.llm.routing import ProviderSpec

STREAM_ENDED_EARLY = "stream ended before the answer finished"


class SDKProvider(ABC):
    """Base adapter over one vendor SDK (SDK retries off: the gateway owns retries)."""

    def __init__(
        self,
        spec: ProviderSpec,
        *,
        http_client: httpx2.Client | None = None,
        async_http_client: httpx2.AsyncClient | None = None,
    ) -> None:
        self.spec = spec
        self._client = self._new_client(http_client)
        self._async_http_client = async_http_client
        self._aclients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )

    # What a vendor adapter provides ------------------------------------------------------
    @abstractmethod
    def _new_client(self, http_client: httpx2.Client | None) -> Any:
        """A blocking SDK client with SDK retries off."""

    @abstractmethod
    def _new_async_client(self, http_client: httpx2.AsyncClient | None) -> Any:
        """An async SDK client with SDK retries off."""

    @abstractmethod
    def _endpoint(self, client: Any) -> Any:
        """The SDK resource whose `create` sends a request."""

    @abstractmethod
    def _kwargs(self, request: ProviderRequest) -> dict[str, Any]:
        """Keyword arguments of `create` for a request."""

    def _stream_options(self) -> dict[str, Any]:
        """Extra `create` arguments for streams."""
        return {}

    @abstractmethod
    def _completion(self, resp: Any) -> Completion:
        """A finished answer from the SDK response."""

    @abstractmethod
    def _chunk(self, raw: Any) -> StreamChunk | None:
        """A stream chunk from an SDK stream event (None: nothing of interest)."""

    @abstractmethod
    def _failure(self, exc: BaseException) -> ProviderFailure:
        """Classify an SDK or transport exception."""

    # Shared machinery --------------------------------------------------------------------
    def _stream_kwargs(self, request: ProviderRequest, first_token_s: float) -> dict[str, Any]:
        kwargs = self._kwargs(request)
        kwargs["stream"] = True
        kwargs.update(self._stream_options())
        # The read timeout bounds the wait for the first (and every next) chunk.
        kwargs["timeout"] = httpx2.Timeout(request.timeout_s or self.spec.timeout_s,
                                           read=first_token_s)
        return kwargs

    def _aclient(self) -> Any:
        # One client per event loop: pooled connections belong to the loop that opened them.
        loop = asyncio.get_running_loop()
        client = self._aclients.get(loop)
        if client is None:
            client = self._aclients[loop] = self._new_async_client(self._async_http_client)
        return client

    def complete(self, request: ProviderRequest) -> Completion:
        """One completion; SDK and transport errors become ProviderFailure."""
        try:
            resp = self._endpoint(self._client).create(**self._kwargs(request))
        except Exception as exc:
            raise self._failure(exc) from exc
        return self._completion(resp)

    async def acomplete(self, request: ProviderRequest) -> Completion:
        """One completion on the running loop."""
        try:
            resp = await self._endpoint(self._aclient()).create(**self._kwargs(request))
        except Exception as exc:
            raise self._failure(exc) from exc
        return self._completion(resp)

    def stream(
        self, request: ProviderRequest, first_token_s: float = 30.0
    ) -> Iterator[StreamChunk]:
        """Chunks of one streamed answer; a stream that stops short raises ProviderFailure."""
        finished = False
        try:
            kwargs = self._stream_kwargs(request, first_token_s)
            with self._endpoint(self._client).create(**kwargs) as stream:
                for raw in stream:
                    chunk = self._chunk(raw)
                    if chunk is not None:
                        finished = finished or chunk.finish_reason is not None
                        yield chunk
        except Exception as exc:
            raise self._failure(exc) from exc
        if not finished:
            raise ProviderFailure("connection", STREAM_ENDED_EARLY)

    async def astream(
        self, request: ProviderRequest, first_token_s: float = 30.0
    ) -> AsyncIterator[StreamChunk]:
        """Chunks of one streamed answer on the running loop."""
        finished = False
        try:
            kwargs = self._stream_kwargs(request, first_token_s)
            stream = await self._endpoint(self._aclient()).create(**kwargs)
            async with stream:
                async for raw in stream:
                    chunk = self._chunk(raw)
                    if chunk is not None:
                        finished = finished or chunk.finish_reason is not None
                        yield chunk
        except Exception as exc:
            raise self._failure(exc) from exc
        if not finished:
            raise ProviderFailure("connection", STREAM_ENDED_EARLY)

    def close(self) -> None:
        """Close pooled connections."""
        self._client.close()

    async def aclose(self) -> None:
        """Close the running loop's client."""
        client = self._aclients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()


def status_kind(status: int, message: str, context_markers: tuple[str, ...]) -> str:
    """Failure kind of an HTTP error status (shared by every vendor)."""
    if status == 429:
        return "rate_limit"
    if status >= 500 or status in (408, 409):
        return "server"  # includes Anthropic's 529 overloaded
    if status in (400, 413) and any(marker in message.lower() for marker in context_markers):
        return "context_length"
    if status in (401, 403):
        return "auth"
    if status == 404:
        return "not_found"
    return "bad_request"
