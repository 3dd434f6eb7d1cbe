"""Reading a DSL file: bytes -> UTF-8 text -> YAML. Unreadable input is a typed error (exit 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from revline.kernel.errors import UnreadableInput

# Dify's import refuses DSL content over 10 MB (DSL_MAX_SIZE in app_dsl_service.py).
DSL_MAX_BYTES = 10 * 1024 * 1024

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class UnreadableDSL(UnreadableInput):
    """The file is missing, not UTF-8 or not YAML at all; nothing can be validated."""


def read_text(path: Path) -> str:
    """Read a DSL file as UTF-8 (a BOM is tolerated), or raise UnreadableDSL saying why."""
    if not path.exists():
        raise UnreadableDSL(f"{path}: no such file; check the path")
    if path.is_dir():
        raise UnreadableDSL(f"{path}: is a directory; pass a .yml DSL file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UnreadableDSL(f"{path}: cannot read ({exc.strerror}); check permissions") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableDSL(
            f"{path}: not UTF-8 (invalid byte at offset {exc.start}); "
            "Dify DSL files are UTF-8 YAML, re-export or re-save the file as UTF-8"
        ) from exc


def parse_yaml(text: str, source: str = "<text>") -> Any:
    """Parse YAML text with the safe loader, or raise UnreadableDSL with line and column."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise UnreadableDSL(
            f"{source}: not valid YAML{where}: {exc.problem}; fix the syntax (indentation, "
            "quotes, colons) and retry"
        ) from exc
    except yaml.YAMLError as exc:
        raise UnreadableDSL(f"{source}: not valid YAML: {exc}") from exc
