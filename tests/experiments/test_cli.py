"""`revline experiments ...` as a user runs it, on the test's SQLite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from revline.experiments.cli import app
from revline.kernel.db import Database
from revline.kernel.errors import Conflict, InvalidInput, NotFound

runner = CliRunner()


def ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def fails(error: type[Exception], *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert isinstance(result.exception, error), (result.output, result.exception)
    return str(result.exception)


def test_experiment_lifecycle(db: Database, tmp_path: Path) -> None:
    created = ok("create", "cta", "-a", "blue", "-a", "green", "--half-life", "100", "--json")
    assert json.loads(created)["policy"]["half_life"] == 100.0
    arms = ok("decide", "cta", "-n", "5").split()
    assert len(arms) == 5
    assert set(arms) <= {"blue", "green"}
    ok("observe", "cta", "blue", "1", "--event-id", "e1")
    events = tmp_path / "events.jsonl"
    events.write_text(
        "\n".join(
            json.dumps({"event_id": f"f{i}", "arm": "green", "reward": i % 2}) for i in range(20)
        )
        + "\n"
    )
    assert "stored 20 observation(s); 20 folded" in ok("observe", "cta", "--file", str(events))
    shown = json.loads(ok("show", "cta", "--json"))
    arms_by_name = {a["name"]: a for a in shown["arms"]}
    # Ten conversions, each decayed by the conversions after it (half-life 100), plus the prior.
    decayed = sum(2 ** (-j / 100) for j in range(10))
    assert arms_by_name["green"]["alpha"] == pytest.approx(1 + decayed)
    assert arms_by_name["blue"]["observations"] == 1
    assert shown["pending_observations"] == 0
    assert "cta" in ok("list")
    ok("observe", "cta", "blue", "0", "--event-id", "e2", "--no-update")
    assert "applied 1 observation" in ok("update", "cta")
    # 22 events against 5 decisions split about evenly: a mismatch, and exit code 1 for scripts.
    srm = runner.invoke(app, ["srm", "cta", "--json"])
    assert srm.exit_code == 1
    report = json.loads(srm.output)
    assert report["periods"][0]["observed"] == {"blue": 2, "green": 20}
    assert report["mismatched_periods"] == 1


def test_bad_input_is_one_clear_error(db: Database, tmp_path: Path) -> None:
    ok("create", "cta", "-a", "blue", "-a", "green")
    assert "already exists" in fails(Conflict, "create", "cta", "-a", "x", "-a", "y")
    assert "min_weight" in fails(
        InvalidInput, "create", "x", "-a", "a", "-a", "b", "-a", "c", "--min-weight", "0.5"
    )
    assert "not found" in fails(NotFound, "decide", "nope")
    ok("observe", "cta", "blue", "1", "--event-id", "e1")
    assert "duplicate observation" in fails(
        Conflict, "observe", "cta", "blue", "1", "--event-id", "e1"
    )
    assert "unknown arm" in fails(InvalidInput, "observe", "cta", "red", "1", "--event-id", "e9")
    assert "--event-id" in fails(InvalidInput, "observe", "cta", "blue", "1")
    broken = tmp_path / "bad.jsonl"
    broken.write_text('{"event_id": "x", "arm": "blue", "reward": 1}\nnot json\n')
    assert "bad.jsonl:2" in fails(InvalidInput, "observe", "cta", "--file", str(broken))
    shown = json.loads(ok("show", "cta", "--json"))
    assert sum(a["observations"] for a in shown["arms"]) == 1


def test_registry_commands(db: Database) -> None:
    ok("models", "register", "scorer", "v1", "--metric", "auc=0.8", "--params", '{"depth": 3}')
    ok("models", "register", "scorer", "v2")
    assert "NAME=NUMBER" in fails(
        InvalidInput, "models", "register", "scorer", "v3", "--metric", "auc"
    )
    ok("models", "alias", "scorer", "champion", "v1")
    assert "30%" in ok("models", "alias", "scorer", "challenger", "v2", "--traffic", "0.3")
    lines = ok("models", "assign", "scorer", "u1", "u2", "u3").strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["u1", "u2", "u3"]
    for i in range(3):
        ok("models", "outcome", "scorer", "v1", "0", "--event-id", f"a{i}")
        ok("models", "outcome", "scorer", "v2", "1", "--event-id", f"b{i}")
    evaluation = json.loads(ok("models", "evaluate", "scorer", "--json"))
    assert evaluation["champion"]["n"] == 3
    assert "not promoted" in fails(Conflict, "models", "promote", "scorer")
    assert "promoted v2" in ok("models", "promote", "scorer", "--min-samples", "3")
    history = json.loads(ok("models", "history", "scorer", "--json"))
    assert history[-1]["action"] == "promote"
    assert history[-1]["actor"].startswith("cli:")
    assert "champion=v2" in ok("models", "list")


def test_registry_options_outside_their_range_are_refused(db: Database) -> None:
    """The CLI reaches the service without the API's schema: the service checks ranges."""
    ok("models", "register", "scorer", "v1")
    ok("models", "register", "scorer", "v2")
    ok("models", "alias", "scorer", "champion", "v1")
    for share in ("5", "0", "-0.2", "1"):
        assert "--traffic" in fails(
            InvalidInput, "models", "alias", "scorer", "challenger", "v2", "--traffic", share
        )
    ok("models", "alias", "scorer", "challenger", "v2", "--traffic", "0.5")
    for option, value in (("--confidence", "0.2"), ("--confidence", "1.5"),
                          ("--min-samples", "-3"), ("--min-samples", "0")):
        assert option in fails(InvalidInput, "models", "evaluate", "scorer", option, value)
        assert option in fails(InvalidInput, "models", "promote", "scorer", option, value)
    history = json.loads(ok("models", "history", "scorer", "--json"))
    assert [h["action"] for h in history] == ["register", "register", "alias", "alias"]


def test_report_options_outside_their_range_are_one_line_errors(db: Database) -> None:
    ok("create", "cta", "-a", "blue", "-a", "green")
    ok("decide", "cta", "-n", "5")
    assert "--alpha" in fails(InvalidInput, "srm", "cta", "--alpha", "5")
    assert "--periods" in fails(InvalidInput, "srm", "cta", "--periods", "0")
    assert "--draws" in fails(InvalidInput, "show", "cta", "--draws", "-4")


def test_simulate_compares_decay_settings() -> None:
    args = ["simulate", "--means", ".2,.8", "--means", ".8,.2", "--horizon", "3000", "--seeds", "2"]
    sticky = ok(*args)
    decayed = ok(*args, "--half-life", "100")

    def regret(text: str) -> float:
        return float(text.split(":")[1].split("±")[0])

    assert regret(decayed) < regret(sticky)
    assert "means" in fails(InvalidInput, "simulate", "--means", ".2,x")


@pytest.mark.slow
def test_console_errors_and_exit_codes(revline_home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVLINE_")}
    env["REVLINE_HOME"] = str(revline_home)

    def revline(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "revline.cli.main", "experiments", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert revline("create", "cta", "-a", "a", "-a", "b").returncode == 0
    bad = revline("observe", "cta", "a", "0.5", "--event-id", "x")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: cta: bernoulli rewards must be 0 or 1"
    missing = revline("show", "nope")
    assert missing.returncode == 1
    assert "experiment 'nope' not found" in missing.stderr
