"""Helpers shared by the experiments and model-registry CLIs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from sqlalchemy.orm import Session

from revline.kernel.errors import InvalidInput

out = Console()

TenantOpt = Annotated[str | None, typer.Option(help="Tenant slug (default from config).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@contextmanager
def tenant_session(slug: str | None) -> Iterator[tuple[Session, uuid.UUID]]:
    """A committed-on-success session and the tenant id (created on first use)."""
    from revline.kernel.auth import ensure_tenant
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database

    settings = get_settings()
    with get_database(settings).session() as session:
        yield session, ensure_tenant(session, slug or settings.default_tenant).id


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
