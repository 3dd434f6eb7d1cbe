"""Click tracking, conversion attribution (three layers) and the recovery-rate report."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from revline.ads import attribution as attr
from revline.ads.identity import email_hash, opaque_hash, phone_hash
from revline.ads.models import AdClick, AdConversion
from revline.ads.money import normalize_currency
from revline.ads.repository import AdRepository, ClickRepository, ConversionRepository
from revline.ads.schemas import AdsRules, AttributionOut, ClickIn, ConversionIn
from revline.kernel.db.base import utcnow
from revline.kernel.errors import Conflict, InvalidInput


@dataclass(frozen=True)
class Identifiers:
    """What a conversion or deal carries that attribution can use (raw, before hashing)."""

    occurred_at: datetime
    click_refs: tuple[str, ...] = ()
    email: str | None = None
    phone: str | None = None
    ip: str | None = None
    user_agent: str | None = None


def _utc(value: datetime | None) -> datetime:
    if value is None:
        return utcnow()
    if value.tzinfo is None:
        raise InvalidInput("timestamps must carry a timezone (e.g. 2026-01-31T12:00:00Z)")
    return value


def track_click(session: Session, tenant_id: uuid.UUID, rules: AdsRules, data: ClickIn) -> AdClick:
    """Record a click on a known ad (unknown ad -> NotFound, nothing stored)."""
    ads = AdRepository(session, tenant_id)
    ad = ads.get_ad(data.ad_id) if data.ad_id else ads.by_any_external(data.external_ad_id or "")
    return ClickRepository(session, tenant_id).add(
        ad_id=ad.id,
        fbclid=data.fbclid or None,
        gclid=data.gclid or None,
        email_sha256=email_hash(data.email),
        phone_sha256=phone_hash(data.phone, rules.phone_region),
        ip_sha256=opaque_hash(data.ip),
        ua_sha256=opaque_hash(data.user_agent),
        landing_url=data.landing_url,
        occurred_at=_utc(data.occurred_at),
    )


def _as_click(row: AdClick) -> attr.Click:
    return attr.Click(row.id, row.ad_id, row.occurred_at, row.email_sha256, row.phone_sha256,
                      row.ip_sha256, row.ua_sha256)


def attribute(
    session: Session, tenant_id: uuid.UUID, rules: AdsRules, ids: Identifiers
) -> tuple[attr.Match | None, dict[str, Any]]:
    """Try the three layers in order; the first match wins. Also returns the hashed keys."""
    keys = attr.ConversionKeys(
        occurred_at=ids.occurred_at,
        email_sha256=email_hash(ids.email),
        phone_sha256=phone_hash(ids.phone, rules.phone_region),
        ip_sha256=opaque_hash(ids.ip),
        ua_sha256=opaque_hash(ids.user_agent),
    )
    hashed = {"email_sha256": keys.email_sha256, "phone_sha256": keys.phone_sha256,
              "ip_sha256": keys.ip_sha256, "ua_sha256": keys.ua_sha256}
    clicks = ClickRepository(session, tenant_id)
    for ref in ids.click_refs:
        row, kind = clicks.find_ref(ref)
        match = attr.match_click_id(_as_click(row) if row is not None else None, kind)
        if match is not None:
            return match, hashed
    lookback = timedelta(days=rules.attribution_lookback_days)
    if keys.email_sha256 or keys.phone_sha256:
        found = clicks.by_identity(keys.email_sha256, keys.phone_sha256,
                                   ids.occurred_at - lookback, ids.occurred_at + attr.CLOCK_SKEW)
        match = attr.match_identity(keys, [_as_click(r) for r in found], lookback)
        if match is not None:
            return match, hashed
    window = timedelta(minutes=rules.time_window_minutes)
    recent = clicks.between(ids.occurred_at - window, ids.occurred_at)
    match = attr.match_time_window(keys, [_as_click(r) for r in recent], window,
                                   rules.time_window_max_confidence, rules.min_confidence)
    return match, hashed


def save_conversion(
    session: Session, tenant_id: uuid.UUID, rules: AdsRules, *, source: str, external_id: str,
    ids: Identifiers, value_minor: int | None, currency: str,
) -> AdConversion:
    """Attribute and store a new conversion (the caller has checked it is not a duplicate)."""
    match, hashed = attribute(session, tenant_id, rules, ids)
    return ConversionRepository(session, tenant_id).add(
        source=source, external_id=external_id, occurred_at=ids.occurred_at,
        value_minor=value_minor, currency=currency,
        click_ref=ids.click_refs[0][:500] if ids.click_refs else None,
        ad_id=match.ad_id if match else None, click_id=match.click_id if match else None,
        layer=match.layer if match else None, confidence=match.confidence if match else 0.0,
        match_details=match.details if match else {}, **hashed,
    )


def record_conversion(
    session: Session, tenant_id: uuid.UUID, rules: AdsRules, data: ConversionIn
) -> AdConversion:
    """Attribute an API conversion; a repeated external_id is a Conflict and changes nothing."""
    repo = ConversionRepository(session, tenant_id)
    duplicate = Conflict(f"conversion {data.external_id!r} was already recorded; "
                         "conversions are counted once per external_id")
    if repo.by_external("api", data.external_id) is not None:
        raise duplicate
    refs = tuple(r for r in (data.click_id, data.fbclid, data.gclid) if r)
    ids = Identifiers(_utc(data.occurred_at), refs, data.email, data.phone, data.ip,
                      data.user_agent)
    try:
        # Two requests with one external_id at the same moment both pass the check above;
        # the unique constraint decides, and the loser gets the same 409.
        with session.begin_nested():
            return save_conversion(
                session, tenant_id, rules, source="api", external_id=data.external_id,
                ids=ids, value_minor=data.value_minor, currency=normalize_currency(data.currency),
            )
    except IntegrityError:
        raise duplicate from None


def attribution_out(row: AdConversion) -> AttributionOut:
    """API view of a conversion's attribution."""
    layer = row.layer if row.layer in attr.LAYERS else None
    return AttributionOut(conversion_id=row.id, ad_id=row.ad_id, click_id=row.click_id,
                          layer=layer,
                          confidence=row.confidence, details=row.match_details)


def recovery_report(
    session: Session, tenant_id: uuid.UUID, since: datetime | None = None
) -> dict[str, Any]:
    """Share of conversions attributed, overall and per layer, with mean confidence."""
    counts = ConversionRepository(session, tenant_id).layer_counts(since)
    total = sum(n for _, n, _ in counts)
    by_layer: dict[str, dict[str, Any]] = {}
    for layer in attr.LAYERS:
        n, mean = next(((c, m) for lay, c, m in counts if lay == layer), (0, 0.0))
        by_layer[layer] = {"count": n, "share": round(n / total, 4) if total else 0.0,
                           "mean_confidence": round(mean, 4) if n else None}
    attributed = sum(v["count"] for v in by_layer.values())
    return {
        "since": since.isoformat() if since else None,
        "conversions": total,
        "attributed": attributed,
        "unattributed": total - attributed,
        "recovery_rate": round(attributed / total, 4) if total else 0.0,
        "by_layer": by_layer,
    }
