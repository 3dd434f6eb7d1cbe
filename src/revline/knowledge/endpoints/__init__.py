"""HTTP API of the knowledge domain: a thin router over its service."""

from __future__ import annotations

from fastapi import APIRouter

from revline.knowledge.endpoints import bases, library

router = APIRouter()
# Literal paths (/api/v1/kb/patterns, /winners) first, so they are not taken for KB names.
router.include_router(library.router)
router.include_router(bases.router)
