"""`revline llm ...` as a user runs it, against the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from revline.cli.main import _register_domains, app
from revline.kernel.config import get_settings
from revline.kernel.llm import reset_gateways
from tests.emulators.llm_server import LLMEmulator

runner = CliRunner()


@pytest.fixture(scope="module", autouse=True)
def _domains() -> None:
    if not any(group.name == "llm" for group in app.registered_groups):
        _register_domains()


@pytest.fixture
def configured(emu: LLMEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[LLMEmulator]:
    monkeypatch.setenv("REVLINE_LLM_BASE_URL", emu.base_url)
    monkeypatch.setenv("REVLINE_OPENAI_API_KEY", emu.api_key)
    monkeypatch.setenv("REVLINE_ANTHROPIC_API_KEY", emu.api_key)
    monkeypatch.setenv("REVLINE_LLM_ANTHROPIC_BASE_URL", emu.anthropic_base_url)
    get_settings.cache_clear()
    yield emu
    reset_gateways()


def revline(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def test_models_and_prices(configured: LLMEmulator) -> None:
    info = json.loads(revline("llm", "models", "--json"))
    assert [r["deployment"] for r in info["aliases"]["default"]] == [
        "openai:gpt-4o", "anthropic:claude-sonnet-4-6"]
    assert "claude-sonnet-4-6" in revline("llm", "models")
    prices = json.loads(revline("llm", "prices", "--json"))
    assert prices["models"]["gpt-4o"] == {"input": 2.5, "output": 10.0, "source": "table"}


def test_ask_costs_calls_budgets_and_cache(configured: LLMEmulator) -> None:
    assert "hello from the emulator" in revline("llm", "ask", "hi", "--tenant", "acme")
    assert "hello from the emulator" in revline("llm", "ask", "hi", "--tenant", "acme",
                                                "--stream", "--temperature", "0.5")
    revline("llm", "ask", "hi", "--tenant", "acme")  # cached
    assert configured.count() == 2
    costs = json.loads(revline("llm", "costs", "--tenant", "acme", "--by", "feature",
                               "--since", "1d", "--json"))
    assert costs["total"]["calls"] == 3
    assert costs["total"]["cache_hits"] == 1
    assert costs["groups"][0]["key"] == "cli.ask"
    assert "gpt-4o" in revline("llm", "costs", "--tenant", "acme")
    calls = json.loads(revline("llm", "calls", "--tenant", "acme", "--json"))
    assert len(calls) == 3
    assert calls[0]["feature"] == "cli.ask"
    assert "$2.50 in total" in revline("llm", "budgets", "set", "--job", "run-1", "--limit",
                                       "2.5", "--tenant", "acme")
    revline("llm", "budgets", "set", "--tenant-wide", "--limit", "10", "--period", "month",
            "--tenant", "acme")
    budgets = json.loads(revline("llm", "budgets", "list", "--tenant", "acme", "--json"))
    assert [(b["scope"], b["ref"], b["period"]) for b in budgets] == [
        ("tenant", None, "month"), ("job", "run-1", "total")]
    assert "deleted" in revline("llm", "budgets", "delete", "--job", "run-1", "--tenant",
                                "acme")
    assert "released 0" in revline("llm", "budgets", "release-stale")
    stats = json.loads(revline("llm", "cache", "stats", "--tenant", "acme", "--json"))
    assert stats["live"] == 1
    assert "removed 1" in revline("llm", "cache", "clear", "--tenant", "acme")


def test_errors_are_one_line_with_a_non_zero_exit(revline_home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVLINE_")}
    env["REVLINE_HOME"] = str(revline_home)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "revline.cli.main", *args], env=env,
                              capture_output=True, text=True, timeout=120, check=False)

    proc = run("llm", "ask", "hello")
    assert proc.returncode != 0
    assert proc.stderr.startswith("error: LLM not configured: set REVLINE_OPENAI_API_KEY")
    proc = run("llm", "budgets", "set", "--limit", "5")
    assert proc.returncode == 2
    assert "pick exactly one of --tenant-wide" in proc.stderr
    proc = run("llm", "calls", "--limit", "-1")  # PostgreSQL rejects a negative LIMIT
    assert proc.returncode == 2
    assert "--limit" in proc.stderr
