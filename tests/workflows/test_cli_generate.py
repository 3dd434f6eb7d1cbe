"""`revline workflows generate | history | show | diff | edit | patterns | templates | usage |
batch` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from revline.workflows.cli import app
from revline.workflows.validator import validate_file
from tests.workflows.script import pattern

pytestmark = pytest.mark.usefixtures("embedder", "db")
runner = CliRunner()
REPORT = ("Every Monday at 9am fetch our numbers from https://stats.globex.example/api/week "
          "and post a report to the Slack webhook https://hooks.slack.com/services/T0/B0/X")


def cli(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.mark.slow
def test_fresh_machine_without_keys_writes_a_valid_dsl_file(
    tmp_path: Path, revline_home: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVLINE_")}
    env["REVLINE_HOME"] = str(revline_home)
    out = tmp_path / "report.yml"
    proc = subprocess.run(
        [sys.executable, "-m", "revline.cli.main", "workflows", "generate", REPORT, "-o",
         str(out)], env=env, capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "mode: retrieval" in proc.stderr
    assert "LLM not configured" in proc.stderr
    assert f"wrote {out}" in proc.stderr
    check = subprocess.run(
        [sys.executable, "-m", "revline.cli.main", "workflows", "validate", str(out)],
        env=env, capture_output=True, text=True, timeout=120, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "0 warning(s)" in check.stderr
    failed = subprocess.run(
        [sys.executable, "-m", "revline.cli.main", "workflows", "generate", "  "],
        env=env, capture_output=True, text=True, timeout=120, check=False)
    assert failed.returncode == 2
    assert failed.stderr.startswith("error: the requirement is empty")


def test_an_unwritable_output_is_refused_before_generating(tmp_path: Path) -> None:
    from revline.kernel.errors import InvalidInput

    with pytest.raises(InvalidInput, match="is a directory; name a file"):
        cli("generate", "Summarise meeting notes into action items", "-o", str(tmp_path))
    history = json.loads(cli("history", "--json").output)
    assert history == []  # refused up front: nothing generated, nothing to clean up


def test_generate_show_history_edit_diff(tmp_path: Path) -> None:
    out = tmp_path / "bot.yml"
    result = cli("generate", "A chatbot for Globex answering customer questions from the "
                 "globex-docs knowledge base", "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["mode"] == "retrieval"
    assert data["requested_mode"] == "full"
    assert data["valid"] is True
    assert data["file"] == str(out)
    assert validate_file(out).valid
    gen = data["id"]
    history = json.loads(cli("history", "--json").stdout)
    assert [h["id"] for h in history] == [gen]
    table = cli("history").stdout
    assert gen[:8] in table
    assert "retrieval" in table
    shown = cli("show", gen[:8]).stdout
    assert "support-rag-chatbot (used)" in shown
    assert "validity 1.0" in shown
    assert cli("show", gen, "--dsl").stdout == out.read_text(encoding="utf-8")

    doc = yaml.safe_load(out.read_text(encoding="utf-8"))
    doc["app"]["name"] = "Globex helper"
    edited = tmp_path / "edited.yml"
    edited.write_text(yaml.safe_dump(doc), encoding="utf-8")
    result = cli("edit", gen[:8], str(edited), "--note", "renamed")
    assert result.exit_code == 0
    assert "saved version 2: valid" in result.stderr
    diff = cli("diff", f"{gen[:8]}:1", f"{gen[:8]}:2")
    assert diff.exit_code == 1  # they differ
    assert '~ app.name: "Chatbot for Globex answering customer questions" -> "Globex helper"' \
        in diff.stdout
    assert cli("diff", f"{gen}:2", gen).exit_code == 0  # bare id = current version
    files = cli("diff", str(out), str(edited), "--json")
    assert json.loads(files.stdout)["summary"] == "1 app field(s) changed"


def test_patterns_templates_and_usage(tmp_path: Path) -> None:
    listed = json.loads(cli("patterns", "list", "--json").stdout)
    assert len(listed) == 21
    assert "graph:" in cli("patterns", "show", "faq-generator").stdout
    mine = pattern("faq-generator")
    mine["id"], mine["name"] = "faq-de", "German FAQ generator"
    path = tmp_path / "faq-de.yml"
    path.write_text(yaml.safe_dump(mine), encoding="utf-8")
    assert "saved pattern faq-de" in cli("patterns", "add", str(path)).stderr
    with pytest.raises(Exception, match="exists"):
        cli("patterns", "add", str(path))
    assert cli("patterns", "add", str(path), "--replace").exit_code == 0
    found = cli("patterns", "search", "frequently asked questions for a product", "-k", "3")
    assert "faq" in found.stdout
    assert "use when:" in found.stdout
    assert "deleted pattern faq-de" in cli("patterns", "delete", "faq-de").stderr

    template = {"id": "slack-post", "name": "Post to Slack", "tags": ["slack", "notify"],
                "description": "Posts a message to a Slack incoming webhook",
                "data": {"type": "http-request", "method": "post",
                         "url": "https://hooks.slack.com/services/T0/B0/X", "headers": "",
                         "params": "", "authorization": {"type": "no-auth"},
                         "body": {"type": "json", "data": [{"type": "text",
                                                            "value": "{\"text\": \"hi\"}"}]},
                         "timeout": {"connect": 5, "read": 10}}}
    tpl = tmp_path / "slack.yml"
    tpl.write_text(yaml.safe_dump(template), encoding="utf-8")
    assert "saved node template slack-post" in cli("templates", "add", str(tpl)).stderr
    assert "slack-post" in cli("templates", "list").stdout
    assert "url: https://hooks.slack.com" in cli("templates", "show", "slack-post").stdout

    cli("generate", REPORT, "-o", str(tmp_path / "r.yml"), "-q")
    usage = cli("usage").stdout
    assert "weekly-metrics-report" in usage
    assert "retrieval" in usage
    figures = json.loads(cli("usage", "--json").stdout)
    assert figures["generations"] == {"done": 1}
    assert "deleted node template" in cli("templates", "delete", "slack-post").stderr


def test_batch_inline_from_a_file(tmp_path: Path) -> None:
    lines = tmp_path / "reqs.txt"
    lines.write_text("# nightly\n"
                     "Translate product descriptions into German with our glossary\n\n"
                     '{"requirement": "Extract contact details from emails as JSON", '
                     '"name": "Contacts"}\n', encoding="utf-8")
    result = cli("batch", str(lines), "--inline", "--json", "-d", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["counts"] == {"done": 2}
    assert [i["title"] for i in data["items"]][1] == "Contacts"
    files = sorted((tmp_path / "out").glob("*.yml"))
    assert [f.name[:4] for f in files] == ["001-", "002-"]
    assert all(validate_file(f).valid for f in files)
    status = cli("batch-status", data["id"])
    assert "2/2 finished" in status.stdout


@pytest.mark.parametrize(("content", "reason"), [
    ("[1, 2", "not valid JSON"),
    ("[1, 2]", "item 1: expected a requirement string or"),
])
def test_a_bad_batch_file_is_a_one_line_error(tmp_path: Path, content: str, reason: str) -> None:
    from revline.kernel.errors import InvalidInput
    from revline.workflows.cli.generate import read_batch_file

    path = tmp_path / "batch.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidInput, match=reason):
        read_batch_file(path)


def test_show_names_uncovered_requirements_and_refuses_a_directory(tmp_path: Path) -> None:
    from revline.kernel.errors import InvalidInput

    out = tmp_path / "digest.yml"
    cli("generate", "Every morning fetch the top stories from https://news.example/api and "
        "email a digest to team@globex.example", "-o", str(out), "-q")
    [row] = json.loads(cli("history", "--json").output)
    shown = cli("show", row["id"]).output
    assert "uncovered" in shown
    assert "email a digest" in shown
    with pytest.raises(InvalidInput, match="cannot write"):
        cli("show", row["id"], "-o", str(tmp_path))
