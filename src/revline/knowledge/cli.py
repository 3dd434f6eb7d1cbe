"""`revline kb ...`: knowledge bases: ingest documents, hybrid search, patterns, winners."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Knowledge bases: ingest documents, hybrid search, patterns, winners.",
    no_args_is_help=True,
)
