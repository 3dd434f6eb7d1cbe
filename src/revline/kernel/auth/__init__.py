"""Tenants, hashed API keys, the request principal and scopes."""

from revline.kernel.auth.models import ApiKey, Tenant
from revline.kernel.auth.principal import Principal
from revline.kernel.auth.service import (
    create_api_key,
    ensure_tenant,
    hash_api_key,
    resolve_api_key,
)
from revline.kernel.auth.unit import tenant_session

__all__ = [
    "ApiKey",
    "Principal",
    "Tenant",
    "create_api_key",
    "ensure_tenant",
    "hash_api_key",
    "resolve_api_key",
    "tenant_session",
]
