"""FastAPI dependency aliases shared by every domain router; tests override the providers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from revline.kernel.auth.principal import Principal
from revline.kernel.auth.service import resolve_api_key
from revline.kernel.config import Settings, get_settings
from revline.kernel.db import get_database
from revline.kernel.errors import Unauthorized
from revline.kernel.llm import LLMGateway, get_gateway


def provide_settings() -> Settings:
    """Settings for a request."""
    return get_settings()


SettingsDep = Annotated[Settings, Depends(provide_settings)]


def provide_session(settings: SettingsDep) -> Iterator[Session]:
    """One transaction per request: committed when the endpoint returns, rolled back on error."""
    with get_database(settings).session() as session:
        yield session


SessionDep = Annotated[Session, Depends(provide_session)]


def provide_principal(request: Request, session: SessionDep, settings: SettingsDep) -> Principal:
    """Authenticate `Authorization: Bearer <key>` or `X-API-Key: <key>`."""
    header = request.headers.get("authorization", "")
    key = header[7:].strip() if header.lower().startswith("bearer ") else ""
    key = key or request.headers.get("x-api-key", "").strip()
    if not key:
        raise Unauthorized(
            "missing API key: send 'Authorization: Bearer <key>' (revline keys create)"
        )
    return resolve_api_key(session, key, settings.api_keys_pepper.get_secret_value())


PrincipalDep = Annotated[Principal, Depends(provide_principal)]


def provide_llm(settings: SettingsDep) -> LLMGateway:
    """The shared LLM gateway; 503 with how to configure one when no provider is set."""
    return get_gateway(settings)


LLMDep = Annotated[LLMGateway, Depends(provide_llm)]
