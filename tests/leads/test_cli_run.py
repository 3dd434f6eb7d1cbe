"""`revline run` as a user runs it: real subprocess, real files, real SQLite."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "leads.csv"


def revline(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a fresh interpreter, as the console script would."""
    return subprocess.run(
        [sys.executable, "-m", "revline.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def env(revline_home: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("REVLINE_")}
    base["REVLINE_HOME"] = str(revline_home)
    for k in ("REVLINE_TEST_PG_URL", "REVLINE_TEST_REDIS_URL"):
        base.pop(k, None)
    return base


def test_example_run_end_to_end(tmp_path: Path, env: dict[str, str]) -> None:
    src = tmp_path / "leads.csv"
    src.write_bytes(EXAMPLE.read_bytes())
    env["REVLINE_OFFLINE"] = "auto"  # the probe host does not resolve here: must detect fast
    started = time.monotonic()
    proc = revline("run", str(src), env=env)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert elapsed < 60
    out_xlsx = tmp_path / "leads.enriched.xlsx"
    out_html = tmp_path / "leads.enriched.html"
    assert out_xlsx.exists()
    assert out_html.exists()
    rows = EXAMPLE.read_text(encoding="utf-8").count("\n") - 1
    wb = load_workbook(out_xlsx, read_only=True)
    assert {"Leads", "Contacts", "Classification", "Errors", "Summary"} <= set(wb.sheetnames)
    leads = list(wb["Leads"].iter_rows(values_only=True))
    header = leads[0]
    assert header[0] == EXAMPLE.read_text(encoding="utf-8").splitlines()[0].split(",")[0]
    assert len(leads) - 1 == rows
    assert "score" in [str(h).lower() for h in header]
    assert "Leads" in proc.stdout
    assert str(rows) in proc.stdout
    # Offline is said once, not per lead.
    assert proc.stderr.count("No network") + proc.stdout.count("No network") == 1
    # A second identical command starts a new run (the first completed) and still succeeds.
    again = revline("run", str(src), "--tier", "1", env=env)
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.csv", "empty"),
        (b"Company,Email\n", "header.csv", "no data rows"),
        (b"Foo,Bar\n1,2\n", "cols.csv", "--map"),
        (b"\x00\x01\x02\xff\xfe" * 400, "binary.csv", "csv"),
        (b"PK\x03\x04garbage", "broken.xlsx", "xlsx"),
    ],
)
def test_bad_input_is_one_clear_line(
    tmp_path: Path, env: dict[str, str], content: bytes, name: str, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    proc = revline("run", str(path), env=env)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert lines[-1].startswith("error:"), proc.stderr
    assert "Traceback" not in proc.stderr
    assert message.lower() in proc.stderr.lower()


def test_missing_file_and_bad_map(tmp_path: Path, env: dict[str, str]) -> None:
    proc = revline("run", str(tmp_path / "nope.csv"), env=env)
    assert proc.returncode == 2
    assert "not found" in proc.stderr
    src = tmp_path / "l.csv"
    src.write_text("Business,Mail\nAcme,a@acme-demo.com\n")
    bad = revline("run", str(src), "--map", "company=Nope", env=env)
    assert bad.returncode == 2
    assert "Nope" in bad.stderr
    good = revline("run", str(src), "--map", "company=Business", "--map", "email=Mail", env=env)
    assert good.returncode == 0, good.stderr


def _run_state(home: Path) -> list[tuple[str, str, int]]:
    if not (home / "revline.db").exists():
        return []
    con = sqlite3.connect(home / "revline.db")
    try:
        return con.execute("SELECT status, stage, imported_rows FROM lead_runs").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()


@pytest.mark.slow
def test_kill_9_then_resume_loses_nothing(
    tmp_path: Path, env: dict[str, str], revline_home: Path
) -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    from synth import write_csv

    src = tmp_path / "big.csv"
    n = 30_000
    write_csv(src, n, 3)
    env["REVLINE_OFFLINE"] = "true"
    proc = subprocess.Popen(
        [sys.executable, "-m", "revline.cli.main", "run", str(src)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    killed_at = None
    while time.monotonic() < deadline:
        state = _run_state(revline_home)
        if state and state[0][2] >= 3000:
            proc.send_signal(signal.SIGKILL)
            killed_at = state[0]
            break
        time.sleep(0.05)
    proc.wait(timeout=30)
    assert killed_at is not None, "run never got going"
    state = _run_state(revline_home)
    assert state[0][0] == "running"  # the dead process could not mark it
    resumed = revline("run", str(src), env=env, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming run" in resumed.stderr
    con = sqlite3.connect(revline_home / "revline.db")
    runs = con.execute("SELECT status FROM lead_runs").fetchall()
    total, distinct, scored = con.execute(
        "SELECT count(*), count(DISTINCT row_index), sum(stage = 4) FROM leads"
    ).fetchone()
    con.close()
    assert runs == [("completed",)]
    assert total == distinct == scored == n
    wb = load_workbook(tmp_path / "big.enriched.xlsx", read_only=True)
    assert wb["Leads"].max_row == n + 1


@pytest.mark.slow
def test_ctrl_c_marks_interrupted_and_resumes(
    tmp_path: Path, env: dict[str, str], revline_home: Path
) -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    from synth import write_csv

    src = tmp_path / "mid.csv"
    write_csv(src, 20_000, 5)
    env["REVLINE_OFFLINE"] = "true"
    proc = subprocess.Popen(
        [sys.executable, "-m", "revline.cli.main", "run", str(src)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = _run_state(revline_home)
        if state and state[0][2] >= 2000:
            proc.send_signal(signal.SIGINT)
            break
        time.sleep(0.05)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "re-run the same command to resume" in err
    assert _run_state(revline_home)[0][0] == "interrupted"
    resumed = revline("run", str(src), env=env, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert _run_state(revline_home)[0][0] == "completed"


def test_config_show_masks_and_cache_commands(env: dict[str, str]) -> None:
    env["REVLINE_OPENAI_API_KEY"] = "sk-live-secret"
    shown = revline("config", "show", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "sk-live-secret" not in shown.stdout
    assert '"openai_api_key": "********"' in shown.stdout
    stats = revline("cache", "stats", "--json", env=env)
    assert stats.returncode == 0, stats.stderr
    assert '"entries": 0' in stats.stdout
    cleared = revline("cache", "clear", env=env)
    assert cleared.returncode == 0
    assert "removed 0" in cleared.stdout
    helped = revline("--help", env=env)
    assert "run" in helped.stdout
    assert "leads" in helped.stdout
