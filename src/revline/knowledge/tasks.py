"""Celery tasks of the knowledge domain; they take IDs only."""

from __future__ import annotations
