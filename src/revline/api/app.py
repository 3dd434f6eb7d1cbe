"""create_app(): the FastAPI app with every domain router, health checks and error mapping."""

from __future__ import annotations

import importlib
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import text

from revline import __version__
from revline.kernel.config import get_settings
from revline.kernel.db import get_database
from revline.kernel.errors import RevlineError
from revline.registry import ROUTER_MODULES


def create_app() -> FastAPI:
    """Build the app; routers come from each domain's endpoints module."""
    app = FastAPI(
        title="Revline API",
        version=__version__,
        description=(
            "Self-hosted AI revenue engine. "
            "Authenticate with `Authorization: Bearer <key>`."
        ),
    )

    @app.exception_handler(RevlineError)
    async def _revline_error(_: Request, exc: RevlineError) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code,
            content={"error": type(exc).__name__, "detail": exc.message},
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse(
            status_code=422,
            content={
                "error": "InvalidInput",
                "detail": f"{where}: {first.get('msg', 'invalid request')}",
                "errors": jsonable_errors(exc.errors()),
            },
        )

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, Any]:
        """Liveness: the process answers; also how many bundled workflow patterns it ships."""
        from revline.knowledge.service import pattern_library_count

        try:
            patterns: int | None = pattern_library_count(get_settings())
        except Exception:  # liveness must not fail because of the pattern folder
            patterns = None
        return {"status": "ok", "version": __version__, "patterns": patterns}

    @app.get("/ready", tags=["ops"])
    def ready() -> JSONResponse:
        """Readiness: the database answers and is migrated."""
        try:
            db = get_database(get_settings())
            with db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return JSONResponse({"status": "ready", "database": "ok"})
        except Exception as exc:
            return JSONResponse(
                status_code=503, content={"status": "unavailable", "database": str(exc)[:200]}
            )

    for module in ROUTER_MODULES:
        app.include_router(importlib.import_module(module).router)
    return app


def jsonable_errors(errors: Any) -> list[dict[str, Any]]:
    """Pydantic errors without the non-JSON `ctx`/`input` parts."""
    return [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in errors]
