"""Providers, aliases and the versioned price table, from settings and revline.toml."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from revline.kernel.config import Settings, get_settings
from revline.kernel.errors import ConfigError, LLMNotConfigured
from revline.kernel.llm.errors import PriceUnknown
from revline.kernel.llm.prices import Price, PriceTable
from revline.kernel.llm.routing import Deployment, Routing


def _keys(**values: object) -> Settings:
    return Settings(**values)  # type: ignore[arg-type]


def test_default_chain_is_gpt4o_then_claude() -> None:
    routing = Routing.from_settings(_keys(openai_api_key="sk-1", anthropic_api_key="sk-2"))
    assert [d.key for d in routing.resolve(None)] == ["openai:gpt-4o",
                                                      "anthropic:claude-sonnet-4-6"]
    assert [d.key for d in routing.resolve("cheap")] == ["openai:gpt-4o-mini",
                                                         "anthropic:claude-haiku-4-5"]
    assert routing.resolve("classifier") == routing.resolve("cheap")
    assert routing.resolve("gpt-4.1") == (Deployment("openai", "gpt-4.1"),)
    assert routing.resolve("claude-opus-4-5") == (Deployment("anthropic", "claude-opus-4-5"),)


def test_openai_compatible_server_uses_its_own_model_everywhere() -> None:
    routing = Routing.from_settings(_keys(llm_base_url="http://localhost:11434/v1",
                                          llm_model="llama3.1:8b"))
    assert routing.providers["openai"].api_key == "not-needed"
    assert routing.resolve("cheap") == (Deployment("openai", "llama3.1:8b"),)
    assert routing.resolve("llama3.1:70b") == (Deployment("openai", "llama3.1:70b"),)


def test_anthropic_only() -> None:
    routing = Routing.from_settings(_keys(anthropic_api_key="sk-2"))
    assert [d.key for d in routing.resolve(None)] == ["anthropic:claude-sonnet-4-6"]


def test_aliases_and_providers_from_revline_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "revline.toml").write_text(
        'openai_api_key = "sk-1"\n'
        "[llm_aliases]\n"
        'fast = ["groq:llama-3.3-70b-versatile", "deepinfra:meta-llama/Llama-3.3-70B-Instruct"]\n'
        "[llm_providers.groq]\n"
        'base_url = "https://api.groq.com/openai/v1"\n'
        'api_key = "gsk-secret"\n'
        "[llm_providers.deepinfra]\n"
        'base_url = "https://api.deepinfra.com/v1/openai"\n'
        'api_key_env = "DEEPINFRA_TOKEN"\n'
        "timeout_s = 20\n"
    )
    monkeypatch.setenv("DEEPINFRA_TOKEN", "di-secret")
    get_settings.cache_clear()
    settings = get_settings()
    assert isinstance(settings.llm_providers["groq"]["api_key"], SecretStr)
    assert "gsk-secret" not in str(settings.masked())
    routing = Routing.from_settings(settings)
    assert [d.key for d in routing.resolve("fast")] == [
        "groq:llama-3.3-70b-versatile", "deepinfra:meta-llama/Llama-3.3-70B-Instruct"]
    assert routing.providers["groq"].api_key == "gsk-secret"
    assert routing.providers["deepinfra"].api_key == "di-secret"
    assert routing.providers["deepinfra"].timeout_s == 20
    prices = PriceTable.load(settings)
    assert prices.lookup("groq", "llama-3.3-70b-versatile").output == 0.79


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"llm_providers": {"x": {"kind": "vertex", "api_key": "k"}}}, "kind must be"),
        ({"llm_providers": {"x": {"api_key_env": "NOPE_NOT_SET"}}}, "NOPE_NOT_SET"),
        ({"llm_providers": {"x": {}}}, "set api_key or api_key_env"),
        ({"openai_api_key": "k", "llm_aliases": {"a": []}}, "llm_aliases.a is empty"),
        ({"openai_api_key": "k", "llm_aliases": {"a": ["anthropic:claude-haiku-4-5"]}},
         "REVLINE_ANTHROPIC_API_KEY"),
    ],
)
def test_config_mistakes_are_one_line_errors(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Routing.from_settings(_keys(**values))


def test_nothing_configured() -> None:
    with pytest.raises(LLMNotConfigured, match="REVLINE_LLM_BASE_URL"):
        Routing.from_settings(_keys())


def test_price_table_is_versioned_and_strict() -> None:
    table = PriceTable.load(_keys())
    assert table.version == "2026-11-23"
    assert table.lookup("openai", "gpt-4o") == Price(2.5, 10.0)
    assert table.lookup("openai", "gpt-4o-2024-08-06") == Price(2.5, 10.0)  # dated snapshot
    assert table.lookup("anthropic", "claude-haiku-4-5-20251001").output == 5.0
    with pytest.raises(PriceUnknown, match="no price for openai:gpt-4o-ultra"):
        table.lookup("openai", "gpt-4o-ultra")
    with pytest.raises(PriceUnknown):
        table.lookup("openai", "llama-3.3-70b-versatile")  # only Groq's price is known


def test_price_overrides_and_explicit_zero() -> None:
    table = PriceTable.load(_keys(llm_prices={"my-ft": {"input": 1, "output": 2}},
                                  llm_zero_price_models=["qwen2.5:7b"]))
    assert table.lookup("openai", "my-ft") == Price(1.0, 2.0, "settings")
    assert table.lookup("openai", "qwen2.5:7b").source == "zero"
    assert table.lookup("local", "anything", zero_price_provider=True).input == 0
    with pytest.raises(ConfigError, match="numeric 'input' and 'output'"):
        PriceTable.load(_keys(llm_prices={"bad": {"input": 1.0}}))


def test_cost_is_rounded_up_to_whole_micro_dollars() -> None:
    assert Price(2.5, 10.0).cost_micros(3, 4) == 48  # 47.5 -> 48
    assert Price(2.5, 10.0).cost_micros(2, 4) == 45
    assert Price(0.0, 0.0).cost_micros(10**6, 10**6) == 0


def test_price_table_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "prices.yml"
    bad.write_text("version: 1\n")
    with pytest.raises(ConfigError, match="'version' and 'models'"):
        PriceTable.load(_keys(), bad)
