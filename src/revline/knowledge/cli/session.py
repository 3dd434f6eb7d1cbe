"""One unit of work per CLI command: settings, the migrated database, the tenant."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from revline.kernel.config import Settings

tenant_option = Annotated[
    str | None, typer.Option("--tenant", help="Tenant slug (default from config).")
]


@contextmanager
def cli_session(tenant: str | None) -> Iterator[tuple[Session, uuid.UUID, Settings]]:
    """Session committed on success, the tenant's id (created if new) and the settings."""
    from revline.kernel.auth import ensure_tenant
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database

    settings = get_settings()
    with get_database(settings).session() as session:
        tenant_id = ensure_tenant(session, tenant or settings.default_tenant).id
        yield session, tenant_id, settings
