"""`revline ads ...` as a user runs it: register, import metrics, evaluate, execute, audit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from revline.ads.cli import app
from revline.kernel.config import get_settings
from revline.kernel.db import Database
from revline.kernel.errors import InvalidInput, NotFound

runner = CliRunner()


def ok(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_operator_flow(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVLINE_ADS_JITTER_MAX_S", "0")
    get_settings.cache_clear()
    for ext in ("win", "lose", "new"):
        ok("add", ext, "--account", "acct-1", "--budget", "100.00", "--started",
           "2026-01-01" if ext != "new" else "2099-01-01", "--name", ext.title())
    metrics = tmp_path / "m.csv"
    metrics.write_text("ad,day,spend,revenue,conversions\n"
                       "win,2026-11-01,150.00,900.00,9\nlose,2026-11-01,300.00,20.00,0\n"
                       "new,2026-11-01,500.00,0,0\n")
    assert "3 ad-days imported for 3 ads" in ok("metrics", str(metrics))
    status = json.loads(ok("status", "--json"))
    assert {s["external_id"]: s["roas"] for s in status} == {"win": 6.0, "lose": 20 / 300,
                                                             "new": 0.0}
    evaluation = json.loads(ok("evaluate", "--json"))
    actions = {d["action"] for d in evaluation["decisions"]}
    assert actions == {"scale", "kill", "hold"}
    assert evaluation["summary"]["changes_queued"] == 2
    assert "claimed 2; applied: 2" in ok("execute")
    history = json.loads(ok("history", "--json"))
    assert sorted(h["action"] for h in history) == ["pause", "set_budget"]
    assert "ignorance zone" in ok("decisions")
    final = {s["external_id"]: s for s in json.loads(ok("status", "--json"))}
    assert final["win"]["daily_budget_minor"] == 12_000
    assert final["lose"]["status"] == "paused"
    assert "queued change" in ok("budget", "win", "200.00", "--reason", "test")
    assert "claimed 1; applied: 1" in ok("execute")
    latest = json.loads(ok("history", "--json", "--ad", "win", "--limit", "1"))[0]
    assert latest["to_budget_minor"] == 14_400  # 120.00 + max step 20%
    assert "max step 20%" in latest["details"]["notes"][0]
    assert "attribution" in ok("attribution-report").lower()


def test_cli_config_show_and_set(db: Database) -> None:
    assert "kill_roas = 0.4" in ok("config", "set", "kill_roas", "0.4")
    assert 'stage_values = {"appointment_scheduled": 225000}' in ok(
        "config", "set", "stage_values.appointment_scheduled", "225000")
    shown = json.loads(ok("config", "show", "--json"))
    assert shown["kill_roas"] == 0.4
    assert shown["stage_values"] == {"appointment_scheduled": 225000}
    assert "stage_values = {}" in ok("config", "set", "stage_values.appointment_scheduled", "null")
    with pytest.raises(InvalidInput, match="unknown ads setting 'kill_rate'"):
        runner.invoke(app, ["config", "set", "kill_rate", "1"], catch_exceptions=False)
    with pytest.raises(InvalidInput, match="mode"):
        runner.invoke(app, ["config", "set", "mode", "sideways"], catch_exceptions=False)


def test_cli_errors_are_one_line_and_nonzero(revline_home: Path, db: Database) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVLINE_")}
    env["REVLINE_HOME"] = str(revline_home)
    proc = subprocess.run([sys.executable, "-m", "revline.cli.main", "ads", "budget", "nope",
                           "10"], env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("error: unknown ad 'nope'")
    assert len(proc.stderr.strip().splitlines()) == 1
    with pytest.raises(NotFound):
        runner.invoke(app, ["history", "--ad", "nope"], catch_exceptions=False)


def test_cli_bad_values_are_invalid_input_not_tracebacks(db: Database) -> None:
    for args, why in [
        (["add", "a-1", "--account", "acct", "--budget", "50", "--platform", "tiktok"],
         "--platform: Input should be 'meta' or 'manual'"),
        (["add", "a-1", "--account", "acct", "--budget", "-5"],
         "--budget: Input should be greater than or equal to 0"),
        (["decisions", "--evaluation", "latest"], "--evaluation 'latest' is not an evaluation id"),
    ]:
        with pytest.raises(InvalidInput, match=why):
            runner.invoke(app, args, catch_exceptions=False)
    assert "[]" in ok("status", "--json")
