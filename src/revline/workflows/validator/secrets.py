"""Secret detection: literal credentials must never sit in a DSL (use secret env variables)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Keys whose string value is a credential unless it only references a variable.
SECRET_KEYS = frozenset({
    "api_key", "apikey", "api_secret", "secret", "secret_key", "client_secret", "password",
    "passwd", "token", "access_token", "refresh_token", "auth_token", "bearer_token",
    "access_key", "access_key_id", "secret_access_key", "private_key", "authorization",
    "credential", "credentials",
})
# Well-known credential shapes, wherever they appear (prompts, code, URLs, headers); each with
# substrings one of which must be present, so most strings skip the regex entirely.
SECRET_PATTERNS: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    ("an OpenAI/Anthropic-style API key", ("sk-",),
     re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{20,}")),
    ("an AWS access key id", ("AKIA", "ASIA"), re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a GitHub token", ("gh",), re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b")),
    ("a Slack token", ("xox",), re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("a Google API key", ("AIza",), re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
    ("a private key block", ("PRIVATE KEY",), re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("a bearer token", ("Bearer",), re.compile(r"\bBearer\s+[A-Za-z0-9._\-]{24,}")),
    ("a JSON web token", ("eyJ",),
     re.compile(r"\beyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}")),
    ("credentials in a URL", ("://",), re.compile(r"\b[a-z][a-z0-9+.\-]*://[^/\s:@]+:[^/\s@]+@")),
)
# One scan per string for any hint; the specific patterns only run on a hit.
_ANY_HINT = re.compile("|".join(re.escape(h) for _, hints, _ in SECRET_PATTERNS for h in hints))
_ONLY_REFERENCES = re.compile(r"^(?:\s*(?:\{\{#[^#{}]+#\}\}|Bearer|Basic|Token)\s*)+$")


@dataclass(frozen=True, slots=True)
class SecretFinding:
    """A literal secret at a DSL path, and what it looks like."""

    path: str
    reason: str


def _key_secret(key: str, value: str) -> bool:
    return key.lower() in SECRET_KEYS and bool(value.strip()) \
        and not _ONLY_REFERENCES.match(value)


def find_secrets(doc: Any) -> Iterator[SecretFinding]:
    """Walk a DSL document and yield every literal secret (secret env values included)."""
    stack: list[tuple[str, Any]] = [("", doc)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            if value.get("value_type") == "secret" and value.get("value") not in (None, ""):
                yield SecretFinding(f"{path}.value",
                                    f"secret variable {value.get('name')!r} has a value")
            for key, item in reversed(value.items()):
                sub = f"{path}.{key}" if path else str(key)
                if isinstance(item, str) and _key_secret(str(key), item):
                    yield SecretFinding(sub, f"{key!r} holds a literal credential")
                else:
                    stack.append((sub, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in reversed(list(enumerate(value))))
        elif isinstance(value, str) and _ANY_HINT.search(value):
            for reason, hints, pattern in SECRET_PATTERNS:
                if any(h in value for h in hints) and pattern.search(value):
                    yield SecretFinding(path, f"text contains {reason}")
                    break
