"""`revline workflows validate`: check Dify DSL files against Dify's own rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from revline.workflows.cli.base import app

EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2


@app.command("validate")
def validate(
    files: Annotated[
        list[Path], typer.Argument(metavar="FILE.yml...", help="Dify DSL file(s) to check.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object instead.")] = False,
) -> None:
    """Check Dify DSL files against Dify's own rules.

    Prints one error per line as `path: message`; warnings and the verdict go to stderr.

    Exit codes: 0 valid, 1 invalid, 2 unreadable (missing file, not UTF-8, not YAML).
    """
    from revline.workflows.validator import UnreadableDSL, validate_file

    results: list[dict[str, Any]] = []
    worst = EXIT_VALID
    many = len(files) > 1
    for path in files:
        try:
            report = validate_file(path)
        except UnreadableDSL as exc:
            worst = EXIT_UNREADABLE
            results.append({
                "file": str(path), "valid": False, "unreadable": True, "warnings": [],
                "errors": [{"path": str(path), "message": exc.message, "code": "file.unreadable"}],
            })
            if not as_json:
                typer.echo(f"error: {exc.message}", err=True)
            continue
        if not report.valid:
            worst = max(worst, EXIT_INVALID)
        results.append(report.to_dict())
        if as_json:
            continue
        prefix = f"{path}: " if many else ""
        for issue in report.errors:
            typer.echo(f"{prefix}{issue.line()}")
        for issue in report.warnings:
            typer.echo(f"warning: {prefix}{issue.line()}", err=True)
        if not many:
            verdict = "valid" if report.valid else f"invalid, {len(report.errors)} error(s)"
            typer.echo(f"{path}: {verdict}, {len(report.warnings)} warning(s)", err=True)
    if as_json:
        payload: dict[str, Any] = results[0] if not many else {
            "valid": all(r["valid"] for r in results), "files": results,
            "summary": _summary(results),
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    elif many:
        s = _summary(results)
        typer.echo(f"{s['files']} files: {s['valid']} valid, {s['invalid']} invalid, "
                   f"{s['unreadable']} unreadable", err=True)
    raise typer.Exit(worst)


def _summary(results: list[dict[str, Any]]) -> dict[str, int]:
    unreadable = sum(1 for r in results if r.get("unreadable"))
    valid = sum(1 for r in results if r["valid"])
    return {"files": len(results), "valid": valid, "invalid": len(results) - valid - unreadable,
            "unreadable": unreadable}
