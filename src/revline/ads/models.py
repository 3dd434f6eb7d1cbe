"""SQLAlchemy tables of the ads domain."""

from __future__ import annotations
