"""All tenant-scoped SQL of the ads domain (the executor's cross-tenant claim is in executor/)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select, update

from revline.ads.models import (
    CHANGE_PENDING,
    CHANGE_SUPERSEDED,
    Ad,
    AdAccount,
    AdChangeHistory,
    AdClick,
    AdConversion,
    AdDecision,
    AdEvaluation,
    AdMetricDaily,
    AdsTenantConfig,
    CrmDeal,
    CrmStage,
    CrmWebhookEvent,
    PendingAdChange,
)
from revline.ads.pipeline_value import StageInfo
from revline.ads.schemas import AdsRules
from revline.kernel.db.base import utcnow
from revline.kernel.db.repository import TenantRepository
from revline.kernel.errors import NotFound


@dataclass(frozen=True)
class Totals:
    """Lifetime platform figures of one ad, summed over its daily metrics."""

    spend_minor: int = 0
    revenue_minor: int = 0
    conversions: int = 0
    clicks: int = 0


class ConfigRepository(TenantRepository[AdsTenantConfig]):
    """The tenant's one rules row."""

    model = AdsTenantConfig

    def row(self) -> AdsTenantConfig:
        """The rules row, created with defaults on first use."""
        row = self.session.scalars(self.query()).first()
        return row if row is not None else self.add(rules={})

    def rules(self) -> AdsRules:
        """Validated rules (stored values over defaults)."""
        row = self.session.scalars(self.query()).first()
        return AdsRules.model_validate(row.rules if row is not None else {})


class AccountRepository(TenantRepository[AdAccount]):
    """Ad accounts."""

    model = AdAccount

    def by_external(self, platform: str, external_id: str) -> AdAccount | None:
        """The account with this platform id, if registered."""
        return self.session.scalars(self.query().where(
            AdAccount.platform == platform, AdAccount.external_id == external_id
        )).first()

    def ensure(self, platform: str, external_id: str, currency: str, name: str = "") -> AdAccount:
        """Get or create the account."""
        row = self.by_external(platform, external_id)
        if row is None:
            row = self.add(platform=platform, external_id=external_id, currency=currency,
                           name=name)
        return row

    def by_ids(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, AdAccount]:
        """Accounts keyed by id."""
        if not ids:
            return {}
        return {a.id: a for a in self.session.scalars(self.query().where(AdAccount.id.in_(ids)))}


class AdRepository(TenantRepository[Ad]):
    """Ads and their lifetime totals."""

    model = Ad

    def by_external(self, platform: str, external_id: str) -> Ad | None:
        """The ad with this platform id, if registered."""
        return self.session.scalars(
            self.query().where(Ad.platform == platform, Ad.external_id == external_id)
        ).first()

    def by_any_external(self, external_id: str) -> Ad:
        """The ad with this platform id on any platform, else NotFound."""
        row = self.session.scalars(self.query().where(Ad.external_id == external_id)).first()
        if row is None:
            raise NotFound(f"unknown ad {external_id!r}: register it or run `revline ads sync`")
        return row

    def get_ad(self, ad_id: uuid.UUID) -> Ad:
        """The ad, or NotFound with a hint."""
        row = self.session.scalars(self.query().where(Ad.id == ad_id)).first()
        if row is None:
            raise NotFound(f"unknown ad {ad_id}: list ads with `revline ads status`")
        return row

    def all(self, status: str | None = None) -> list[Ad]:
        """Every ad (optionally of one status), by name."""
        stmt = self.query().order_by(Ad.name, Ad.external_id)
        if status is not None:
            stmt = stmt.where(Ad.status == status)
        return list(self.session.scalars(stmt))

    def totals(self) -> dict[uuid.UUID, Totals]:
        """Lifetime spend, platform revenue, conversions and clicks per ad."""
        rows: Any = self.session.execute(
            select(
                AdMetricDaily.ad_id,
                func.coalesce(func.sum(AdMetricDaily.spend_minor), 0),
                func.coalesce(func.sum(AdMetricDaily.revenue_minor), 0),
                func.coalesce(func.sum(AdMetricDaily.conversions), 0),
                func.coalesce(func.sum(AdMetricDaily.clicks), 0),
            )
            .where(AdMetricDaily.tenant_id == self.tenant_id)
            .group_by(AdMetricDaily.ad_id)
        ).all()
        return {r[0]: Totals(int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows}

    def spend_on(self, ad_id: uuid.UUID, day: date) -> int | None:
        """Spend recorded for one day, None when nothing was recorded."""
        value = self.session.scalar(select(AdMetricDaily.spend_minor).where(
            AdMetricDaily.tenant_id == self.tenant_id, AdMetricDaily.ad_id == ad_id,
            AdMetricDaily.day == day,
        ))
        return int(value) if value is not None else None

    def upsert_metric(self, ad_id: uuid.UUID, day: date, values: dict[str, int]) -> None:
        """Insert or overwrite one ad-day of metrics."""
        row = self.session.scalars(select(AdMetricDaily).where(
            AdMetricDaily.tenant_id == self.tenant_id, AdMetricDaily.ad_id == ad_id,
            AdMetricDaily.day == day,
        )).first()
        if row is None:
            self.session.add(AdMetricDaily(tenant_id=self.tenant_id, ad_id=ad_id, day=day,
                                           **values))
        else:
            for key, value in values.items():
                setattr(row, key, value)
        self.session.flush()


class ClickRepository(TenantRepository[AdClick]):
    """Tracked clicks and the lookups attribution needs."""

    model = AdClick

    def find_ref(self, ref: str) -> tuple[AdClick | None, str]:
        """A click by Revline click id, fbclid or gclid, and which of them matched."""
        try:
            own = uuid.UUID(ref)
        except ValueError:
            own = None
        if own is not None:
            row = self.session.scalars(self.query().where(AdClick.id == own)).first()
            if row is not None:
                return row, "revline"
        for column, kind in ((AdClick.fbclid, "fbclid"), (AdClick.gclid, "gclid")):
            row = self.session.scalars(
                self.query().where(column == ref).order_by(AdClick.occurred_at.desc())
            ).first()
            if row is not None:
                return row, kind
        return None, ""

    def by_identity(
        self, email_sha256: str | None, phone_sha256: str | None, start: datetime, end: datetime
    ) -> list[AdClick]:
        """Clicks by the same hashed email or phone in [start, end]."""
        keys = []
        if email_sha256:
            keys.append(AdClick.email_sha256 == email_sha256)
        if phone_sha256:
            keys.append(AdClick.phone_sha256 == phone_sha256)
        if not keys:
            return []
        return list(self.session.scalars(self.query().where(
            or_(*keys), AdClick.occurred_at >= start, AdClick.occurred_at <= end
        )))

    def between(self, start: datetime, end: datetime, limit: int = 5000) -> list[AdClick]:
        """Clicks in [start, end], newest first (the time-window layer's candidates)."""
        return list(self.session.scalars(self.query().where(
            AdClick.occurred_at >= start, AdClick.occurred_at <= end
        ).order_by(AdClick.occurred_at.desc()).limit(limit)))


class ConversionRepository(TenantRepository[AdConversion]):
    """Conversions with their attribution."""

    model = AdConversion

    def by_external(self, source: str, external_id: str) -> AdConversion | None:
        """The conversion with this source id, if recorded."""
        return self.session.scalars(self.query().where(
            AdConversion.source == source, AdConversion.external_id == external_id
        )).first()

    def layer_counts(self, since: datetime | None) -> list[tuple[str | None, int, float]]:
        """(layer, count, mean confidence) over conversions since a time."""
        stmt = select(AdConversion.layer, func.count(), func.avg(AdConversion.confidence)).where(
            AdConversion.tenant_id == self.tenant_id
        )
        if since is not None:
            stmt = stmt.where(AdConversion.occurred_at >= since)
        rows: Any = self.session.execute(stmt.group_by(AdConversion.layer)).all()
        return [(r[0], int(r[1]), float(r[2] or 0.0)) for r in rows]


class StageRepository(TenantRepository[CrmStage]):
    """CRM pipeline stages."""

    model = CrmStage

    def upsert(self, source: str, pipeline_id: str, stage_id: str, **values: Any) -> CrmStage:
        """Insert or refresh one stage."""
        row = self.session.scalars(self.query().where(
            CrmStage.source == source, CrmStage.pipeline_id == pipeline_id,
            CrmStage.stage_id == stage_id,
        )).first()
        if row is None:
            return self.add(source=source, pipeline_id=pipeline_id, stage_id=stage_id, **values)
        for key, value in values.items():
            setattr(row, key, value)
        return row

    def infos(self, source: str | None = None) -> dict[tuple[str, str, str], StageInfo]:
        """(source, pipeline, stage) -> label, probability and closed flag."""
        stmt = self.query()
        if source is not None:
            stmt = stmt.where(CrmStage.source == source)
        return {
            (s.source, s.pipeline_id, s.stage_id): StageInfo(s.label, s.probability, s.is_closed)
            for s in self.session.scalars(stmt)
        }


class DealRepository(TenantRepository[CrmDeal]):
    """CRM deals."""

    model = CrmDeal

    def by_external(self, source: str, external_id: str) -> CrmDeal | None:
        """The deal with this CRM id, if stored."""
        return self.session.scalars(self.query().where(
            CrmDeal.source == source, CrmDeal.external_id == external_id
        )).first()

    def attributed(self) -> list[tuple[CrmDeal, uuid.UUID]]:
        """Live deals whose conversion is attributed to an ad, with that ad's id."""
        rows: Any = self.session.execute(
            select(CrmDeal, AdConversion.ad_id)
            .join(AdConversion, AdConversion.id == CrmDeal.conversion_id)
            .where(CrmDeal.tenant_id == self.tenant_id, CrmDeal.archived.is_(False),
                   AdConversion.ad_id.is_not(None))
        ).all()
        return [(r[0], r[1]) for r in rows]


class WebhookRepository(TenantRepository[CrmWebhookEvent]):
    """Stored webhook deliveries."""

    model = CrmWebhookEvent


class EvaluationRepository(TenantRepository[AdEvaluation]):
    """Evaluation runs."""

    model = AdEvaluation


class DecisionRepository(TenantRepository[AdDecision]):
    """Decisions of evaluation runs."""

    model = AdDecision

    def for_evaluation(self, evaluation_id: uuid.UUID) -> list[AdDecision]:
        """An evaluation's decisions in creation order."""
        return list(self.session.scalars(self.query().where(
            AdDecision.evaluation_id == evaluation_id
        ).order_by(AdDecision.created_at)))


class ChangeRepository(TenantRepository[PendingAdChange]):
    """Queued changes (enqueueing is tenant-scoped; claiming is the executor's job)."""

    model = PendingAdChange

    def open_for_ad(self, ad_id: uuid.UUID) -> PendingAdChange | None:
        """The ad's pending change, if any."""
        return self.session.scalars(self.query().where(
            PendingAdChange.ad_id == ad_id, PendingAdChange.status == CHANGE_PENDING
        ).order_by(PendingAdChange.created_at.desc())).first()

    def open_by_ad(self) -> dict[uuid.UUID, uuid.UUID]:
        """ad id -> its pending change id."""
        rows = self.session.execute(select(PendingAdChange.ad_id, PendingAdChange.id).where(
            PendingAdChange.tenant_id == self.tenant_id, PendingAdChange.status == CHANGE_PENDING
        )).all()
        return {r[0]: r[1] for r in rows}

    def supersede_unclaimed(self, ad_id: uuid.UUID, stale_before: datetime) -> int:
        """Retire the ad's pending changes no live worker holds; a newer decision replaces them."""
        result = self.session.execute(
            update(PendingAdChange)
            .where(
                PendingAdChange.tenant_id == self.tenant_id,
                PendingAdChange.ad_id == ad_id,
                PendingAdChange.status == CHANGE_PENDING,
                or_(PendingAdChange.claimed_at.is_(None),
                    PendingAdChange.claimed_at < stale_before),
            )
            .values(status=CHANGE_SUPERSEDED, finished_at=utcnow(),
                    outcome="superseded by a newer change", claim_token=None, claimed_at=None)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def recent(self, status: str | None = None, limit: int = 50) -> list[PendingAdChange]:
        """Newest changes, optionally of one status."""
        stmt = self.query().order_by(PendingAdChange.created_at.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(PendingAdChange.status == status)
        return list(self.session.scalars(stmt))


class HistoryRepository(TenantRepository[AdChangeHistory]):
    """The change audit log."""

    model = AdChangeHistory

    def recent(self, ad_id: uuid.UUID | None = None, limit: int = 50) -> list[AdChangeHistory]:
        """Newest audit rows, optionally for one ad."""
        stmt = self.query().order_by(AdChangeHistory.created_at.desc()).limit(limit)
        if ad_id is not None:
            stmt = stmt.where(AdChangeHistory.ad_id == ad_id)
        return list(self.session.scalars(stmt))

    def failures(self, change_id: uuid.UUID) -> int:
        """Failed attempts of one change so far."""
        return int(self.session.scalar(select(func.count()).where(
            AdChangeHistory.tenant_id == self.tenant_id, AdChangeHistory.change_id == change_id,
            AdChangeHistory.outcome == "failed",
        )) or 0)

    def applied_budget_changes(self, ad_id: uuid.UUID, since: datetime) -> list[datetime]:
        """When the ad's budget was actually changed since a time (Meta's hourly limit)."""
        return list(self.session.scalars(select(AdChangeHistory.created_at).where(
            AdChangeHistory.tenant_id == self.tenant_id, AdChangeHistory.ad_id == ad_id,
            AdChangeHistory.action == "set_budget", AdChangeHistory.outcome == "applied",
            AdChangeHistory.created_at >= since,
        )))
