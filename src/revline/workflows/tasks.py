"""Celery tasks of the workflows domain; they take IDs only."""

from __future__ import annotations
