"""HTTP API of the workflows domain: thin routers over its service."""

from __future__ import annotations

from fastapi import APIRouter

from revline.workflows.endpoints import generate, library, streams

router = APIRouter()
# Literal paths (/generate/batch, /generate/batches/...) before /generate/{ref}/...
router.include_router(generate.router)
router.include_router(streams.router)
router.include_router(library.router)
