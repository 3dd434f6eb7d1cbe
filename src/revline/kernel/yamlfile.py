"""Read a user-editable YAML file; every failure is one line naming the file and the line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from revline.kernel.errors import InvalidInput


def read_yaml(path: Path, what: str) -> Any:
    """Parsed YAML of `path`; unreadable or malformed files raise InvalidInput."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: cannot read {what}: {exc}") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidInput(f"{path}: YAML syntax error{where}: {problem}") from exc
