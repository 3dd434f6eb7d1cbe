"""Celery tasks of the experiments domain; they take IDs only."""

from __future__ import annotations
