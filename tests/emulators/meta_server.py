"""Local emulator of the Meta Marketing API (Graph API) for ad sets, budgets and insights.

    with serve_meta() as meta:
        meta.add_adset("2385", daily_budget=10_000, learning="SUCCESS", days=[...])
        meta.base_url                         # value for settings.meta_base_url
        meta.fail_next(80004, regain=7)       # the next call fails with a rate-limit error
        meta.usage_pct = 90                   # X-Business-Use-Case-Usage call_count

Checks what the real API checks: the bearer token (error 190), the version prefix, known
fields and parameters (error 100), `daily_budget` as a string of minor units above the
minimum, `status` values, and Meta's limit of 4 budget changes per ad set per hour (error 17).
Every response carries X-Business-Use-Case-Usage for the ad account.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

META_TOKEN = "meta-test-token"
VERSION = "v21.0"
ACCOUNT = "act_1001"
MIN_BUDGET = 100  # minor units; the real floor depends on currency and optimization goal
ADSET_FIELDS = {
    "id", "name", "campaign_id", "account_id", "daily_budget", "effective_status", "status",
    "learning_stage_info", "start_time", "created_time",
}
INSIGHT_FIELDS = {"spend", "impressions", "clicks", "actions", "action_values"}
PRESETS = {"today", "yesterday", "last_7d", "last_30d", "maximum"}


@dataclass
class DayStats:
    """One day of delivery for an ad set (money as decimal strings, like the API)."""

    day: date
    spend: str
    impressions: int = 1000
    clicks: int = 20
    purchases: int = 0
    purchase_value: str = "0"


@dataclass
class AdSet:
    """Server-side state of one ad set."""

    id: str
    name: str
    campaign_id: str
    daily_budget: int
    status: str = "ACTIVE"
    learning: str | None = "SUCCESS"
    start_time: str = "2026-01-01T00:00:00+0000"
    days: list[DayStats] = field(default_factory=list)
    spend_today: str = "0.00"
    budget_edits: list[float] = field(default_factory=list)


@dataclass
class MetaEmulator:
    """Running server state: base URL, ad sets, scripted failures and a request log."""

    base_url: str = ""
    token: str = META_TOKEN
    adsets: dict[str, AdSet] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    usage_pct: int = 5
    regain_minutes: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    page_size: int = 2
    clock: Any = time.time
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_adset(self, adset_id: str, daily_budget: int, **kw: Any) -> AdSet:
        """Create an ad set in the emulated account."""
        row = AdSet(id=adset_id, name=kw.pop("name", f"Ad set {adset_id}"),
                    campaign_id=kw.pop("campaign_id", "c-1"), daily_budget=daily_budget, **kw)
        self.adsets[adset_id] = row
        return row

    def fail_next(self, code: int, *, subcode: int | None = None, regain: int = 0,
                  message: str = "There have been too many calls to this ad-account.",
                  status: int = 400) -> None:
        """Make the next call return a Graph error (a regain time also maxes the usage)."""
        self.failures.append({"code": code, "subcode": subcode, "regain": regain,
                              "message": message, "status": status})

    def writes(self, adset_id: str) -> list[dict[str, str]]:
        """POST bodies received for an ad set."""
        return [p for m, path, p in self.requests if m == "POST" and path.endswith(adset_id)]


def _error(code: int, message: str, subcode: int | None = None,
           kind: str = "OAuthException") -> dict[str, Any]:
    err: dict[str, Any] = {"message": message, "type": kind, "code": code,
                           "fbtrace_id": "AemulatedTrace"}
    if subcode is not None:
        err["error_subcode"] = subcode
    return {"error": err}


def _handler(state: MetaEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            usage = {ACCOUNT.removeprefix("act_"): [{
                "type": "ads_management", "call_count": state.usage_pct,
                "total_cputime": max(1, state.usage_pct // 2), "total_time": state.usage_pct // 2,
                "estimated_time_to_regain_access": state.regain_minutes,
            }]}
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("x-business-use-case-usage", json.dumps(usage))
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _params(self) -> dict[str, str]:
            query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
            if self.command == "POST":
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length).decode()
                query.update({k: v[-1] for k, v in parse_qs(raw).items()})
            return query

        def _authorized(self, params: dict[str, str]) -> bool:
            header = self.headers.get("authorization", "")
            token = header[7:] if header.lower().startswith("bearer ") else params.get(
                "access_token", "")
            return token == state.token

        def _route(self) -> None:
            params = self._params()
            path = urlsplit(self.path).path
            with state.lock:
                state.requests.append((self.command, path, params))
                if not self._authorized(params):
                    self._send(400, _error(190, "Invalid OAuth access token - Cannot parse "
                                                "access token"))
                    return
                if state.failures:
                    fail = state.failures.pop(0)
                    state.regain_minutes = fail["regain"]
                    if fail["regain"]:
                        state.usage_pct = 100
                    self._send(fail["status"], _error(fail["code"], fail["message"],
                                                      fail["subcode"]))
                    return
                prefix = f"/{VERSION}/"
                if not path.startswith(prefix):
                    self._send(400, _error(2500, "Unknown path components",
                                           kind="GraphMethodException"))
                    return
                parts = path[len(prefix):].strip("/").split("/")
                code, body = self._dispatch(parts, params)
                self._send(code, body)

        def _dispatch(self, parts: list[str], params: dict[str, str]) -> tuple[int, dict[str, Any]]:
            if len(parts) == 2 and parts[0] == ACCOUNT and parts[1] == "adsets":
                return self._list(params)
            adset = state.adsets.get(parts[0])
            if adset is None:
                return 400, _error(100, f"Unsupported get request. Object with ID '{parts[0]}' "
                                        "does not exist", 33, "GraphMethodException")
            if len(parts) == 1 and self.command == "GET":
                try:
                    return 200, self._fields(adset, params)
                except ValueError as exc:
                    return 400, _error(100, f"(#100) Tried accessing nonexisting field ({exc})")
            if len(parts) == 1 and self.command == "POST":
                return self._update(adset, params)
            if len(parts) == 2 and parts[1] == "insights" and self.command == "GET":
                return self._insights(adset, params)
            return 400, _error(100, "Unsupported request", kind="GraphMethodException")

        def _fields(self, adset: AdSet, params: dict[str, str]) -> dict[str, Any]:
            wanted = set((params.get("fields") or "id").split(","))
            full: dict[str, Any] = {
                "id": adset.id, "name": adset.name, "campaign_id": adset.campaign_id,
                "account_id": ACCOUNT.removeprefix("act_"),
                "daily_budget": str(adset.daily_budget), "status": adset.status,
                "effective_status": adset.status, "start_time": adset.start_time,
                "created_time": adset.start_time,
            }
            if adset.learning is not None:
                full["learning_stage_info"] = {
                    "status": adset.learning, "conversions": 12,
                    "attribution_windows": ["7d_click", "1d_view"],
                    "last_sig_edit_ts": 1767225600,
                }
            unknown = wanted - ADSET_FIELDS
            if unknown:
                raise ValueError(", ".join(sorted(unknown)))
            return {k: v for k, v in full.items() if k in wanted or k == "id"}

        def _list(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
            try:
                limit = min(int(params.get("limit", "25")), state.page_size)
                rows = [self._fields(a, params) for a in state.adsets.values()]
            except ValueError as exc:
                return 400, _error(100, f"(#100) Tried accessing nonexisting field ({exc})")
            start = int(params.get("after") or 0)
            page = rows[start:start + limit]
            body: dict[str, Any] = {"data": page, "paging": {"cursors": {
                "before": str(start), "after": str(start + len(page))}}}
            if start + limit < len(rows):
                body["paging"]["next"] = (f"{state.base_url}/{VERSION}/{ACCOUNT}/adsets?"
                                          f"fields={params.get('fields', 'id')}&limit={limit}"
                                          f"&after={start + limit}")
            return 200, body

        def _update(self, adset: AdSet, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
            allowed = {"daily_budget", "status", "access_token"}
            unknown = set(params) - allowed
            if unknown:
                return 400, _error(100, f"(#100) Invalid parameter: {sorted(unknown)[0]}")
            if "status" in params and params["status"] not in ("ACTIVE", "PAUSED"):
                return 400, _error(100, "(#100) Param status must be one of {ACTIVE, PAUSED}")
            if "daily_budget" in params:
                raw = params["daily_budget"]
                if not raw.isdigit():
                    return 400, _error(100, "(#100) Param daily_budget must be an integer "
                                            "amount in the account currency's minor unit")
                if int(raw) < MIN_BUDGET:
                    return 400, _error(100, "Invalid parameter: your budget is too low", 1885272)
                now = state.clock()
                recent = [t for t in adset.budget_edits if t > now - 3600]
                if len(recent) >= 4:
                    return 400, _error(17, "User request limit reached", 2446079)
                adset.budget_edits = [*recent, now]
                adset.daily_budget = int(raw)
            if "status" in params:
                adset.status = params["status"]
            return 200, {"success": True}

        def _insights(self, adset: AdSet, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
            fields = set((params.get("fields") or "spend").split(","))
            if fields - INSIGHT_FIELDS:
                return 400, _error(100, f"(#100) {sorted(fields - INSIGHT_FIELDS)[0]} is not "
                                        "a valid field name")
            preset = params.get("date_preset", "last_30d")
            if preset not in PRESETS:
                return 400, _error(100, f"(#100) date_preset must be one of {sorted(PRESETS)}")
            today = datetime.now(UTC).date()
            if preset == "today":
                rows = [DayStats(today, adset.spend_today)]
            else:
                span = {"yesterday": 1, "last_7d": 7, "last_30d": 30}.get(preset, 10_000)
                rows = [d for d in adset.days if today - timedelta(days=span) <= d.day < today]
            data = [self._row(adset, d, fields) for d in rows]
            if params.get("time_increment") != "1" and preset != "today" and data:
                spend = sum(float(d.spend) for d in rows)
                data = [{"spend": f"{spend:.2f}", "date_start": str(rows[0].day),
                         "date_stop": str(rows[-1].day)}]
            return 200, {"data": data, "paging": {"cursors": {"before": "0", "after": "0"}}}

        @staticmethod
        def _row(adset: AdSet, d: DayStats, fields: set[str]) -> dict[str, Any]:
            row: dict[str, Any] = {"adset_id": adset.id, "date_start": str(d.day),
                                   "date_stop": str(d.day)}
            if "spend" in fields:
                row["spend"] = d.spend
            if "impressions" in fields:
                row["impressions"] = str(d.impressions)
            if "clicks" in fields:
                row["clicks"] = str(d.clicks)
            if "actions" in fields and d.purchases:
                row["actions"] = [
                    {"action_type": "link_click", "value": str(d.clicks)},
                    {"action_type": "purchase", "value": str(d.purchases)},
                    {"action_type": "omni_purchase", "value": str(d.purchases)},
                ]
            if "action_values" in fields and d.purchases:
                row["action_values"] = [
                    {"action_type": "purchase", "value": d.purchase_value},
                    {"action_type": "omni_purchase", "value": d.purchase_value},
                ]
            return row

        def do_GET(self) -> None:
            self._route()

        def do_POST(self) -> None:
            self._route()

    return Handler


@contextmanager
def serve_meta(host: str = "127.0.0.1") -> Iterator[MetaEmulator]:
    """Run the emulator on an ephemeral port for the duration of the block."""
    state = MetaEmulator()
    server = ThreadingHTTPServer((host, 0), _handler(state))
    state.base_url = f"http://{host}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
