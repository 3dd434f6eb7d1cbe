"""HTTP API of the ads domain: a thin router over its service."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["ads"])
