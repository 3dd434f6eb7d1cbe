"""`revline workflows validate`: exit codes, `path: message` lines, --json, several files."""

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
from tests.workflows.samples import simple_workflow

runner = CliRunner()


def _write(tmp_path: Path, name: str, doc: Any) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def valid_file(tmp_path: Path) -> Path:
    return _write(tmp_path, "ok.yml", simple_workflow())


@pytest.fixture
def invalid_file(tmp_path: Path) -> Path:
    doc = simple_workflow()
    doc["workflow"]["graph"]["nodes"][1]["data"]["prompt_template"][1]["text"] = "{{#nope.x#}}"
    doc["workflow"]["graph"]["edges"][1]["sourceHandle"] = "true"
    return _write(tmp_path, "bad.yml", doc)


def test_valid_file_exits_0(valid_file: Path) -> None:
    result = runner.invoke(app, ["validate", str(valid_file)])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "valid, 0 warning(s)" in result.stderr


def test_invalid_file_exits_1_with_one_error_per_line(invalid_file: Path) -> None:
    result = runner.invoke(app, ["validate", str(invalid_file)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "workflow.graph.edges[1].sourceHandle: sourceHandle 'true' is not an output of llm node "
        "'llm'; use one of 'source'",
        "workflow.graph.nodes[1].data.prompt_template[1].text: llm node 'llm': {{#nope.x#}} "
        "refers to node 'nope', which does not exist; use an existing node id",
    ]
    assert "invalid, 2 error(s)" in result.stderr


@pytest.mark.parametrize(("content", "reason"), [
    (None, "no such file"),
    (b"\xff\xfe\x00bad", "not UTF-8"),
    (b"app: [unclosed\n  mode: x", "not valid YAML at line"),
])
def test_unreadable_file_exits_2(tmp_path: Path, content: bytes | None, reason: str) -> None:
    path = tmp_path / "broken.yml"
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert reason in result.stderr
    assert result.stdout == ""


def test_not_a_mapping_is_invalid_not_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "list.yml"
    path.write_text("- a\n- b\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert result.stdout.startswith("document: the DSL must be a YAML mapping")


def test_json_output(invalid_file: Path) -> None:
    result = runner.invoke(app, ["validate", "--json", str(invalid_file)])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["valid"] is False
    assert [e["code"] for e in payload["errors"]] == ["edge.bad_handle", "var.unknown_node"]
    assert payload["errors"][0]["path"] == "workflow.graph.edges[1].sourceHandle"
    assert payload["warnings"] == []
    assert (payload["version"], payload["mode"]) == ("0.6.0", "workflow")


def test_json_unreadable(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", "--json", str(tmp_path / "missing.yml")])
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert payload["unreadable"] is True
    assert payload["errors"][0]["code"] == "file.unreadable"


def test_several_files_prefix_lines_and_summarise(valid_file: Path, invalid_file: Path,
                                                  tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(valid_file), str(invalid_file)])
    assert result.exit_code == 1
    assert all(line.startswith(f"{invalid_file}: ") for line in result.stdout.splitlines())
    assert "2 files: 1 valid, 1 invalid, 0 unreadable" in result.stderr
    missing = tmp_path / "missing.yml"
    result = runner.invoke(app, ["validate", "--json", str(valid_file), str(missing)])
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert payload["summary"] == {"files": 2, "valid": 1, "invalid": 0, "unreadable": 1}


def test_real_console_script(invalid_file: Path, revline_home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVLINE_")}
    env["REVLINE_HOME"] = str(revline_home)
    proc = subprocess.run(
        [sys.executable, "-m", "revline.cli.main", "workflows", "validate", str(invalid_file)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[0].startswith("workflow.graph.edges[1].sourceHandle: ")
