"""Shared plumbing for vendor adapters: one GET that never raises and never leaks the key."""

from __future__ import annotations

from typing import Any

import httpx

from revline.kernel.http import classify_exception

AdapterResult = dict[str, Any]

API_TIMEOUT_S = 60.0


def error_result(message: str, secret: str, **extra: Any) -> AdapterResult:
    """A failure dict; the API key is scrubbed because these dicts end up in exports."""
    text = message.replace(secret, "***") if secret else message
    return {"status": "error", "error": text[:300], **extra}


async def api_get(
    client: httpx.AsyncClient,
    url: str,
    *,
    params: dict[str, Any] | list[tuple[str, Any]],
    secret: str,
    headers: dict[str, str] | None = None,
    timeout_s: float = API_TIMEOUT_S,
) -> httpx.Response | AdapterResult:
    """GET an API endpoint: the response, or an error dict for network failures."""
    try:
        return await client.get(
            url, params=params, headers=headers, timeout=httpx.Timeout(timeout_s, connect=10.0)
        )
    except Exception as exc:  # adapters degrade to an error entry, never abort enrichment
        kind, detail = classify_exception(exc)
        return error_result(f"{kind}: {detail}", secret)


def json_body(response: httpx.Response) -> Any:
    """Parsed JSON body, or None when the body is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None
