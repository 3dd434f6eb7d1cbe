"""HubSpot CRM adapter: deals and pipelines (CRM v3 objects API) and webhook v3 signatures.

- `GET /crm/v3/objects/deals?limit=100&after=&properties=...&associations=contacts` returns
  {"results": [{"id", "properties": {...}, "associations": {"contacts": {"results": [{"id"}]}},
  "createdAt", "updatedAt", "archived"}], "paging": {"next": {"after", "link"}}}.
- `GET /crm/v3/pipelines/deals` returns {"results": [{"id", "label", "stages": [{"id",
  "label", "displayOrder", "metadata": {"isClosed": "false", "probability": "0.2"}}]}]}.
- `POST /crm/v3/objects/contacts/batch/read` {"properties": [...], "inputs": [{"id"}]}.
- Webhooks POST a JSON array of events ({"eventId", "subscriptionId", "portalId", "appId",
  "occurredAt", "subscriptionType": "deal.propertyChange", "attemptNumber", "objectId",
  "propertyName", "propertyValue", "changeSource"}) signed with X-HubSpot-Signature-v3 =
  base64(HMAC-SHA256(client secret, method + uri + body + X-HubSpot-Request-Timestamp)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from revline.ads.adapters.base import parse_time
from revline.kernel.errors import InvalidInput, Unauthorized
from revline.kernel.http import classify_exception

DEAL_PROPERTIES = (
    "dealname", "amount", "dealstage", "pipeline", "createdate", "closedate",
    "deal_currency_code", "hs_lastmodifieddate",
)
CONTACT_PROPERTIES = ("email", "phone", "mobilephone")
PAGE_SIZE = 100
# HubSpot signs the URI with these characters decoded (documented list for signature v3).
_URI_DECODE = {
    "%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$", "%27": "'",
    "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";",
}
DEAL_EVENTS = ("deal.creation", "deal.propertyChange", "deal.deletion", "deal.restore")


class HubSpotError(Exception):
    """A HubSpot API call failed; the message never contains the token."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class PipelineStage:
    """One deal stage with HubSpot's pipeline metadata."""

    pipeline_id: str
    pipeline_label: str
    stage_id: str
    label: str
    probability: float | None
    is_closed: bool
    display_order: int


@dataclass(frozen=True)
class HubSpotDeal:
    """A deal reduced to what revenue and attribution need."""

    external_id: str
    name: str
    pipeline_id: str
    stage_id: str
    amount: str | None
    currency: str | None
    created_at: datetime | None
    click_ref: str | None
    contact_ids: tuple[str, ...]
    archived: bool
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookEvent:
    """One event of a webhook delivery."""

    event_id: int
    subscription_type: str
    object_id: int
    occurred_at: int
    property_name: str | None = None
    property_value: str | None = None


def _bool(value: Any) -> bool:
    return str(value).strip().lower() == "true"


def _float(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def parse_pipelines(body: dict[str, Any]) -> list[PipelineStage]:
    """Stages of every pipeline in a /crm/v3/pipelines/deals response."""
    out: list[PipelineStage] = []
    for pipeline in body.get("results") or []:
        if not isinstance(pipeline, dict):
            continue
        for stage in pipeline.get("stages") or []:
            meta = stage.get("metadata") or {}
            out.append(PipelineStage(
                pipeline_id=str(pipeline.get("id")),
                pipeline_label=str(pipeline.get("label") or ""),
                stage_id=str(stage.get("id")),
                label=str(stage.get("label") or ""),
                probability=_float(meta.get("probability")),
                is_closed=_bool(meta.get("isClosed")),
                display_order=int(stage.get("displayOrder") or 0),
            ))
    return out


def parse_deal(row: dict[str, Any], click_property: str) -> HubSpotDeal:
    """One CRM v3 deal object."""
    props = row.get("properties") or {}
    assoc = ((row.get("associations") or {}).get("contacts") or {}).get("results") or []
    return HubSpotDeal(
        external_id=str(row.get("id")),
        name=str(props.get("dealname") or ""),
        pipeline_id=str(props.get("pipeline") or "default"),
        stage_id=str(props.get("dealstage") or ""),
        amount=str(props["amount"]) if props.get("amount") not in (None, "") else None,
        currency=props.get("deal_currency_code") or None,
        created_at=parse_time(props.get("createdate") or row.get("createdAt")),
        click_ref=props.get(click_property) or None,
        contact_ids=tuple(str(a.get("id")) for a in assoc if isinstance(a, dict)),
        archived=bool(row.get("archived")),
        properties={k: v for k, v in props.items() if v is not None},
    )


def signature_uri(uri: str) -> str:
    """The request URI as HubSpot signs it (some percent-escapes decoded)."""
    for escaped, char in _URI_DECODE.items():
        uri = uri.replace(escaped, char).replace(escaped.lower(), char)
    return uri


def sign_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """X-HubSpot-Signature-v3 for a request."""
    message = f"{method.upper()}{signature_uri(uri)}".encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_v3(
    secret: str, method: str, uri: str, body: bytes, timestamp: str | None,
    signature: str | None, now: datetime, max_age_s: int,
) -> None:
    """Raise Unauthorized unless the signature matches and the timestamp is fresh."""
    if not signature or not timestamp:
        raise Unauthorized("missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp header")
    if not timestamp.isdigit():
        raise Unauthorized("X-HubSpot-Request-Timestamp must be epoch milliseconds")
    age_s = now.timestamp() - int(timestamp) / 1000.0
    if abs(age_s) > max_age_s:
        raise Unauthorized(f"webhook timestamp is {age_s:.0f}s old (limit {max_age_s}s)")
    expected = sign_v3(secret, method, uri, body, timestamp)
    if not hmac.compare_digest(expected, signature.strip()):
        raise Unauthorized("webhook signature does not match (check REVLINE_HUBSPOT_CLIENT_SECRET)")


def parse_webhook(body: bytes) -> list[WebhookEvent]:
    """A webhook body as events, or InvalidInput saying what is wrong with it."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise InvalidInput(f"webhook body is not JSON: {exc}") from exc
    if not isinstance(data, list) or not data:
        raise InvalidInput("webhook body must be a non-empty JSON array of events")
    events: list[WebhookEvent] = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise InvalidInput(f"event {i}: must be an object")
        for key in ("eventId", "subscriptionType", "objectId", "occurredAt"):
            if key not in item:
                raise InvalidInput(f"event {i}: missing {key}")
        for key in ("eventId", "objectId", "occurredAt"):
            if not isinstance(item[key], int) or isinstance(item[key], bool):
                raise InvalidInput(f"event {i}: {key} must be an integer")
        if not isinstance(item["subscriptionType"], str):
            raise InvalidInput(f"event {i}: subscriptionType must be a string")
        value = item.get("propertyValue")
        events.append(WebhookEvent(
            event_id=item["eventId"], subscription_type=item["subscriptionType"],
            object_id=item["objectId"], occurred_at=item["occurredAt"],
            property_name=item.get("propertyName") if isinstance(item.get("propertyName"), str)
            else None,
            property_value=None if value is None else str(value),
        ))
    return events


class HubSpotAdapter:
    """CRM v3 client with a private-app (or OAuth) bearer token."""

    def __init__(
        self, client: httpx.AsyncClient, base_url: str, access_token: str, click_property: str
    ) -> None:
        self.client = client
        self.base = base_url.rstrip("/")
        self.token = access_token
        self.click_property = click_property

    async def _call(
        self, method: str, path: str, *, params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None, allow_404: bool = False,
    ) -> dict[str, Any] | None:
        try:
            response = await self.client.request(
                method, f"{self.base}{path}", params=params, json=json_body,
                headers={"authorization": f"Bearer {self.token}", "accept": "application/json"},
            )
        except Exception as exc:
            kind, detail = classify_exception(exc)
            raise HubSpotError(f"HubSpot {kind}: {detail}".replace(self.token, "***")) from None
        if allow_404 and response.status_code == 404:
            return None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400 or not isinstance(body, dict):
            message = body.get("message") if isinstance(body, dict) else None
            if response.status_code == 401:
                message = "HubSpot rejected the access token (REVLINE_HUBSPOT_ACCESS_TOKEN)"
            raise HubSpotError(
                f"HubSpot HTTP {response.status_code}: {message or 'no error body'}",
                response.status_code,
            )
        return body

    def _deal_params(self) -> dict[str, Any]:
        return {
            "properties": ",".join((*DEAL_PROPERTIES, self.click_property)),
            "associations": "contacts",
        }

    async def pipelines(self) -> list[PipelineStage]:
        """Every deal pipeline's stages with probability and closed flags."""
        body = await self._call("GET", "/crm/v3/pipelines/deals")
        return parse_pipelines(body or {})

    async def deals(self) -> list[HubSpotDeal]:
        """All deals, 100 per page, with their associated contact ids."""
        out: list[HubSpotDeal] = []
        after: str | None = None
        while True:
            params = {**self._deal_params(), "limit": PAGE_SIZE}
            if after:
                params["after"] = after
            body = await self._call("GET", "/crm/v3/objects/deals", params=params) or {}
            out.extend(parse_deal(r, self.click_property) for r in body.get("results") or []
                       if isinstance(r, dict))
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return out

    async def deal(self, deal_id: str) -> HubSpotDeal | None:
        """One deal, or None when HubSpot no longer has it."""
        body = await self._call(
            "GET", f"/crm/v3/objects/deals/{deal_id}", params=self._deal_params(), allow_404=True
        )
        return parse_deal(body, self.click_property) if body is not None else None

    async def contacts(self, ids: list[str]) -> dict[str, dict[str, str]]:
        """Email and phone of contacts by id (batch read, 100 at a time)."""
        out: dict[str, dict[str, str]] = {}
        unique = sorted(set(ids))
        for start in range(0, len(unique), PAGE_SIZE):
            chunk = unique[start:start + PAGE_SIZE]
            body = await self._call(
                "POST", "/crm/v3/objects/contacts/batch/read",
                json_body={"properties": list(CONTACT_PROPERTIES),
                           "inputs": [{"id": i} for i in chunk]},
            ) or {}
            for row in body.get("results") or []:
                props = row.get("properties") or {}
                out[str(row.get("id"))] = {
                    "email": props.get("email") or "",
                    "phone": props.get("phone") or props.get("mobilephone") or "",
                }
        return out
