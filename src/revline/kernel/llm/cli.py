"""`revline llm ...`: providers, model aliases and cost summaries."""

from __future__ import annotations

import typer

app = typer.Typer(help="LLM gateway: providers, aliases, costs and budgets.", no_args_is_help=True)
