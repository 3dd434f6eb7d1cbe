"""`revline workflows ...`: generate and validate Dify workflow DSL."""

from __future__ import annotations

import typer

app = typer.Typer(help="Generate and validate Dify workflow DSL.", no_args_is_help=True)
