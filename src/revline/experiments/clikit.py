"""Helpers shared by the experiments and model-registry CLIs."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console

from revline.kernel.errors import InvalidInput

out = Console()

TenantOpt = Annotated[str | None, typer.Option(help="Tenant slug (default from config).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def print_json(value: BaseModel | list[Any]) -> None:
    """Machine-readable output on stdout."""
    if isinstance(value, BaseModel):
        out.print_json(value.model_dump_json())
    else:
        out.print_json(json.dumps([v.model_dump(mode="json") for v in value]))


def invalid(exc: ValidationError) -> InvalidInput:
    """The first pydantic error as one actionable line."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "input"
    return InvalidInput(f"{where}: {first.get('msg', 'invalid')}")
