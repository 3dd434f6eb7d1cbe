"""Database: declarative base, engine/session factory and the tenant-scoped repository base."""

from revline.kernel.db.base import Base, TenantMixin, TimestampMixin, UUIDPkMixin, utcnow
from revline.kernel.db.session import Database, get_database, reset_database

__all__ = [
    "Base",
    "Database",
    "TenantMixin",
    "TimestampMixin",
    "UUIDPkMixin",
    "get_database",
    "reset_database",
    "utcnow",
]
