"""Meta Marketing API (Graph API) adapter: ad sets, budgets, learning stage, insights, usage.

Shapes follow the Graph API: `daily_budget` is a string of minor units of the account
currency; `learning_stage_info` is {status: LEARNING|SUCCESS|FAIL, conversions, ...};
insights rows carry `spend` as a decimal string and purchases in `actions`/`action_values`.
Errors come back as {"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}};
codes 4, 17, 32, 613 and 80000-80014 are rate limits. Every response may carry
`X-Business-Use-Case-Usage`: {"<business id>": [{"type", "call_count", "total_cputime",
"total_time", "estimated_time_to_regain_access"}]} (percentages, minutes).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import httpx

from revline.ads.adapters.base import PlatformError, PlatformResult, PlatformState, Usage
from revline.ads.money import to_minor
from revline.kernel.http import classify_exception

RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
ADSET_FIELDS = (
    "id,name,campaign_id,account_id,daily_budget,effective_status,status,"
    "learning_stage_info,start_time,created_time"
)
INSIGHT_FIELDS = "spend,impressions,clicks,actions,action_values"
# Meta reports one purchase under several action types; count the broadest one present once.
PURCHASE_TYPES = ("omni_purchase", "purchase", "offsite_conversion.fb_pixel_purchase")
TOKEN_ERROR = 190


def parse_usage(headers: httpx.Headers | dict[str, str]) -> Usage | None:
    """Highest BUC usage percentage (or X-Ad-Account-Usage) and the wait before access returns."""
    raw = headers.get("x-business-use-case-usage")
    if raw:
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if isinstance(data, dict):
            pct, regain = 0, 0
            for entries in data.values():
                for entry in entries if isinstance(entries, list) else []:
                    if not isinstance(entry, dict):
                        continue
                    for key in ("call_count", "total_cputime", "total_time"):
                        pct = max(pct, int(entry.get(key) or 0))
                    regain = max(regain, int(entry.get("estimated_time_to_regain_access") or 0))
            return Usage(pct=pct, regain_minutes=regain, raw=data)
    raw = headers.get("x-ad-account-usage")
    if raw:
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        if isinstance(data, dict):
            reset_s = int(data.get("reset_time_duration") or 0)
            return Usage(pct=int(float(data.get("acc_id_util_pct") or 0)),
                         regain_minutes=(reset_s + 59) // 60, raw=data)
    return None


def purchases(row: dict[str, Any], key: str) -> str | None:
    """The purchase figure of an insights row from `actions` or `action_values`."""
    found = {a.get("action_type"): a.get("value") for a in row.get(key) or []
             if isinstance(a, dict)}
    for kind in PURCHASE_TYPES:
        if found.get(kind) is not None:
            return str(found[kind])
    return None


def insight_metrics(row: dict[str, Any], currency: str) -> dict[str, Any]:
    """One insights row as minor-unit metrics keyed like ad_metrics_daily."""
    conversions = purchases(row, "actions")
    revenue = purchases(row, "action_values")
    return {
        "day": date.fromisoformat(str(row.get("date_start"))),
        "spend_minor": to_minor(row.get("spend") or "0", currency),
        "revenue_minor": to_minor(revenue, currency) if revenue else 0,
        "impressions": int(row.get("impressions") or 0),
        "clicks": int(row.get("clicks") or 0),
        "conversions": int(float(conversions)) if conversions else 0,
    }


class MetaAdapter:
    """Graph API client for one access token; implements the executor's AdPlatform."""

    name = "meta"

    def __init__(
        self, client: httpx.AsyncClient, base_url: str, version: str, access_token: str,
        currency: str = "USD",
    ) -> None:
        self.client = client
        self.base = f"{base_url.rstrip('/')}/{version.strip('/')}"
        self.token = access_token
        self.currency = currency
        self.last_usage: Usage | None = None

    async def _call(
        self, method: str, path: str, *, params: dict[str, Any] | None = None,
        data: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """One Graph call; errors become PlatformError, the usage header is kept."""
        url = path if path.startswith("http") else f"{self.base}/{path.lstrip('/')}"
        try:
            response = await self.client.request(
                method, url, params=params, data=data,
                headers={"authorization": f"Bearer {self.token}"},
            )
        except Exception as exc:  # network trouble is retryable; the token never leaks
            kind, detail = classify_exception(exc)
            raise PlatformError(f"Meta API {kind}: {detail}".replace(self.token, "***"),
                                retryable=True) from None
        usage = parse_usage(response.headers)
        if usage is not None:
            self.last_usage = usage
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400 or not isinstance(body, dict) or "error" in body:
            raise self._error(response.status_code, body, usage)
        return body

    def _error(self, status: int, body: Any, usage: Usage | None) -> PlatformError:
        err = body.get("error") if isinstance(body, dict) else None
        if not isinstance(err, dict):
            return PlatformError(f"Meta API HTTP {status} with no error body",
                                 http_status=status, retryable=status >= 500, usage=usage)
        code = err.get("code")
        code = int(code) if isinstance(code, int | str) and str(code).isdigit() else None
        subcode = err.get("error_subcode")
        subcode = int(subcode) if isinstance(subcode, int) else None
        message = str(err.get("message") or "unknown error")[:300]
        if code == TOKEN_ERROR:
            message = "Meta access token is invalid or expired (REVLINE_META_ACCESS_TOKEN)"
        return PlatformError(
            f"Meta API error {code}: {message}", code=code, subcode=subcode, http_status=status,
            rate_limited=code in RATE_LIMIT_CODES, retryable=status >= 500, usage=usage,
        )

    # Reads --------------------------------------------------------------------------------
    async def list_adsets(self, account_id: str) -> list[dict[str, Any]]:
        """Every ad set of the account, following the paging cursors."""
        account = account_id if account_id.startswith("act_") else f"act_{account_id}"
        out: list[dict[str, Any]] = []
        path = f"{account}/adsets"
        params: dict[str, Any] | None = {"fields": ADSET_FIELDS, "limit": 100}
        while True:
            body = await self._call("GET", path, params=params)
            out.extend(row for row in body.get("data") or [] if isinstance(row, dict))
            nxt = (body.get("paging") or {}).get("next")
            if not nxt:
                return out
            path, params = str(nxt), None

    async def get_adset(self, adset_id: str) -> dict[str, Any]:
        """One ad set with budget, status and learning stage."""
        return await self._call("GET", adset_id, params={"fields": ADSET_FIELDS})

    async def insights(
        self, object_id: str, *, date_preset: str = "last_30d", daily: bool = True
    ) -> list[dict[str, Any]]:
        """Insights rows (one per day when `daily`) for an ad set or account."""
        params: dict[str, Any] = {"fields": INSIGHT_FIELDS, "date_preset": date_preset}
        if daily:
            params["time_increment"] = 1
        body = await self._call("GET", f"{object_id}/insights", params=params)
        return [row for row in body.get("data") or [] if isinstance(row, dict)]

    # AdPlatform -----------------------------------------------------------------------------
    async def fetch_state(self, external_id: str, *, spend_today: bool) -> PlatformState:
        """Budget, status and learning stage; today's spend when the caller needs velocity."""
        row = await self.get_adset(external_id)
        spend: int | None = None
        if spend_today:
            today = await self.insights(external_id, date_preset="today", daily=False)
            spend = sum(to_minor(r.get("spend") or "0", self.currency) for r in today)
        learning = row.get("learning_stage_info")
        learning = learning if isinstance(learning, dict) else {}
        return PlatformState(
            daily_budget_minor=int(row.get("daily_budget") or 0),
            status=str(row.get("effective_status") or row.get("status") or "UNKNOWN"),
            learning_status=str(learning["status"]) if learning.get("status") else None,
            learning_info=learning,
            spend_today_minor=spend,
            usage=self.last_usage,
        )

    async def set_daily_budget(self, external_id: str, budget_minor: int) -> PlatformResult:
        """POST the new daily_budget (minor units as a string, as the Graph API expects)."""
        await self._call("POST", external_id, data={"daily_budget": str(int(budget_minor))})
        return PlatformResult(self.last_usage)

    async def pause(self, external_id: str) -> PlatformResult:
        """Set the ad set's status to PAUSED."""
        await self._call("POST", external_id, data={"status": "PAUSED"})
        return PlatformResult(self.last_usage)
