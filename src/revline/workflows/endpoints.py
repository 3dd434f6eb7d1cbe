"""HTTP API of the workflows domain: a thin router over its service."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["workflows"])
