"""Errors specific to the knowledge domain (all map to HTTP codes via RevlineError)."""

from __future__ import annotations

from revline.kernel.errors import Conflict


class ModelMismatch(Conflict):
    """A collection was embedded with another model than the one this process uses."""
