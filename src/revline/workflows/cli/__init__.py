"""`revline workflows ...`: generate, validate and manage Dify workflow DSL."""

from __future__ import annotations

from revline.workflows.cli import generate, history, library, validate
from revline.workflows.cli.base import app

__all__ = ["app", "generate", "history", "library", "validate"]
