"""Celery tasks of the ads domain; they take IDs only."""

from __future__ import annotations
