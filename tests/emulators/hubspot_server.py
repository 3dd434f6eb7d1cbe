"""Local emulator of HubSpot's CRM v3 API (deals, deal pipelines, contacts) and webhook signing.

    with serve_hubspot() as hs:
        hs.add_deal("501", stage="appointmentscheduled", amount="4500", contact="9001")
        hs.add_contact("9001", email="Pat@Example.com")
        hs.base_url                        # value for settings.hubspot_base_url
        body, headers = signed_webhook(url, [event, ...])   # a delivery as HubSpot signs it

Checks the bearer token (401 INVALID_AUTHENTICATION), `limit` <= 100 (400 VALIDATION_ERROR),
batch-read bodies, and returns 404 OBJECT_NOT_FOUND for unknown deals. The signing helper is
written from HubSpot's documentation, independently of Revline's verifier.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

HUBSPOT_TOKEN = "pat-na1-test-token"
HUBSPOT_SECRET = "hs-client-secret-for-tests"
CLICK_PROPERTY = "revline_click_id"


def default_pipeline() -> dict[str, Any]:
    """HubSpot's default sales pipeline with its stock stage probabilities."""
    stages = [
        ("appointmentscheduled", "Appointment Scheduled", "0.2", "false"),
        ("qualifiedtobuy", "Qualified To Buy", "0.4", "false"),
        ("presentationscheduled", "Presentation Scheduled", "0.6", "false"),
        ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", "false"),
        ("contractsent", "Contract Sent", "0.9", "false"),
        ("closedwon", "Closed Won", "1.0", "true"),
        ("closedlost", "Closed Lost", "0.0", "true"),
    ]
    return {
        "id": "default", "label": "Sales Pipeline", "displayOrder": 0, "archived": False,
        "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z",
        "stages": [
            {"id": sid, "label": label, "displayOrder": i, "archived": False,
             "metadata": {"probability": prob, "isClosed": closed},
             "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"}
            for i, (sid, label, prob, closed) in enumerate(stages)
        ],
    }


@dataclass
class HubSpotEmulator:
    """Running server state."""

    base_url: str = ""
    token: str = HUBSPOT_TOKEN
    pipelines: list[dict[str, Any]] = field(default_factory=lambda: [default_pipeline()])
    deals: dict[str, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    associations: dict[str, list[str]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_deal(self, deal_id: str, *, stage: str, amount: str | None = None,
                 contact: str | None = None, click_id: str | None = None,
                 created: str = "2026-11-20T10:00:00.000Z", pipeline: str = "default") -> None:
        """Create or replace a deal."""
        props: dict[str, Any] = {
            "dealname": f"Deal {deal_id}", "dealstage": stage, "pipeline": pipeline,
            "amount": amount, "createdate": created, "hs_object_id": deal_id,
            "hs_lastmodifieddate": created, CLICK_PROPERTY: click_id,
        }
        self.deals[deal_id] = {"id": deal_id, "properties": props, "createdAt": created,
                               "updatedAt": created, "archived": False}
        if contact:
            self.associations[deal_id] = [contact]

    def add_contact(self, contact_id: str, *, email: str = "", phone: str = "") -> None:
        """Create or replace a contact."""
        self.contacts[contact_id] = {"id": contact_id, "properties": {
            "email": email or None, "phone": phone or None, "hs_object_id": contact_id}}


def _error(category: str, message: str) -> dict[str, Any]:
    return {"status": "error", "message": message, "correlationId": "emulated",
            "category": category}


def _handler(state: HubSpotEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("content-type", "application/json;charset=utf-8")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _deal_view(self, deal: dict[str, Any], props: list[str], assoc: bool) -> dict[str, Any]:
            view = {k: v for k, v in deal.items() if k != "properties"}
            view["properties"] = {k: deal["properties"].get(k) for k in props} | {
                "hs_object_id": deal["id"]}
            if assoc and state.associations.get(deal["id"]):
                view["associations"] = {"contacts": {"results": [
                    {"id": c, "type": "deal_to_contact"} for c in state.associations[deal["id"]]
                ]}}
            return view

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            with state.lock:
                state.requests.append((self.command, parts.path))
                if self.headers.get("authorization") != f"Bearer {state.token}":
                    self._send(401, _error("INVALID_AUTHENTICATION", "Authentication "
                               "credentials not found. This API supports OAuth 2.0 "
                               "authentication."))
                    return
                code, body = self._route(parts.path, query)
            self._send(code, body)

        def _route(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
            props = [p for p in query.get("properties", "").split(",") if p]
            assoc = "contacts" in query.get("associations", "")
            if path == "/crm/v3/pipelines/deals" and self.command == "GET":
                return 200, {"results": state.pipelines}
            if path == "/crm/v3/objects/deals" and self.command == "GET":
                limit = int(query.get("limit", "10"))
                if limit > 100:
                    return 400, _error("VALIDATION_ERROR", "limit must be <= 100")
                start = int(query.get("after") or 0)
                ids = sorted(state.deals, key=int)
                page = ids[start:start + limit]
                body: dict[str, Any] = {"results": [
                    self._deal_view(state.deals[i], props, assoc) for i in page]}
                if start + limit < len(ids):
                    body["paging"] = {"next": {"after": str(start + limit), "link": "emulated"}}
                return 200, body
            if path.startswith("/crm/v3/objects/deals/") and self.command == "GET":
                deal = state.deals.get(path.rsplit("/", 1)[-1])
                if deal is None:
                    return 404, _error("OBJECT_NOT_FOUND",
                                       "Object not found. objectId are usually numeric.")
                return 200, self._deal_view(deal, props, assoc)
            if path == "/crm/v3/objects/contacts/batch/read" and self.command == "POST":
                length = int(self.headers.get("content-length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    return 400, _error("VALIDATION_ERROR", "Invalid input JSON")
                inputs = body.get("inputs")
                if not isinstance(inputs, list) or len(inputs) > 100 or not all(
                        isinstance(i, dict) and "id" in i for i in inputs):
                    return 400, _error("VALIDATION_ERROR", "inputs must be 1-100 {id} objects")
                wanted = body.get("properties") or []
                results = [
                    {"id": c["id"], "properties": {k: c["properties"].get(k) for k in wanted},
                     "archived": False}
                    for i in inputs if (c := state.contacts.get(str(i["id"]))) is not None
                ]
                return 200, {"status": "COMPLETE", "results": results,
                             "startedAt": "2026-11-23T00:00:00Z",
                             "completedAt": "2026-11-23T00:00:01Z"}
            return 404, _error("OBJECT_NOT_FOUND", f"no route for {self.command} {path}")

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

    return Handler


def signed_webhook(
    url: str, events: list[dict[str, Any]], *, secret: str = HUBSPOT_SECRET,
    timestamp_ms: int | None = None,
) -> tuple[bytes, dict[str, str]]:
    """Body and headers of a webhook delivery signed as HubSpot's v3 documentation describes."""
    body = json.dumps(events, separators=(",", ":")).encode()
    ts = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    source = ("POST" + url).encode() + body + ts.encode()
    signature = base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest())
    return body, {"X-HubSpot-Signature-v3": signature.decode(),
                  "X-HubSpot-Request-Timestamp": ts, "content-type": "application/json"}


def deal_event(deal_id: int, kind: str = "deal.propertyChange", *, event_id: int = 1,
               prop: str | None = "dealstage", value: str | None = None) -> dict[str, Any]:
    """One webhook event in HubSpot's shape."""
    event: dict[str, Any] = {
        "eventId": event_id, "subscriptionId": 25, "portalId": 33, "appId": 1160452,
        "occurredAt": int(time.time() * 1000), "subscriptionType": kind, "attemptNumber": 0,
        "objectId": deal_id, "changeSource": "CRM",
    }
    if kind == "deal.propertyChange":
        event["propertyName"], event["propertyValue"] = prop, value
    return event


@contextmanager
def serve_hubspot(host: str = "127.0.0.1") -> Iterator[HubSpotEmulator]:
    """Run the emulator on an ephemeral port for the duration of the block."""
    state = HubSpotEmulator()
    server = ThreadingHTTPServer((host, 0), _handler(state))
    state.base_url = f"http://{host}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
