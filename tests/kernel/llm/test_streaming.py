"""Streams: SSE in both wire formats, fallback only before the first chunk, StreamTruncated."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from revline.kernel.llm import AsyncTextStream, CallScope, LLMGateway, StreamTruncated
from tests.emulators.llm_server import Fault, FaultKind, LLMEmulator
from tests.kernel.llm.conftest import FakeClock, ledger, user

ANSWER = "one two three four five six"


@pytest.fixture(autouse=True)
def _long_answer(emu: LLMEmulator) -> None:
    emu.responder = lambda req: ANSWER


def test_stream_yields_deltas_and_settles_usage(
    gateway: LLMGateway, emu: LLMEmulator, scope: CallScope
) -> None:
    stream = gateway.stream(user("count"), scope=scope, cache=False)
    deltas = list(stream)
    assert len(deltas) == 6
    assert "".join(deltas) == ANSWER
    assert stream.result is not None
    assert (stream.result.prompt_tokens, stream.result.completion_tokens) == (1, 6)
    assert stream.result.cost_usd_micros == 63  # 1 * 2.5 + 6 * 10, rounded up
    assert emu.requests[-1]["stream"] is True
    [row] = ledger(gateway.settings)
    assert (row.status, row.completion_tokens, row.cost_usd_micros) == ("ok", 6, 63)


def test_anthropic_stream(gateway: LLMGateway, scope: CallScope) -> None:
    stream = gateway.stream(user("count"), model="anthropic:claude-sonnet-4-6", scope=scope)
    assert "".join(stream) == ANSWER
    assert stream.result is not None
    assert stream.result.provider == "anthropic"
    assert stream.result.completion_tokens == 6


def test_streamed_429_falls_back_before_the_first_chunk(
    gateway: LLMGateway, emu: LLMEmulator, clock: FakeClock, scope: CallScope
) -> None:
    emu.inject(Fault("rate_limit", retry_after=300, wire="openai"))
    stream = gateway.stream(user("count"), scope=scope, cache=False)
    assert "".join(stream) == ANSWER
    assert stream.result is not None
    assert stream.result.provider == "anthropic"
    assert clock.sleeps == []


def test_slow_first_token_falls_back(
    make_gateway: Callable[..., LLMGateway], emu: LLMEmulator, scope: CallScope
) -> None:
    gateway = make_gateway(llm_first_token_timeout_s=0.3, llm_max_attempts=1)
    emu.inject(Fault("slow_first_token", delay_s=5, wire="openai"))
    stream = gateway.stream(user("count"), scope=scope, cache=False)
    assert "".join(stream) == ANSWER
    assert stream.result is not None
    assert stream.result.provider == "anthropic"


@pytest.mark.parametrize("kind", ["cut", "stream_error"])
def test_cut_before_any_text_is_retried(
    gateway: LLMGateway, emu: LLMEmulator, scope: CallScope, kind: FaultKind
) -> None:
    emu.inject(Fault(kind, after_chunks=0, wire="openai"))
    stream = gateway.stream(user("count"), scope=scope, cache=False)
    assert "".join(stream) == ANSWER
    assert stream.result is not None
    assert stream.result.provider == "openai"
    assert stream.result.attempts == 2


@pytest.mark.parametrize("kind", ["cut", "stream_error"])  # a dropped socket, an error event
@pytest.mark.parametrize("model", ["default", "anthropic:claude-sonnet-4-6"])
def test_cut_after_the_first_chunk_raises_stream_truncated(
    gateway: LLMGateway, emu: LLMEmulator, scope: CallScope, model: str, kind: FaultKind
) -> None:
    emu.inject(Fault(kind, after_chunks=2))
    received: list[str] = []
    stream = gateway.stream(user("count"), model=model, scope=scope, cache=False)
    with pytest.raises(StreamTruncated) as info:
        received.extend(stream)
    error = info.value
    assert received == ["one ", "two "]
    assert error.partial_text == "one two "
    assert error.usage.completion_tokens > 0
    assert error.usage.cost_usd_micros > 0
    assert "no fallback after the first chunk" in str(error)
    assert emu.count() == 1  # nothing was re-sent: the caller already has text
    [row] = ledger(gateway.settings)
    assert row.status == "truncated"
    assert row.cost_usd_micros == error.usage.cost_usd_micros


def test_stopping_early_bills_what_was_received(
    gateway: LLMGateway, scope: CallScope
) -> None:
    stream = gateway.stream(user("count"), scope=scope, cache=False)
    assert next(stream) == "one "
    stream.close()
    [row] = ledger(gateway.settings)
    assert row.status == "cancelled"
    assert row.completion_tokens > 0


def test_stream_is_cached_at_temperature_zero(
    gateway: LLMGateway, emu: LLMEmulator, scope: CallScope
) -> None:
    assert "".join(gateway.stream(user("count"), scope=scope)) == ANSWER
    again = gateway.stream(user("count"), scope=scope)
    assert "".join(again) == ANSWER
    assert again.result is not None
    assert again.result.cached
    assert emu.count() == 1


def test_async_chat_and_stream(
    gateway: LLMGateway, emu: LLMEmulator, scope: CallScope
) -> None:
    emu.responder = lambda req: '{"n": 1}' if req.get("response_format") else ANSWER

    async def main() -> tuple[str, list[str], str]:
        try:
            emu.inject(Fault("rate_limit", retry_after=1, wire="openai"))
            chat = await gateway.achat(user("hi"), scope=scope, cache=False)
            deltas = [d async for d in gateway.astream(user("count"), scope=scope,
                                                       cache=False)]
            data = await gateway.achat_json(user("reply in JSON"), scope=scope)
            return chat.text, deltas, str(data)
        finally:
            await gateway.aclose()

    text, deltas, data = asyncio.run(main())
    assert text == ANSWER
    assert "".join(deltas) == ANSWER
    assert data == "{'n': 1}"
    assert [r.status for r in ledger(gateway.settings)] == ["ok", "ok", "ok"]


async def _drain(stream: AsyncTextStream, into: list[str]) -> None:
    async for delta in stream:
        into.append(delta)


def test_async_stream_truncation(
    gateway: LLMGateway, emu: LLMEmulator, scope: CallScope
) -> None:
    async def main() -> list[str]:
        received: list[str] = []
        try:
            with pytest.raises(StreamTruncated):
                await _drain(gateway.astream(user("count"), scope=scope, cache=False), received)
        finally:
            await gateway.aclose()
        return received

    emu.inject(Fault("cut", after_chunks=3))
    assert asyncio.run(main()) == ["one ", "two ", "three "]
    assert ledger(gateway.settings)[0].status == "truncated"


@pytest.mark.parametrize("error_type", ["overloaded_error", "rate_limit_error"])
def test_error_event_before_the_first_chunk_falls_back(
    make_gateway: Callable[..., LLMGateway], emu: LLMEmulator, scope: CallScope, error_type: str
) -> None:
    """Anthropic reports overloads and rate limits as an SSE `error` event on a 200 stream."""
    gateway = make_gateway(llm_max_attempts=1, llm_aliases={
        "writer": ["anthropic:claude-sonnet-4-6", "openai:gpt-4o"]})
    emu.inject(Fault("stream_error", after_chunks=0, error_type=error_type, wire="anthropic"))
    stream = gateway.stream(user("count"), model="writer", scope=scope, cache=False)
    assert "".join(stream) == ANSWER
    assert stream.result is not None
    assert stream.result.provider == "openai"
    assert emu.count("anthropic") == 1
    [row] = ledger(gateway.settings)
    assert (row.status, row.provider) == ("ok", "openai")
    assert gateway.breaker.state()["anthropic:claude-sonnet-4-6"]["failures"] == 1
