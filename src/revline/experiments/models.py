"""SQLAlchemy tables of the experiments domain."""

from __future__ import annotations
