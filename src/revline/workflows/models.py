"""SQLAlchemy tables of the workflows domain."""

from __future__ import annotations
