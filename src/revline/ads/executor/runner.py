"""The safe executor: claim due changes, read live state, run the guards, apply, audit.

Each change goes: claim (short transaction) -> platform read -> guards -> lease renewal ->
platform write -> finish (short transaction). No database lock is held while the platform is
called, and every attempt, whatever its outcome, adds one row to ad_change_history.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from revline.ads.adapters.base import (
    AdPlatform,
    PlatformError,
    PlatformResult,
    PlatformState,
    Usage,
)
from revline.ads.adapters.meta import MetaAdapter
from revline.ads.executor import guards
from revline.ads.executor import queue as q
from revline.ads.models import (
    CHANGE_APPLIED,
    CHANGE_EXPIRED,
    CHANGE_FAILED,
    CHANGE_NOOP,
    Ad,
    AdAccount,
    AdChangeHistory,
    PendingAdChange,
)
from revline.ads.repository import AdRepository, ConfigRepository, HistoryRepository
from revline.ads.schemas import AdsRules
from revline.kernel.config import Settings
from revline.kernel.db import Database
from revline.kernel.db.base import utcnow
from revline.kernel.http import make_client

PlatformFactory = Callable[[str, str, httpx.AsyncClient], AdPlatform | None]


class LocalPlatform:
    """Platform for ads Revline manages by hand: the budget lives only in our database."""

    name = "manual"

    def __init__(self, state: PlatformState) -> None:
        self.state = state

    async def fetch_state(self, external_id: str, *, spend_today: bool) -> PlatformState:  # noqa: ARG002
        """The stored state."""
        return self.state

    async def set_daily_budget(self, external_id: str, budget_minor: int) -> PlatformResult:  # noqa: ARG002
        """Nothing to call; the executor records the new budget."""
        return PlatformResult()

    async def pause(self, external_id: str) -> PlatformResult:  # noqa: ARG002
        """Nothing to call; the executor records the pause."""
        return PlatformResult()


def settings_platforms(settings: Settings) -> PlatformFactory:
    """Adapters from configuration: Meta when REVLINE_META_ACCESS_TOKEN is set."""

    def factory(platform: str, currency: str, client: httpx.AsyncClient) -> AdPlatform | None:
        if platform == "meta" and settings.meta_access_token is not None:
            return MetaAdapter(client, settings.meta_base_url, settings.meta_api_version,
                               settings.meta_access_token.get_secret_value(), currency)
        return None

    return factory


@dataclass
class _Work:
    """Plain copies of what one change needs, read in the claim's first transaction."""

    change_id: uuid.UUID
    tenant_id: uuid.UUID
    ad_id: uuid.UUID
    action: str
    requested: int | None
    platform: str
    external_id: str
    currency: str
    budget: int
    status: str
    learning_status: str | None
    account_id: uuid.UUID
    usage_pct: int
    regain_minutes: int
    throttled_until: datetime | None
    rules: AdsRules
    created_at: datetime
    reason: str
    intent: int | None  # budget an earlier attempt sent to the platform, if any


@dataclass
class RunReport:
    """What one executor pass did, and what is still waiting (jitter or holds)."""

    claimed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    changes: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    waiting: int = 0
    next_due: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able summary."""
        return {"claimed": self.claimed, "outcomes": dict(self.outcomes),
                "changes": [[str(c), o] for c, o in self.changes], "waiting": self.waiting,
                "next_due": self.next_due.isoformat() if self.next_due else None}


class ChangeExecutor:
    """Applies queued ad changes safely; many can run at once against one queue."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        platforms: PlatformFactory | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        worker: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.platforms = platforms or settings_platforms(settings)
        self.clock = clock
        self.rng = rng or random.Random()
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.transport = transport

    # Public -------------------------------------------------------------------------------
    def run(self, limit: int | None = None) -> RunReport:
        """Claim up to `limit` due changes (default: the configured batch) and process them."""
        claims = q.claim(self.db, self.worker, limit or self.settings.ads_executor_batch,
                         self.settings.ads_executor_lease_s, self.clock())
        return self.process(claims)

    def process(self, claims: list[q.Claim]) -> RunReport:
        """Process claims already taken (tests use this to simulate a slow worker)."""
        report = RunReport(claimed=len(claims))
        if claims:
            asyncio.run(self._process_all(claims, report))
        report.waiting, report.next_due = q.waiting(self.db, self.clock())
        return report

    # Internals ----------------------------------------------------------------------------
    async def _process_all(self, claims: list[q.Claim], report: RunReport) -> None:
        async with make_client(self.settings, transport=self.transport) as client:
            for claim_ in claims:
                outcome = await self._process(claim_, client)
                report.outcomes[outcome] += 1
                report.changes.append((claim_.change_id, outcome))

    def _load(self, claim_: q.Claim) -> tuple[_Work, bool] | None:
        """The change's data, and whether this claim still owns it."""
        with self.db.session() as session:
            change = session.get(PendingAdChange, claim_.change_id)
            if change is None:
                return None
            ad = session.get(Ad, change.ad_id)
            account = session.get(AdAccount, ad.account_id) if ad is not None else None
            if ad is None or account is None:
                return None
            return _Work(
                change_id=change.id, tenant_id=change.tenant_id, ad_id=ad.id,
                action=change.action, requested=change.requested_budget_minor,
                platform=ad.platform, external_id=ad.external_id, currency=ad.currency,
                budget=ad.daily_budget_minor, status=ad.status,
                learning_status=ad.learning_status, account_id=account.id,
                usage_pct=account.usage_pct,
                regain_minutes=int(account.usage.get("regain_minutes") or 0),
                throttled_until=account.throttled_until,
                rules=ConfigRepository(session, change.tenant_id).rules(),
                created_at=change.created_at, reason=change.reason,
                intent=change.applied_budget_minor,
            ), change.claim_token == claim_.token

    async def _process(self, claim_: q.Claim, client: httpx.AsyncClient) -> str:
        loaded = self._load(claim_)
        if loaded is None:
            return "lost"
        work, owned = loaded
        if not owned:
            return self._lost(work, claim_)
        now = self.clock()
        if work.created_at < now - timedelta(hours=self.settings.ads_change_max_age_h):
            return self._close(claim_, work, CHANGE_EXPIRED, "expired", None,
                               f"older than {self.settings.ads_change_max_age_h}h; "
                               "a fresh evaluation decides again")
        ctx_stored = self._context(work, now, work.budget, work.learning_status, None)
        held = guards.account_hold(ctx_stored, work.rules)
        if held is not None:
            return self._hold(claim_, work, held, now)
        platform = self._platform(work, client)
        if platform is None:
            return self._close(claim_, work, CHANGE_FAILED, "failed", None,
                               f"no credentials for platform {work.platform!r} "
                               "(set REVLINE_META_ACCESS_TOKEN)")
        wants_more = work.action == guards.SET_BUDGET and (work.requested or 0) > work.budget
        try:
            state = await platform.fetch_state(work.external_id, spend_today=wants_more)
        except PlatformError as exc:
            return self._platform_error(claim_, work, exc, "read")
        spend_today = state.spend_today_minor
        if spend_today is None and wants_more:
            spend_today = self._spend_today(work, now)
        self._refresh(work, state, state.usage, now)
        if work.action == guards.SET_BUDGET and work.intent is not None and \
                state.daily_budget_minor == work.intent:
            return self._landed(claim_, work)
        ctx = self._context(work, now, state.daily_budget_minor, state.learning_status,
                            spend_today)
        verdict = guards.evaluate(ctx, work.rules, self.rng)
        if verdict.kind == guards.HOLD:
            return self._hold(claim_, work, verdict, now)
        if verdict.kind == guards.NOOP:
            return self._close(claim_, work, CHANGE_NOOP, "noop", state.daily_budget_minor,
                               verdict.reason, from_budget=state.daily_budget_minor,
                               notes=verdict.notes)
        intent = verdict.target_budget_minor if work.action == guards.SET_BUDGET else None
        with self.db.session() as session:
            renewed = q.renew(session, claim_, self.clock(), intent_minor=intent)
        if not renewed:
            return self._lost(work, claim_)
        try:
            if work.action == guards.PAUSE:
                result = await platform.pause(work.external_id)
            else:
                result = await platform.set_daily_budget(
                    work.external_id, verdict.target_budget_minor or 0
                )
        except PlatformError as exc:
            return self._platform_error(claim_, work, exc, "write",
                                        from_budget=state.daily_budget_minor,
                                        to_budget=verdict.target_budget_minor)
        return self._applied(claim_, work, state.daily_budget_minor, verdict, result.usage)

    def _platform(self, work: _Work, client: httpx.AsyncClient) -> AdPlatform | None:
        if work.platform == "manual":
            return LocalPlatform(PlatformState(work.budget, work.status, work.learning_status))
        return self.platforms(work.platform, work.currency, client)

    def _spend_today(self, work: _Work, now: datetime) -> int | None:
        with self.db.session() as session:
            return AdRepository(session, work.tenant_id).spend_on(work.ad_id, now.date())

    def _context(
        self, work: _Work, now: datetime, budget: int, learning: str | None,
        spend_today: int | None,
    ) -> guards.GuardContext:
        with self.db.session() as session:
            recent = HistoryRepository(session, work.tenant_id).applied_budget_changes(
                work.ad_id, now - timedelta(hours=1)
            )
        return guards.GuardContext(
            now=now, action=work.action, currency=work.currency, current_budget_minor=budget,
            requested_budget_minor=work.requested, learning_status=learning,
            recent_budget_changes=recent, spend_today_minor=spend_today,
            account_usage_pct=work.usage_pct, account_regain_minutes=work.regain_minutes,
            throttled_until=work.throttled_until,
        )

    def _refresh(
        self, work: _Work, state: PlatformState | None, usage: Usage | None, now: datetime,
        throttle_for: timedelta | None = None,
    ) -> None:
        """Store what the platform just told us: budget, learning stage, account usage."""
        with self.db.session() as session:
            if state is not None:
                ad = session.get(Ad, work.ad_id)
                if ad is not None:
                    ad.daily_budget_minor = state.daily_budget_minor
                    ad.learning_status = state.learning_status
                    ad.learning_info = dict(state.learning_info)
                    ad.synced_at = now
            account = session.get(AdAccount, work.account_id)
            if account is None:
                return
            if usage is not None:
                account.usage_pct = usage.pct
                account.usage = {"regain_minutes": usage.regain_minutes, "header": usage.raw}
                account.usage_at = now
                work.usage_pct, work.regain_minutes = usage.pct, usage.regain_minutes
            if throttle_for is not None:
                account.throttled_until = now + throttle_for
                work.throttled_until = account.throttled_until

    def _record(
        self, session: Any, work: _Work, claim_: q.Claim, outcome: str, *,
        guard: str | None = None, reason: str = "", from_budget: int | None = None,
        to_budget: int | None = None, details: dict[str, Any] | None = None,
    ) -> None:
        session.add(AdChangeHistory(
            tenant_id=work.tenant_id, change_id=work.change_id, ad_id=work.ad_id,
            attempt=claim_.attempt, action=work.action, outcome=outcome, guard=guard,
            reason=reason[:2000], from_budget_minor=from_budget, to_budget_minor=to_budget,
            details=details or {}, worker=self.worker, created_at=self.clock(),
        ))

    def _lost(self, work: _Work, claim_: q.Claim) -> str:
        """Another worker took the lease over: record that this attempt stopped."""
        with self.db.session() as session:
            self._record(session, work, claim_, "lease_lost",
                         reason="lease went stale and another worker reclaimed the change")
        return "lease_lost"

    def _hold(self, claim_: q.Claim, work: _Work, verdict: guards.Verdict, now: datetime) -> str:
        retry_at = verdict.retry_at or now + guards.ACCOUNT_BACKOFF
        with self.db.session() as session:
            if not q.hold(session, claim_, retry_at, f"{verdict.guard}: {verdict.reason}", now):
                return self._lost(work, claim_)
            self._record(session, work, claim_, "held", guard=verdict.guard,
                         reason=verdict.reason, from_budget=work.budget, to_budget=work.requested,
                         details={"retry_at": retry_at.isoformat(), "notes": verdict.notes})
        return "held"

    def _close(
        self, claim_: q.Claim, work: _Work, status: str, outcome: str, applied: int | None,
        reason: str, *, from_budget: int | None = None, guard: str | None = None,
        notes: list[str] | None = None,
    ) -> str:
        with self.db.session() as session:
            if not q.finish(session, claim_, status, reason, self.clock(), applied):
                return self._lost(work, claim_)
            self._record(session, work, claim_, outcome, guard=guard, reason=reason,
                         from_budget=from_budget, to_budget=applied,
                         details={"notes": notes or []})
        return outcome

    def _landed(self, claim_: q.Claim, work: _Work) -> str:
        """An earlier attempt's write reached the platform but its answer was lost: close the
        change as applied, without writing (and moving the budget) a second time."""
        with self.db.session() as session:
            if not q.finish(session, claim_, CHANGE_APPLIED, "applied", self.clock(),
                            work.intent):
                return self._lost(work, claim_)
            self._record(session, work, claim_, "applied",
                         reason=f"{work.reason or work.action} (an earlier attempt's write had "
                                "already landed; not written again)",
                         to_budget=work.intent, details={"recovered_write": True})
        return "applied"

    def _failures(self, work: _Work) -> int:
        with self.db.session() as session:
            return HistoryRepository(session, work.tenant_id).failures(work.change_id)

    def _platform_error(
        self, claim_: q.Claim, work: _Work, exc: PlatformError, stage: str, *,
        from_budget: int | None = None, to_budget: int | None = None,
    ) -> str:
        now = self.clock()
        details = {"stage": stage, "code": exc.code, "subcode": exc.subcode,
                   "http_status": exc.http_status}
        if exc.rate_limited:
            regain = exc.usage.regain_minutes if exc.usage else 0
            wait = max(timedelta(minutes=regain), guards.ACCOUNT_BACKOFF)
            self._refresh(work, None, exc.usage, now, throttle_for=wait)
            outcome, retry_at = "rate_limited", now + wait
        elif exc.retryable and (failures := self._failures(work) + 1) < \
                self.settings.ads_change_max_attempts:
            # Holds are not failures: only failed attempts count toward giving up.
            outcome, retry_at = "failed", now + timedelta(minutes=2 ** failures)
        else:
            return self._close(claim_, work, CHANGE_FAILED, "failed", None, exc.message,
                               from_budget=from_budget)
        with self.db.session() as session:
            if not q.hold(session, claim_, retry_at, exc.message, now):
                return self._lost(work, claim_)
            self._record(session, work, claim_, outcome, guard="platform", reason=exc.message,
                         from_budget=from_budget, to_budget=to_budget,
                         details={**details, "retry_at": retry_at.isoformat()})
        return outcome

    def _applied(
        self, claim_: q.Claim, work: _Work, before: int, verdict: guards.Verdict,
        usage: Usage | None,
    ) -> str:
        now = self.clock()
        target = verdict.target_budget_minor if work.action == guards.SET_BUDGET else None
        with self.db.session() as session:
            finished = q.finish(session, claim_, CHANGE_APPLIED, "applied", now, target)
            ad = session.get(Ad, work.ad_id)
            if ad is not None:
                if target is not None:
                    ad.daily_budget_minor = target
                else:
                    ad.status = "paused"
            reason = work.reason or work.action
            if not finished:
                # The platform already took the change; say so, since a new owner may repeat it.
                reason = f"{reason} (applied after this worker's lease was taken over)"
            self._record(session, work, claim_, "applied", reason=reason,
                         from_budget=before, to_budget=target if target is not None else before,
                         details={"notes": verdict.notes, "lease_kept": finished})
        if usage is not None:
            self._refresh(work, None, usage, now)
        return "applied"
