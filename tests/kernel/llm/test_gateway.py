"""The gateway on the emulator: ledger rows, retries, Retry-After, fallback, breaker, guards."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from revline.kernel.config import Settings, get_settings
from revline.kernel.errors import InvalidInput, LLMNotConfigured
from revline.kernel.llm import CallScope, LLMError, LLMGateway, LLMUnavailable, get_gateway
from revline.kernel.llm.errors import PriceUnknown
from tests.emulators.llm_server import Fault, LLMEmulator
from tests.kernel.llm.conftest import FakeClock, ledger, user


def test_chat_returns_usage_cost_and_writes_the_ledger(
    gateway: LLMGateway, emu: LLMEmulator, scope: CallScope
) -> None:
    result = gateway.chat(user("say hello please"), scope=scope, max_tokens=50)
    assert result.text == "hello from the emulator"
    assert (result.provider, result.model) == ("openai", "gpt-4o")
    # The emulator counts words: 3 prompt words, 4 answer words; gpt-4o is $2.50/$10 per 1M.
    assert (result.prompt_tokens, result.completion_tokens) == (3, 4)
    assert result.cost_usd_micros == 48  # 3 * 2.5 + 4 * 10 = 47.5 micro-dollars, rounded up
    assert result.cached is False
    assert result.attempts == 1
    assert result.latency_ms > 0
    sent = emu.requests[-1]
    assert sent["model"] == "gpt-4o"
    assert sent["max_tokens"] == 50
    [row] = ledger(gateway.settings)
    assert row.id == result.call_id
    assert (row.tenant_id, row.feature, row.job_id) == (scope.tenant_id, "tests.llm", "job-1")
    assert (row.status, row.provider, row.model, row.model_requested) == (
        "ok", "openai", "gpt-4o", "default")
    assert (row.prompt_tokens, row.completion_tokens, row.cost_usd_micros) == (3, 4, 48)
    assert row.price_version == gateway.prices.version
    assert row.reserved_usd_micros >= row.cost_usd_micros  # reserved before, settled after
    assert row.latency_ms > 0
    assert row.cached is False


def test_legacy_call_style_bills_the_default_tenant(gateway: LLMGateway) -> None:
    data = gateway.chat_json(user("answer in JSON"), max_tokens=20)
    assert data == {"ok": True, "n": 1}
    [row] = ledger(gateway.settings)
    assert row.feature == ""
    assert row.tenant_id == gateway.default_tenant()


def test_retry_after_comes_from_the_current_response(
    gateway: LLMGateway, emu: LLMEmulator, clock: FakeClock, scope: CallScope
) -> None:
    """Two 429s with different Retry-After values: each wait uses its own response's value."""
    emu.inject(Fault("rate_limit", retry_after=7, wire="openai"),
               Fault("rate_limit", retry_after=2, wire="openai"))
    result = gateway.chat(user("hi"), scope=scope, cache=False)
    assert result.provider == "openai"
    assert result.attempts == 3
    assert len(clock.sleeps) == 2
    assert 7 <= clock.sleeps[0] <= 7.7
    assert 2 <= clock.sleeps[1] <= 2.2  # not the stale 7 s of the first 429
    assert emu.count("openai") == 3
    assert emu.count("anthropic") == 0


def test_retry_after_ms_header_is_honoured(
    gateway: LLMGateway, emu: LLMEmulator, clock: FakeClock, scope: CallScope
) -> None:
    emu.inject(Fault("rate_limit", retry_after_ms=1500))
    gateway.chat(user("hi"), scope=scope, cache=False)
    assert len(clock.sleeps) == 1
    assert 1.5 <= clock.sleeps[0] <= 1.65


def test_server_errors_back_off_exponentially_with_jitter(
    make_gateway: Callable[..., LLMGateway], emu: LLMEmulator, clock: FakeClock,
    scope: CallScope,
) -> None:
    gateway = make_gateway(llm_max_attempts=3, llm_backoff_base_s=1.0, llm_backoff_max_s=30)
    emu.inject(Fault("server_error", status=500), Fault("server_error", status=503))
    result = gateway.chat(user("hi"), scope=scope, cache=False)
    assert result.attempts == 3
    assert result.provider == "openai"
    assert 1.0 <= clock.sleeps[0] <= 2.0  # base * 2^0 + jitter in [0, base]
    assert 2.0 <= clock.sleeps[1] <= 3.0  # base * 2^1 + jitter


def test_long_retry_after_falls_over_at_once(
    gateway: LLMGateway, emu: LLMEmulator, clock: FakeClock, scope: CallScope
) -> None:
    """GPT-4o rate-limited for longer than llm_retry_after_max_s: Claude answers, no wait."""
    emu.inject(Fault("rate_limit", retry_after=120, wire="openai"))
    result = gateway.chat(user("hi"), scope=scope, cache=False)
    assert (result.provider, result.model) == ("anthropic", "claude-sonnet-4-6")
    assert clock.sleeps == []
    assert emu.count("openai") == 1
    assert emu.count("anthropic") == 1
    [row] = ledger(gateway.settings)
    assert (row.provider, row.model, row.attempts) == ("anthropic", "claude-sonnet-4-6", 2)
    assert row.cost_usd_micros == result.cost_usd_micros > 0


def test_rate_limits_exhaust_retries_then_fall_back(
    gateway: LLMGateway, emu: LLMEmulator, clock: FakeClock, scope: CallScope
) -> None:
    emu.inject(*[Fault("rate_limit", retry_after=1, wire="openai") for _ in range(3)])
    result = gateway.chat(user("hi"), scope=scope, cache=False)
    assert result.provider == "anthropic"
    assert result.attempts == 4
    assert len(clock.sleeps) == 2  # between the three OpenAI attempts only
    anthropic_request = emu.calls[-1].payload
    assert anthropic_request["messages"] == [{"role": "user", "content": "hi"}]


def test_context_length_falls_over_without_retrying(
    gateway: LLMGateway, emu: LLMEmulator, clock: FakeClock, scope: CallScope
) -> None:
    emu.inject(Fault("context_length", wire="openai"))
    result = gateway.chat(user("a very long prompt"), scope=scope, cache=False)
    assert result.provider == "anthropic"
    assert emu.count("openai") == 1
    assert clock.sleeps == []


def test_hang_times_out_then_falls_back(
    make_gateway: Callable[..., LLMGateway], emu: LLMEmulator, scope: CallScope
) -> None:
    gateway = make_gateway(llm_timeout_s=0.3, llm_max_attempts=1)
    emu.inject(Fault("hang", delay_s=10, wire="openai"))
    result = gateway.chat(user("hi"), scope=scope, cache=False)
    assert result.provider == "anthropic"


def test_malformed_body_and_cut_response_are_retried(
    gateway: LLMGateway, emu: LLMEmulator, scope: CallScope
) -> None:
    emu.inject(Fault("bad_body"), Fault("cut"))
    result = gateway.chat(user("hi"), scope=scope, cache=False)
    assert result.provider == "openai"
    assert result.attempts == 3


def test_rejected_key_is_not_retried_and_says_what_to_check(
    make_gateway: Callable[..., LLMGateway], emu: LLMEmulator, scope: CallScope
) -> None:
    gateway = make_gateway(openai_api_key="sk-wrong")
    with pytest.raises(LLMError, match="rejected the API key.*REVLINE_OPENAI_API_KEY"):
        gateway.chat(user("hi"), scope=scope)
    [row] = ledger(gateway.settings)
    assert row.status == "error"
    assert row.attempts == 1
    assert row.cost_usd_micros == 0
    assert emu.count("anthropic") == 0  # a configuration error is not hidden by a fallback


def test_everything_failing_names_each_deployment(
    make_gateway: Callable[..., LLMGateway], emu: LLMEmulator, scope: CallScope
) -> None:
    gateway = make_gateway(llm_max_attempts=1)
    emu.inject(Fault("server_error", wire="openai"), Fault("server_error", status=529,
                                                           wire="anthropic"))
    with pytest.raises(LLMUnavailable) as info:
        gateway.chat(user("hi"), scope=scope)
    assert "openai:gpt-4o: server 500" in str(info.value)
    assert "anthropic:claude-sonnet-4-6: server 529" in str(info.value)
    assert "\n" not in str(info.value)
    [row] = ledger(gateway.settings)
    assert row.status == "error"
    assert row.cost_usd_micros == 0


def test_circuit_breaker_skips_a_failing_deployment_then_probes_it(
    make_gateway: Callable[..., LLMGateway], emu: LLMEmulator, clock: FakeClock,
    scope: CallScope,
) -> None:
    gateway = make_gateway(llm_max_attempts=1, llm_breaker_failures=2,
                           llm_breaker_cooldown_s=30)
    emu.inject(*[Fault("server_error", wire="openai") for _ in range(3)])
    for _ in range(2):  # two failures open OpenAI's circuit; Claude answers both
        assert gateway.chat(user("hi"), scope=scope, cache=False).provider == "anthropic"
    before = emu.count("openai")
    assert gateway.chat(user("hi"), scope=scope, cache=False).provider == "anthropic"
    assert emu.count("openai") == before  # skipped while open: no request at all
    assert gateway.breaker.open_for("openai:gpt-4o") == pytest.approx(30)
    clock.advance(31)  # half-open: one probe; it fails (third fault) and re-opens for 60 s
    assert gateway.chat(user("hi"), scope=scope, cache=False).provider == "anthropic"
    assert emu.count("openai") == before + 1
    assert gateway.breaker.open_for("openai:gpt-4o") == pytest.approx(60)
    clock.advance(61)  # the next probe succeeds and closes the circuit
    assert gateway.chat(user("hi"), scope=scope, cache=False).provider == "openai"
    assert gateway.breaker.open_for("openai:gpt-4o") == 0


def test_cost_spike_moves_traffic_to_the_fallback_until_the_window_passes(
    make_gateway: Callable[..., LLMGateway], emu: LLMEmulator, clock: FakeClock,
    scope: CallScope,
) -> None:
    gateway = make_gateway(llm_cost_spike_usd=0.001, llm_cost_window=5, llm_cost_window_s=60)
    emu.responder = lambda req: "word " * 200  # 200 output tokens at $10/1M = $0.002
    for _ in range(3):
        assert gateway.chat(user("hi"), scope=scope, cache=False).provider == "openai"
    spiked = gateway.chat(user("hi"), scope=scope, cache=False)
    assert spiked.provider == "anthropic"
    clock.advance(61)
    assert gateway.chat(user("hi"), scope=scope, cache=False).provider == "openai"


def test_price_per_token_limit_skips_dear_deployments(
    make_gateway: Callable[..., LLMGateway], emu: LLMEmulator, scope: CallScope
) -> None:
    gateway = make_gateway(
        llm_max_usd_per_mtok=5.0,
        llm_aliases={"writer": ["anthropic:claude-sonnet-4-6", "openai:gpt-4o-mini"]},
    )
    result = gateway.chat(user("hi"), model="writer", scope=scope)
    assert result.model == "gpt-4o-mini"
    assert emu.count("anthropic") == 0
    with pytest.raises(LLMUnavailable, match="llm_max_usd_per_mtok"):
        gateway.chat(user("hi"), model="anthropic:claude-sonnet-4-6", scope=scope)


def test_unknown_price_fails_before_anything_is_sent(
    make_gateway: Callable[..., LLMGateway], emu: LLMEmulator, scope: CallScope
) -> None:
    gateway = make_gateway()
    with pytest.raises(PriceUnknown, match=r'llm_prices\."mystery-model".*llm_zero_price_models'):
        gateway.chat(user("hi"), model="mystery-model", scope=scope)
    assert emu.count() == 0
    assert ledger(gateway.settings) == []


def test_explicit_zero_price_records_zero(
    make_gateway: Callable[..., LLMGateway], scope: CallScope
) -> None:
    gateway = make_gateway(llm_zero_price_models=["llama3.1:8b"])
    result = gateway.chat(user("hi"), model="llama3.1:8b", scope=scope)
    assert result.model == "llama3.1:8b"
    assert result.cost_usd_micros == 0
    assert ledger(gateway.settings)[0].cost_usd_micros == 0


def test_missing_usage_is_estimated_not_free(
    gateway: LLMGateway, emu: LLMEmulator, scope: CallScope
) -> None:
    emu.omit_usage = True
    result = gateway.chat(user("hi there"), scope=scope)
    assert result.prompt_tokens > 0
    assert result.completion_tokens > 0
    assert result.cost_usd_micros > 0


def test_unknown_tenant_is_a_clear_error(gateway: LLMGateway) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        gateway.chat(user("hi"), scope=CallScope(tenant_id=uuid.uuid4()))
    with pytest.raises(InvalidInput, match="not a UUID"):
        gateway.chat(user("hi"), scope=CallScope(tenant_id="acme"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"max_tokens": 0}, "max_tokens"), ({"temperature": 3.0}, "temperature")],
)
def test_bad_arguments_are_one_line_errors(
    gateway: LLMGateway, scope: CallScope, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        gateway.chat(user("hi"), scope=scope, **kwargs)
    with pytest.raises(InvalidInput, match="messages"):
        gateway.chat([], scope=scope)


def test_no_provider_means_llm_not_configured(settings: Settings) -> None:
    with pytest.raises(LLMNotConfigured) as info:
        get_gateway(settings)
    assert "REVLINE_OPENAI_API_KEY" in info.value.message
    assert "REVLINE_ANTHROPIC_API_KEY" in info.value.message
    assert info.value.status_code == 503


def test_get_gateway_is_shared_per_configuration(
    monkeypatch: pytest.MonkeyPatch, emu: LLMEmulator
) -> None:
    monkeypatch.setenv("REVLINE_LLM_BASE_URL", emu.base_url)
    monkeypatch.setenv("REVLINE_OPENAI_API_KEY", emu.api_key)
    get_settings.cache_clear()
    first = get_gateway(get_settings())
    assert get_gateway(get_settings()) is first
    monkeypatch.setenv("REVLINE_LLM_MODEL", "gpt-4.1")
    get_settings.cache_clear()
    assert get_gateway(get_settings()) is not first


def test_evicted_shared_gateways_keep_working(
    make_settings: Callable[..., Settings], scope: CallScope
) -> None:
    first = get_gateway(make_settings())
    first.chat(user("hi"), scope=scope)
    for i in range(9):  # more configurations than are kept: the first one is evicted
        get_gateway(make_settings(llm_timeout_s=10.0 + i))
    assert get_gateway(make_settings()) is not first
    assert first.chat(user("again"), scope=scope).text == "hello from the emulator"
