"""The authenticated caller: a tenant plus the scopes its key grants."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from revline.kernel.errors import Forbidden

KNOWN_SCOPES = (
    "*",
    "admin",
    "leads:read",
    "leads:write",
    "kb:read",
    "kb:write",
    "llm:read",
    "llm:write",
    "experiments:read",
    "experiments:write",
    "ads:read",
    "ads:write",
    "workflows:read",
    "workflows:write",
)


@dataclass(frozen=True)
class Principal:
    """Who is calling; passed to services so they scope every query to the tenant."""

    tenant_id: uuid.UUID
    tenant_slug: str
    scopes: frozenset[str] = field(default_factory=lambda: frozenset({"*"}))
    key_id: uuid.UUID | None = None

    def has(self, scope: str) -> bool:
        """Wildcard, exact, or `domain:*` grants."""
        domain = scope.split(":", 1)[0]
        return "*" in self.scopes or scope in self.scopes or f"{domain}:*" in self.scopes

    def require(self, scope: str) -> None:
        """Raise Forbidden unless the scope is granted."""
        if not self.has(scope):
            raise Forbidden(f"API key lacks scope {scope!r}; create a key with --scope {scope}")
