"""HTTP API of the knowledge domain: a thin router over its service."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["knowledge"])
