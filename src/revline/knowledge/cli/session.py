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
    from revline.kernel.auth import tenant_session
    from revline.kernel.config import get_settings

    with tenant_session(tenant) as (session, tenant_id):
        yield session, tenant_id, get_settings()
