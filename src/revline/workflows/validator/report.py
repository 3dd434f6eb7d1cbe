"""Issues and reports: what the validator found, as `path: message` lines or JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding: where (a dotted path into the DSL), what is wrong and how to fix it."""

    path: str
    message: str
    code: str
    severity: Severity = "error"

    def line(self) -> str:
        """The `path: message` form the CLI prints, one issue per line."""
        return f"{self.path}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        """JSON shape of one issue: path, message, code."""
        return {"path": self.path, "message": self.message, "code": self.code}


@dataclass(slots=True)
class ValidationReport:
    """All issues for one DSL document, plus what was learnt about it (version, mode)."""

    issues: list[Issue] = field(default_factory=list)
    version: str | None = None
    mode: str | None = None
    source: str | None = None

    @property
    def errors(self) -> list[Issue]:
        """Issues that make the DSL invalid."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        """Issues Dify tolerates but that are worth fixing."""
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def valid(self) -> bool:
        """True when there is no error (warnings do not invalidate)."""
        return not any(i.severity == "error" for i in self.issues)

    def to_dict(self) -> dict[str, Any]:
        """The `--json` object: valid, errors, warnings (+ file, version, mode when known)."""
        out: dict[str, Any] = {
            "valid": self.valid,
            "errors": [i.as_dict() for i in self.errors],
            "warnings": [i.as_dict() for i in self.warnings],
        }
        if self.source is not None:
            out["file"] = self.source
        out["version"] = self.version
        out["mode"] = self.mode
        return out


class Collector:
    """Accumulates issues while rules run; `strict` issues soften to warnings on legacy DSL.

    Dify imports an older minor DSL version with status "completed-with-warnings"; rules that
    legacy exports routinely break (an unconnected ELSE branch, say) follow the same split.
    """

    def __init__(self, *, legacy: bool = False) -> None:
        self.issues: list[Issue] = []
        self.legacy = legacy

    def error(self, path: str, code: str, message: str) -> None:
        """Record an error."""
        self.issues.append(Issue(path, message, code, "error"))

    def warn(self, path: str, code: str, message: str) -> None:
        """Record a warning."""
        self.issues.append(Issue(path, message, code, "warning"))

    def strict(self, path: str, code: str, message: str) -> None:
        """An error for the current DSL version, a warning for older (legacy) versions."""
        if self.legacy:
            self.warn(path, code, message)
        else:
            self.error(path, code, message)

    @property
    def error_count(self) -> int:
        """How many errors so far."""
        return sum(1 for i in self.issues if i.severity == "error")
