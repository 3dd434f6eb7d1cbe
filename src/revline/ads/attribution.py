"""Three attribution layers, strongest first; each match says which layer made it and how sure.

1. click_id: Revline's own click id, or the platform's fbclid/gclid, found on a tracked click.
   Deterministic, confidence 1.0.
2. hashed_identity: SHA-256 of the normalized email or phone matches a click's hash within the
   lookback window. Last touch wins; confidence is the identity's strength times the share of
   candidate clicks that point at the chosen ad (several ads touching one person is doubt).
3. time_window: nothing identifies the person, but clicks happened shortly before. Each click
   gets weight exp(-dt / tau) (tau = window / 3), boosted when its IP (x4) or user agent (x2)
   hash matches; the ad with the largest weight share wins, with confidence
   max_confidence * share * exp(-dt_nearest / window). Below min_confidence nothing is claimed.

Pure functions: the service fetches candidate clicks and passes them in.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

CLICK_ID = "click_id"
HASHED_IDENTITY = "hashed_identity"
TIME_WINDOW = "time_window"
LAYERS = (CLICK_ID, HASHED_IDENTITY, TIME_WINDOW)

EMAIL_CONFIDENCE = 0.95
PHONE_CONFIDENCE = 0.9
BOTH_CONFIDENCE = 0.98
IP_BOOST = 4.0
UA_BOOST = 2.0
# Clicks are stamped by our clock, CRM records by theirs (often to the second): a click up to
# this much "after" an identity-matched conversion is still taken as before it.
CLOCK_SKEW = timedelta(minutes=2)


@dataclass(frozen=True)
class Click:
    """A tracked click as attribution sees it (hashes only)."""

    click_id: uuid.UUID
    ad_id: uuid.UUID
    occurred_at: datetime
    email_sha256: str | None = None
    phone_sha256: str | None = None
    ip_sha256: str | None = None
    ua_sha256: str | None = None


@dataclass(frozen=True)
class ConversionKeys:
    """What a conversion carries that can tie it to a click."""

    occurred_at: datetime
    email_sha256: str | None = None
    phone_sha256: str | None = None
    ip_sha256: str | None = None
    ua_sha256: str | None = None


@dataclass(frozen=True)
class Match:
    """An attribution: the ad, the click that earned it, the layer and the confidence."""

    layer: str
    ad_id: uuid.UUID
    click_id: uuid.UUID
    confidence: float
    details: dict[str, Any] = field(default_factory=dict)


def match_click_id(click: Click | None, kind: str) -> Match | None:
    """Layer 1: a click found by its id (ours, fbclid or gclid) is the answer."""
    if click is None:
        return None
    return Match(CLICK_ID, click.ad_id, click.click_id, 1.0, {"by": kind})


def match_identity(keys: ConversionKeys, clicks: list[Click], lookback: timedelta) -> Match | None:
    """Layer 2: the latest click by the same hashed email/phone within the lookback window."""
    start = keys.occurred_at - lookback
    candidates: list[tuple[Click, float, str]] = []
    for click in clicks:
        if not start <= click.occurred_at <= keys.occurred_at + CLOCK_SKEW:
            continue
        email = bool(keys.email_sha256) and click.email_sha256 == keys.email_sha256
        phone = bool(keys.phone_sha256) and click.phone_sha256 == keys.phone_sha256
        if email and phone:
            candidates.append((click, BOTH_CONFIDENCE, "email+phone"))
        elif email:
            candidates.append((click, EMAIL_CONFIDENCE, "email"))
        elif phone:
            candidates.append((click, PHONE_CONFIDENCE, "phone"))
    if not candidates:
        return None
    click, base, by = max(candidates, key=lambda c: c[0].occurred_at)
    same_ad = sum(1 for c, _, _ in candidates if c.ad_id == click.ad_id)
    share = same_ad / len(candidates)
    return Match(
        HASHED_IDENTITY, click.ad_id, click.click_id, round(base * share, 4),
        {"by": by, "candidates": len(candidates), "ads": len({c.ad_id for c, _, _ in candidates})},
    )


def match_time_window(
    keys: ConversionKeys,
    clicks: list[Click],
    window: timedelta,
    max_confidence: float,
    min_confidence: float,
) -> Match | None:
    """Layer 3: the ad that most plausibly produced a conversion from recent clicks alone."""
    span = window.total_seconds()
    tau = span / 3.0
    weights: dict[uuid.UUID, float] = defaultdict(float)
    nearest: dict[uuid.UUID, tuple[float, Click]] = {}
    for click in clicks:
        dt = (keys.occurred_at - click.occurred_at).total_seconds()
        if dt < 0 or dt > span:
            continue
        weight = math.exp(-dt / tau)
        if keys.ip_sha256 and click.ip_sha256 == keys.ip_sha256:
            weight *= IP_BOOST
        if keys.ua_sha256 and click.ua_sha256 == keys.ua_sha256:
            weight *= UA_BOOST
        weights[click.ad_id] += weight
        if click.ad_id not in nearest or dt < nearest[click.ad_id][0]:
            nearest[click.ad_id] = (dt, click)
    total = sum(weights.values())
    if total <= 0:
        return None
    ad_id = max(weights, key=lambda a: weights[a])
    share = weights[ad_id] / total
    dt, click = nearest[ad_id]
    confidence = round(max_confidence * share * math.exp(-dt / span), 4)
    if confidence < min_confidence:
        return None
    return Match(
        TIME_WINDOW, ad_id, click.click_id, confidence,
        {"share": round(share, 4), "seconds_before": round(dt, 1), "ads": len(weights)},
    )
