"""Tenant bootstrap and API-key issue/verify. Never commits; callers own the transaction."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from revline.kernel.auth.models import ApiKey, Tenant
from revline.kernel.auth.principal import KNOWN_SCOPES, Principal
from revline.kernel.db.base import utcnow
from revline.kernel.errors import InvalidInput, Unauthorized

KEY_PREFIX = "rl_"


def hash_api_key(key: str, pepper: str) -> str:
    """HMAC-SHA256 with a server-side pepper: keys are high-entropy, so no slow KDF needed."""
    return hmac.new(pepper.encode(), key.encode(), hashlib.sha256).hexdigest()


def ensure_tenant(session: Session, slug: str, name: str | None = None) -> Tenant:
    """Get or create a tenant by slug; safe under concurrent first starts."""
    tenant = session.scalars(select(Tenant).where(Tenant.slug == slug)).first()
    if tenant is not None:
        return tenant
    try:
        with session.begin_nested():
            tenant = Tenant(slug=slug, name=name or slug)
            session.add(tenant)
    except IntegrityError:
        tenant = session.scalars(select(Tenant).where(Tenant.slug == slug)).one()
    return tenant


def create_api_key(
    session: Session, tenant: Tenant, name: str, scopes: Iterable[str], pepper: str
) -> tuple[ApiKey, str]:
    """Issue a key; returns the row and the plaintext, which is never stored."""
    scope_list = sorted(set(scopes)) or ["*"]
    unknown = [s for s in scope_list if s not in KNOWN_SCOPES and not s.endswith(":*")]
    if unknown:
        known = ", ".join(KNOWN_SCOPES)
        raise InvalidInput(f"unknown scope(s) {', '.join(unknown)}; known: {known}")
    prefix = secrets.token_hex(6)
    plaintext = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        tenant_id=tenant.id,
        name=name,
        prefix=prefix,
        key_hash=hash_api_key(plaintext, pepper),
        scopes=scope_list,
    )
    session.add(row)
    session.flush()
    return row, plaintext


def resolve_api_key(session: Session, plaintext: str, pepper: str) -> Principal:
    """Verify a presented key in constant time and return its principal."""
    parts = plaintext.split("_")
    if len(parts) < 3 or not plaintext.startswith(KEY_PREFIX):
        raise Unauthorized("malformed API key; expected 'rl_<prefix>_<secret>'")
    prefix = parts[1]
    row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    expected = hash_api_key(plaintext, pepper)
    if row is None or not hmac.compare_digest(row.key_hash, expected):
        raise Unauthorized("invalid API key")
    if row.revoked_at is not None:
        raise Unauthorized("API key has been revoked")
    tenant = session.get(Tenant, row.tenant_id)
    if tenant is None:
        raise Unauthorized("API key's tenant no longer exists")
    row.last_used_at = utcnow()
    return Principal(
        tenant_id=tenant.id, tenant_slug=tenant.slug, scopes=frozenset(row.scopes), key_id=row.id
    )
