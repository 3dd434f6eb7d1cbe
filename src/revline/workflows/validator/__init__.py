"""Strict Dify DSL validator: pure rules over a parsed document, one report per document.

Use `validate_document(data)` on parsed YAML, `validate_text(text)` on YAML text, or
`validate_file(path)` (raises UnreadableDSL when the file cannot be read or parsed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from revline.workflows.validator.document import CURRENT_VERSION, check_document
from revline.workflows.validator.loader import DSL_MAX_BYTES, UnreadableDSL, parse_yaml, read_text
from revline.workflows.validator.parse import build_graph, check_nodes
from revline.workflows.validator.report import Collector, Issue, ValidationReport
from revline.workflows.validator.secrets import find_secrets
from revline.workflows.validator.structure import check_structure
from revline.workflows.validator.variables import check_references

__all__ = [
    "CURRENT_VERSION", "Issue", "UnreadableDSL", "ValidationReport", "validate_document",
    "validate_file", "validate_text",
]


def validate_document(data: Any, source: str | None = None) -> ValidationReport:
    """Apply every rule to a parsed DSL document and return the report."""
    col = Collector()
    info = check_document(data, col)
    report = ValidationReport(source=source)
    if isinstance(data, dict):
        report.version = data.get("version") if isinstance(data.get("version"), str) else None
        app = data.get("app")
        report.mode = app.get("mode") if isinstance(app, dict) else None
    if info is not None and info.graph is not None:
        col.legacy = info.legacy
        model = build_graph(info, info.graph, col)
        check_nodes(model, col)
        check_structure(model, col)
        check_references(model, col)
    if isinstance(data, dict):
        for finding in find_secrets(data):
            col.warn(finding.path, "secret.literal",
                     f"{finding.reason}; a DSL is shared as a file, move the value to a secret "
                     "environment variable and reference it as {{#env.NAME#}}")
    report.issues = col.issues
    return report


def validate_text(text: str, source: str = "<text>") -> ValidationReport:
    """Validate DSL YAML text; raises UnreadableDSL when it is not YAML."""
    report = validate_document(parse_yaml(text, source), source=source)
    if len(text.encode("utf-8")) > DSL_MAX_BYTES:
        report.issues.insert(0, Issue(
            "document", f"the DSL is over Dify's 10 MB import limit ({DSL_MAX_BYTES} bytes); "
            "remove embedded data or split the app", "document.too_large",
        ))
    return report


def validate_file(path: Path) -> ValidationReport:
    """Read and validate one DSL file; raises UnreadableDSL when it cannot be read or parsed."""
    return validate_text(read_text(path), source=str(path))
