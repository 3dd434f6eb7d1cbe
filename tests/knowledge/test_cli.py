"""`revline kb ...` as users and scripts call it (the JSON lines are a contract)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from revline.cli.main import _register_domains, app
from revline.kernel.config import Settings, get_settings
from tests.knowledge.conftest import FIXTURE_PATTERNS, write_corpus

if not any(group.name == "kb" for group in app.registered_groups):
    _register_domains()
runner = CliRunner()


def kb(*args: str) -> tuple[int, str, str]:
    """Run `revline kb ...` in-process (the model stays loaded between calls)."""
    result = runner.invoke(app, ["kb", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_ingest_and_query_contract(kb_settings: Settings, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    extra = tmp_path / "faq.md"
    extra.write_text("# FAQ\n\nOur office is closed on public holidays.\n", encoding="utf-8")
    code, out, _ = kb("ingest", "handbook", str(corpus), str(extra))
    assert code == 0, out
    assert "6 added" in out
    assert "0 failed" in out
    code, out, _ = kb("ingest", "handbook", str(corpus))
    assert "5 unchanged" in out
    code, out, _ = kb("query", "handbook", "when is the office closed", "--k", "2", "--json")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 1
    answer = json.loads(lines[0])
    assert answer["query"] == "when is the office closed"
    assert "id" not in answer
    assert len(answer["hits"]) == 2
    assert answer["hits"][0]["source"] == str(extra)
    assert {"source", "chunk", "score"} <= answer["hits"][0].keys()
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        json.dumps({"id": 7, "text": "reset the widget"}) + "\n\n"
        + json.dumps({"id": "b", "text": "vacation days per year"}) + "\n",
        encoding="utf-8",
    )
    code, out, _ = kb("query", "handbook", "--queries", str(queries), "--k", "3", "--json")
    rows = [json.loads(line) for line in out.strip().splitlines()]
    assert [r["id"] for r in rows] == [7, "b"]
    assert [r["query"] for r in rows] == ["reset the widget", "vacation days per year"]
    assert Path(rows[0]["hits"][0]["source"]).name == "widget.md"
    assert Path(rows[1]["hits"][0]["source"]).name == "onboarding.docx"
    assert all(len(r["hits"]) == 3 for r in rows)
    code, out, _ = kb("query", "handbook", "reset the widget", "--k", "1")
    assert "widget.md" in out


def test_listing_stats_and_maintenance(kb_settings: Settings, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    assert kb("create", "manuals", "--description", "product manuals")[0] == 0
    assert kb("ingest", "manuals", str(corpus / "widget.md"), "--meta", "lang=en")[0] == 0
    code, out, _ = kb("stats", "manuals", "--json")
    stats = json.loads(out)
    assert stats["documents"] == 1
    assert stats["model_matches"] is True
    code, out, _ = kb("docs", "manuals", "--json")
    doc = json.loads(out)[0]
    assert doc["meta"] == {"lang": "en"}
    code, out, _ = kb("chunks", "manuals", str(corpus / "widget.md"), "--json")
    assert json.loads(out)[0]["span_start"] == 0
    assert kb("reembed", "manuals")[0] == 0
    code, out, _ = kb("optimize", "manuals")
    assert code == 0
    assert "rows" in out
    code, out, _ = kb("list", "--json")
    assert [k["name"] for k in json.loads(out)] == ["manuals"]
    assert kb("remove", "manuals", doc["id"])[0] == 0
    assert kb("delete", "manuals", "--yes")[0] == 0
    code, out, _ = kb("list", "--json")
    assert json.loads(out) == []


def test_patterns_and_winners_commands(kb_settings: Settings, tmp_path: Path) -> None:
    code, out, _ = kb("patterns", "list", "--json")
    assert len(json.loads(out)) == 4
    code, out, _ = kb("patterns", "search", "qualify new signups for the sales team", "--json")
    assert json.loads(out)[0]["id"] == "lead-qualification"
    assert kb("patterns", "validate", str(FIXTURE_PATTERNS))[0] == 0
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "x.yml").write_text("schema: 1\nid: y\n", encoding="utf-8")
    code, out, _ = kb("patterns", "validate", str(broken))
    assert code == 1
    assert "x.yml: name: required" in out
    code, out, _ = kb("winners", "add", "Half price pizza every Tuesday", "--channel", "meta",
                      "--impressions", "5000", "--clicks", "250", "--spend", "19.99")
    added = json.loads(out)
    assert added["created"] is True
    assert added["spend_minor"] == 1999
    code, out, _ = kb("winners", "search", "cheap pizza on tuesdays", "--json")
    assert json.loads(out)[0]["id"] == added["id"]


def _revline(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVLINE_")}
    env.update(REVLINE_HOME=str(home), REVLINE_KB_PATTERNS_DIR=str(FIXTURE_PATTERNS))
    code = "from revline.cli.main import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env, timeout=120, check=False)


def test_errors_are_one_line_and_help_loads_no_model(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    missing = _revline("kb", "query", "nope", "anything", home=home)
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        "error: knowledge base 'nope' not found; create it with `revline kb create nope`")
    both = _revline("kb", "query", "x", "text", "--queries", "q.jsonl", home=home)
    assert both.returncode == 2
    assert "either a query TEXT or --queries" in both.stderr
    big = tmp_path / "big.txt"
    big.write_text("x " * (600 * 1024), encoding="utf-8")
    monkeypatch.setenv("REVLINE_KB_MAX_UPLOAD_MB", "1")
    get_settings.cache_clear()
    code, out, err = kb("ingest", "docs", str(big))
    assert code == 1
    assert err.strip().splitlines() == [
        f"error: {big} is 1.2 MB, over the 1 MB limit (raise REVLINE_KB_MAX_UPLOAD_MB)"]
    probe = ("import sys; from revline.cli.main import main; sys.argv=['revline','kb','--help']\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in ('torch','lancedb','sentence_transformers','numpy')"
             " if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"
