"""Repository base: every query a domain runs is scoped to one tenant."""

from __future__ import annotations

import uuid
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from revline.kernel.db.base import Base
from revline.kernel.errors import NotFound

M = TypeVar("M", bound=Base)


class TenantRepository(Generic[M]):
    """CRUD for one model, always filtered by tenant_id, so cross-tenant reads cannot happen."""

    model: type[M]

    def __init__(self, session: Session, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    def query(self) -> Select[M]:
        """Base SELECT with the tenant filter applied."""
        return select(self.model).where(self.model.tenant_id == self.tenant_id)  # type: ignore[attr-defined]

    def get(self, id_: uuid.UUID) -> M:
        """Row by id within the tenant, else NotFound."""
        row = self.session.scalars(self.query().where(self.model.id == id_)).first()  # type: ignore[attr-defined]
        if row is None:
            raise NotFound(f"{self.model.__name__} {id_} not found")
        return row

    def add(self, **values: Any) -> M:
        """Create a row owned by this tenant."""
        row = self.model(tenant_id=self.tenant_id, **values)
        self.session.add(row)
        self.session.flush()
        return row

    def list(self, limit: int = 100, offset: int = 0) -> list[M]:
        """Newest-first page of rows."""
        stmt = self.query().order_by(self.model.created_at.desc()).limit(limit).offset(offset)  # type: ignore[attr-defined]
        return list(self.session.scalars(stmt))
