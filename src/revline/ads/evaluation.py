"""Evaluation: snapshot active ads, apply the rules, store decisions, queue the changes."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from revline.ads import rules as r
from revline.ads.crm import aggregate_pipeline_value
from revline.ads.executor import guards
from revline.ads.executor.queue import enqueue
from revline.ads.models import Ad, AdDecision, AdEvaluation
from revline.ads.repository import (
    AccountRepository,
    AdRepository,
    ConfigRepository,
    DecisionRepository,
    EvaluationRepository,
    Totals,
)
from revline.ads.schemas import AdsRules
from revline.kernel.config import Settings
from revline.kernel.db.base import utcnow
from revline.kernel.jobs import enqueue_after_commit

ACTIONS_WITH_CHANGES = {
    r.KILL: guards.PAUSE, r.SCALE: guards.SET_BUDGET, r.SHIFT: guards.SET_BUDGET,
}


def create_evaluation(session: Session, tenant_id: uuid.UUID, trigger: str) -> AdEvaluation:
    """A new evaluation row, not yet run."""
    return EvaluationRepository(session, tenant_id).add(status="queued", trigger=trigger)


def queue_evaluation(session: Session, tenant_id: uuid.UUID, trigger: str = "api") -> AdEvaluation:
    """Create an evaluation and hand it to a worker (`ads.evaluate`) after commit."""
    row = create_evaluation(session, tenant_id, trigger)
    enqueue_after_commit(session, "ads.evaluate", str(tenant_id), str(row.id))
    return row


def snapshot(
    ad: Ad, account_external_id: str, totals: Totals, rules: AdsRules, now: datetime
) -> r.AdSnapshot:
    """The rules' view of one ad in its effective mode."""
    mode = rules.mode_for(account_external_id, ad.campaign_id)
    pipeline = mode == "pipeline"
    return r.AdSnapshot(
        ad_id=ad.id, group=str(ad.account_id), mode=mode, currency=ad.currency,
        daily_budget_minor=ad.daily_budget_minor, spend_minor=totals.spend_minor,
        value_minor=ad.pipeline_value_minor if pipeline else totals.revenue_minor,
        conversions=ad.pipeline_deals if pipeline else totals.conversions,
        age_days=max((now - ad.started_at).total_seconds(), 0.0) / 86_400.0,
    )


def run_evaluation(
    session: Session,
    settings: Settings,
    tenant_id: uuid.UUID,
    evaluation_id: uuid.UUID,
    *,
    now: datetime | None = None,
    rng: random.Random | None = None,
    execute_after: bool = True,
) -> AdEvaluation:
    """Decide for every active ad and queue a change for each kill, scale or shift.

    With execute_after, `ads.execute_pending` is sent after commit so a worker applies them.
    """
    now = now or utcnow()
    rand = rng or random.Random()
    evaluation = EvaluationRepository(session, tenant_id).get(evaluation_id)
    if evaluation.status == "done":
        return evaluation
    evaluation.status = "running"
    rules = ConfigRepository(session, tenant_id).rules()
    pipeline = aggregate_pipeline_value(session, tenant_id, now)
    ads_repo = AdRepository(session, tenant_id)
    ads = ads_repo.all(status="active")
    totals = ads_repo.totals()
    accounts = AccountRepository(session, tenant_id).by_ids({a.account_id for a in ads})
    snaps = [snapshot(ad, accounts[ad.account_id].external_id, totals.get(ad.id, Totals()),
                      rules, now) for ad in ads]
    decisions = r.decide(snaps, rules, np.random.default_rng(rand.getrandbits(64)))
    by_id = {ad.id: ad for ad in ads}
    snap_by_id = {s.ad_id: s for s in snaps}
    repo = DecisionRepository(session, tenant_id)
    queued = 0
    for decision in decisions:
        ad, snap = by_id[decision.ad_id], snap_by_id[decision.ad_id]
        row: AdDecision = repo.add(
            evaluation_id=evaluation.id, ad_id=ad.id, mode=snap.mode, action=decision.action,
            reason=decision.reason, currency=ad.currency, spend_minor=snap.spend_minor,
            value_minor=snap.value_minor,
            roas=decision.roas, prob_best=decision.prob_best,
            current_budget_minor=ad.daily_budget_minor,
            target_budget_minor=decision.target_budget_minor, created_at=now,
        )
        action = ACTIONS_WITH_CHANGES.get(decision.action)
        if action is None:
            continue
        change = enqueue(
            session, tenant_id, ad.id, action,
            requested_budget_minor=decision.target_budget_minor, reason=decision.reason,
            origin="rules", now=now, decision_id=row.id,
            jitter_s=guards.jitter_seconds(rand, settings.ads_jitter_max_s),
            lease_s=settings.ads_executor_lease_s,
        )
        row.change_id = change.id
        queued += 1
    summary: dict[str, Any] = {
        "ads": len(ads), "actions": dict(Counter(d.action for d in decisions)),
        "changes_queued": queued, "pipeline": pipeline,
    }
    evaluation.status, evaluation.summary, evaluation.finished_at = "done", summary, now
    if queued and execute_after:
        enqueue_after_commit(session, "ads.execute_pending")
    session.flush()
    return evaluation
