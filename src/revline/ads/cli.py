"""`revline ads ...`: ad-budget optimizer, attribution, CRM sync and the safe executor."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Ad-budget optimizer, attribution, CRM sync and the safe executor.", no_args_is_help=True
)
