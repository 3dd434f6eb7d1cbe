"""The unit of work a CLI command opens for a tenant.

Every command that acts for `--tenant SLUG` (or the configured default) needs the same three
steps: the settings, a session that commits on success, and the tenant, created on first use.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from revline.kernel.auth.service import ensure_tenant


@contextmanager
def tenant_session(slug: str | None) -> Iterator[tuple[Session, uuid.UUID]]:
    """A session committed on success and the id of tenant `slug` (default from config)."""
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database

    settings = get_settings()
    with get_database(settings).session() as session:
        yield session, ensure_tenant(session, slug or settings.default_tenant).id
