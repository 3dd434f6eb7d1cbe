"""Streams: fall back only before the first chunk; after it a break is a StreamTruncated.

Opening a stream and waiting for its first text chunk happen inside the retry/fallback loop,
so a 429 or a slow first token on a streamed call falls over like any other call. Once text
has reached the caller it cannot be taken back: a later break settles the partial usage in
the ledger and raises `StreamTruncated` carrying the partial text and usage.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from typing import TYPE_CHECKING

from revline.kernel.llm.errors import ProviderFailure, StreamTruncated
from revline.kernel.llm.providers import Completion, StreamChunk
from revline.kernel.llm.routing import Deployment
from revline.kernel.llm.types import ChatResult, Usage

if TYPE_CHECKING:
    from revline.kernel.llm.core import Call, GatewayCore, Reservation


class TextStream:
    """Iterator of text deltas; `.result` is the ChatResult once the stream has finished."""

    def __init__(self, core: GatewayCore, call: Call) -> None:
        self.result: ChatResult | None = None
        self._gen = _run(core, call, self)

    def __iter__(self) -> TextStream:
        return self

    def __next__(self) -> str:
        return next(self._gen)

    def close(self) -> None:
        """Stop early; the part already received is billed and recorded."""
        self._gen.close()

    def __enter__(self) -> TextStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncTextStream:
    """Async iterator of text deltas; `.result` is set once the stream has finished."""

    def __init__(self, core: GatewayCore, call: Call) -> None:
        self.result: ChatResult | None = None
        self._gen = _arun(core, call, self)

    def __aiter__(self) -> AsyncTextStream:
        return self

    async def __anext__(self) -> str:
        return await self._gen.__anext__()

    async def aclose(self) -> None:
        """Stop early; the part already received is billed and recorded."""
        await self._gen.aclose()


class _Relay:
    """Accumulates what a committed stream delivered, to settle it however it ends."""

    def __init__(self, dep: Deployment) -> None:
        self.dep = dep
        self.parts: list[str] = []
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None
        self.finish_reason: str | None = None

    def take(self, chunk: StreamChunk) -> str:
        """Record a chunk's usage and text; returns the text to hand to the caller."""
        if chunk.prompt_tokens is not None:
            self.prompt_tokens = chunk.prompt_tokens
        if chunk.completion_tokens is not None:
            self.completion_tokens = chunk.completion_tokens
        if chunk.finish_reason is not None:
            self.finish_reason = chunk.finish_reason
        if chunk.text:
            self.parts.append(chunk.text)
        return chunk.text

    def completion(self) -> Completion:
        """What was delivered so far, as a completion to settle."""
        return Completion("".join(self.parts), self.dep.model, self.prompt_tokens or 0,
                          self.completion_tokens or 0, self.finish_reason)


def _truncated(
    core: GatewayCore, call: Call, res: Reservation, relay: _Relay, failure: ProviderFailure
) -> StreamTruncated:
    core.failed_attempt(relay.dep, failure)
    done = relay.completion()
    result = core.finish(call, res, relay.dep, done, None, status="truncated",
                         error=failure.describe())[0]
    return StreamTruncated(
        f"stream from {relay.dep.key} broke after {len(done.text)} characters "
        f"({failure.describe()}); no fallback after the first chunk, partial usage recorded",
        partial_text=done.text,
        usage=Usage(result.prompt_tokens, result.completion_tokens, result.cost_usd_micros),
        model=result.model,
    )


# Blocking -------------------------------------------------------------------------------
def _open(
    core: GatewayCore, dep: Deployment, call: Call, res: Reservation
) -> tuple[Iterator[StreamChunk], list[StreamChunk]]:
    """Start a stream and read up to its first text (or its end): still retryable here."""
    res.attempts += 1
    chunks = core.provider(dep.provider).stream(core.request(dep, call),
                                               core.settings.llm_first_token_timeout_s)
    head: list[StreamChunk] = []
    try:
        for chunk in chunks:
            head.append(chunk)
            if chunk.text or chunk.finish_reason:
                break
    except ProviderFailure as failure:
        core.failed_attempt(dep, failure)
        raise
    return chunks, head


def _run(core: GatewayCore, call: Call, out: TextStream) -> Generator[str, None, None]:
    hit = core.cache_lookup(call, None)
    if hit is not None:
        out.result = hit[0]
        if hit[0].text:
            yield hit[0].text
        return
    candidates, errors = list(call.plan), list[str]()
    res = core.reserve(call, candidates)
    try:
        for _, dep in core.admitted(candidates, errors):
            try:
                chunks, head = core.retrying(dep)(_open, core, dep, call, res)
            except ProviderFailure as failure:
                core.give_up(dep, failure, errors)
                continue
            relay = _Relay(dep)
            try:
                for chunk in head:
                    if relay.take(chunk):
                        yield chunk.text
                for chunk in chunks:
                    if relay.take(chunk):
                        yield chunk.text
            except ProviderFailure as failure:
                raise _truncated(core, call, res, relay, failure) from failure
            except GeneratorExit:
                core.finish(call, res, dep, relay.completion(), None, status="cancelled",
                            error="stopped by the caller")
                raise
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
            out.result = core.finish(call, res, dep, relay.completion(), None)[0]
            return
        raise core.unavailable(call, errors)
    except BaseException as exc:
        core.abort(res, exc)
        raise


# Async ----------------------------------------------------------------------------------
async def _aopen(
    core: GatewayCore, dep: Deployment, call: Call, res: Reservation
) -> tuple[AsyncIterator[StreamChunk], list[StreamChunk]]:
    res.attempts += 1
    chunks = core.provider(dep.provider).astream(core.request(dep, call),
                                                core.settings.llm_first_token_timeout_s)
    head: list[StreamChunk] = []
    try:
        async for chunk in chunks:
            head.append(chunk)
            if chunk.text or chunk.finish_reason:
                break
    except ProviderFailure as failure:
        core.failed_attempt(dep, failure)
        raise
    return chunks, head


async def _arun(
    core: GatewayCore, call: Call, out: AsyncTextStream
) -> AsyncGenerator[str, None]:
    hit = await asyncio.to_thread(core.cache_lookup, call, None)
    if hit is not None:
        out.result = hit[0]
        if hit[0].text:
            yield hit[0].text
        return
    candidates, errors = list(call.plan), list[str]()
    res = await asyncio.to_thread(core.reserve, call, candidates)
    try:
        for _, dep in core.admitted(candidates, errors):
            try:
                opened: tuple[AsyncIterator[StreamChunk], list[StreamChunk]] = (
                    await core.aretrying(dep)(_aopen, core, dep, call, res))
            except ProviderFailure as failure:
                core.give_up(dep, failure, errors)
                continue
            chunks, head = opened
            relay = _Relay(dep)
            try:
                for first in head:
                    if relay.take(first):
                        yield first.text
                async for chunk in chunks:
                    if relay.take(chunk):
                        yield chunk.text
            except ProviderFailure as failure:
                raise _truncated(core, call, res, relay, failure) from failure
            except GeneratorExit:
                core.finish(call, res, dep, relay.completion(), None, status="cancelled",
                            error="stopped by the caller")
                raise
            finally:
                aclose = getattr(chunks, "aclose", None)
                if aclose is not None:
                    await aclose()
            done = await asyncio.to_thread(core.finish, call, res, dep, relay.completion(),
                                           None)
            out.result = done[0]
            return
        raise core.unavailable(call, errors)
    except BaseException as exc:
        core.abort(res, exc)
        raise
