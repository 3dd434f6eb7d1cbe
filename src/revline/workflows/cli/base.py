"""Shared parts of `revline workflows`: the Typer apps, consoles, tenant and output helpers."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from revline.kernel.config import Settings
    from revline.kernel.db import Database

app = typer.Typer(
    help="Generate Dify workflows from a requirement, validate DSL, browse history, manage "
         "patterns and node templates.",
    no_args_is_help=True,
)
patterns_app = typer.Typer(help="The workflow pattern library (bundled and your own).",
                           no_args_is_help=True)
templates_app = typer.Typer(help="Node templates: your reusable Dify node snippets.",
                            no_args_is_help=True)
app.add_typer(patterns_app, name="patterns")
app.add_typer(templates_app, name="templates")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

TenantOption = Annotated[str | None, typer.Option("--tenant",
                                                  help="Tenant slug (default from config).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


@contextmanager
def unit(tenant: str | None) -> Iterator[tuple[Session, uuid.UUID, Settings]]:
    """One committed unit of work for the tenant (created if new)."""
    from revline.kernel.auth import tenant_session
    from revline.kernel.config import get_settings

    with tenant_session(tenant) as (session, tenant_id):
        yield session, tenant_id, get_settings()


def context(tenant: str | None) -> tuple[Database, Settings, uuid.UUID]:
    """Database, settings and tenant id for commands that run generations themselves."""
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database

    with unit(tenant) as (_, tenant_id, settings):
        pass
    return get_database(get_settings()), settings, tenant_id


def print_json(data: Any) -> None:
    """JSON on stdout (unicode kept)."""
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def money(micros: int | None) -> str:
    """Micro-dollars as dollars; small amounts never print as $0."""
    if not micros:
        return "$0"
    if micros < 10_000:
        return f"${micros / 1_000_000:.6f}"
    return f"${micros / 1_000_000:.4f}"


def short(ident: str | None) -> str:
    """The first 8 hex digits of an id (what `show`/`diff` accept as a prefix)."""
    return (ident or "")[:8]


class StageProgress:
    """The run's listener: a spinner on the current stage, one line per finished stage."""

    def __init__(self, console: Console, quiet: bool = False) -> None:
        self.console = console
        self.quiet = quiet
        self.status: Any = None
        self.started: dict[str, float] = {}

    def __call__(self, stage: str, status: str, message: str, data: dict[str, Any]) -> None:
        """Render one event."""
        if self.quiet:
            return
        if status == "started":
            self.started[stage] = time.monotonic()
            label = f"[bold]{stage}[/bold] {escape(message)}"
            if self.console.is_terminal:
                if self.status is None:
                    self.status = self.console.status(label)
                    self.status.start()
                else:
                    self.status.update(label)
            return
        if status == "info":
            self.console.print(f"  [dim]·[/dim] {escape(message)}", no_wrap=True,
                               overflow="ellipsis")
            return
        now = time.monotonic()
        # done/error have no start of their own: show the whole run's time.
        since = self.started.get(stage) or min(self.started.values(), default=now)
        mark = "[red]✗[/red]" if status == "failed" else "[green]✓[/green]"
        detail = escape(message) if message else escape(_brief(data))
        self.console.print(f"{mark} {stage:<13} {now - since:6.1f}s  {detail}", no_wrap=True,
                           overflow="ellipsis")
        if stage in ("done", "error"):
            self.stop()

    def stop(self) -> None:
        """Stop the spinner."""
        if self.status is not None:
            self.status.stop()
            self.status = None


def _brief(data: dict[str, Any]) -> str:
    parts = []
    for key, value in data.items():
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value[:5]) + ("…" if len(value) > 5 else "")
        if value not in (None, "", []):
            parts.append(f"{key}: {value}")
    return "; ".join(parts)
