"""`revline experiments ...`: bandit experiments and the model registry."""

from __future__ import annotations

import typer

app = typer.Typer(help="Bandit experiments and the model registry.", no_args_is_help=True)
