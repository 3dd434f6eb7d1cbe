"""Attribution layers with their confidences, the endpoints, and the recovery-rate report."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from revline.ads import service
from revline.ads.identity import sha256_hex
from revline.ads.models import AdClick, AdConversion
from revline.ads.schemas import AdsRules, ClickIn, ConversionIn
from revline.api.app import create_app
from revline.kernel.auth import create_api_key, ensure_tenant
from revline.kernel.config import Settings
from revline.kernel.db import Database
from tests.ads.conftest import make_ad

T0 = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
RULES = AdsRules()


def click(db: Database, tenant_id: uuid.UUID, ad_id: uuid.UUID, at: datetime,
          **kw: str) -> uuid.UUID:
    with db.session() as session:
        return service.track_click(session, tenant_id, RULES,
                                   ClickIn(ad_id=ad_id, occurred_at=at, **kw)).id  # type: ignore[arg-type]


def convert(db: Database, tenant_id: uuid.UUID, at: datetime, rules: AdsRules = RULES,
            **kw: str) -> tuple[str | None, uuid.UUID | None, float]:
    with db.session() as session:
        row = service.record_conversion(session, tenant_id, rules, ConversionIn(
            external_id=uuid.uuid4().hex, occurred_at=at, **kw))  # type: ignore[arg-type]
        return row.layer, row.ad_id, row.confidence


@pytest.fixture
def two_ads(db: Database, tenant_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    return make_ad(db, tenant_id, "a-1"), make_ad(db, tenant_id, "a-2")


def test_layer1_click_ids(db: Database, tenant_id: uuid.UUID,
                          two_ads: tuple[uuid.UUID, uuid.UUID]) -> None:
    a, b = two_ads
    ours = click(db, tenant_id, a, T0, fbclid="IwAR-fb-1")
    click(db, tenant_id, b, T0, gclid="Cj0-g-1")
    assert convert(db, tenant_id, T0 + timedelta(days=3), click_id=str(ours)) == \
        ("click_id", a, 1.0)
    assert convert(db, tenant_id, T0 + timedelta(days=3), fbclid="IwAR-fb-1") == \
        ("click_id", a, 1.0)
    assert convert(db, tenant_id, T0 + timedelta(days=3), click_id="Cj0-g-1") == \
        ("click_id", b, 1.0)


def test_layer2_hashed_email_and_phone(db: Database, tenant_id: uuid.UUID,
                                       two_ads: tuple[uuid.UUID, uuid.UUID]) -> None:
    a, b = two_ads
    click(db, tenant_id, a, T0, email="Pat.Smith+ads@Gmail.com")
    click(db, tenant_id, b, T0, phone="(415) 555-0134")
    # Aliases normalize to the same hash; no click id needed.
    assert convert(db, tenant_id, T0 + timedelta(days=2), email="patsmith@gmail.com") == \
        ("hashed_identity", a, 0.95)
    assert convert(db, tenant_id, T0 + timedelta(days=2), phone="+1 415 555 0134") == \
        ("hashed_identity", b, 0.9)
    # CRM clocks are coarse: a click stamped a minute "after" the conversion still matches,
    # one ten minutes after does not.
    assert convert(db, tenant_id, T0 - timedelta(minutes=1), email="patsmith@gmail.com")[0] == \
        "hashed_identity"
    assert convert(db, tenant_id, T0 - timedelta(minutes=10), email="patsmith@gmail.com")[0] \
        is None
    # Outside the 28-day lookback the identity no longer counts.
    assert convert(db, tenant_id, T0 + timedelta(days=40), email="patsmith@gmail.com")[0] is None
    # Only hashes are stored.
    with db.session() as session:
        row = session.scalars(select(AdClick).where(AdClick.email_sha256.is_not(None))).one()
    assert row.email_sha256 == sha256_hex("patsmith@gmail.com")


def test_layer2_confidence_drops_when_several_ads_touched_the_person(
    db: Database, tenant_id: uuid.UUID, two_ads: tuple[uuid.UUID, uuid.UUID]
) -> None:
    a, b = two_ads
    click(db, tenant_id, a, T0, email="lee@example.com")
    click(db, tenant_id, b, T0 + timedelta(hours=1), email="lee@example.com")
    layer, ad, confidence = convert(db, tenant_id, T0 + timedelta(days=1), email="lee@example.com")
    assert (layer, ad) == ("hashed_identity", b)  # last touch
    assert confidence == pytest.approx(0.95 / 2)


def test_layer3_time_window(db: Database, tenant_id: uuid.UUID,
                            two_ads: tuple[uuid.UUID, uuid.UUID]) -> None:
    a, b = two_ads
    click(db, tenant_id, a, T0 - timedelta(minutes=5), ip="203.0.113.7")
    click(db, tenant_id, b, T0 - timedelta(minutes=40))
    layer, ad, confidence = convert(db, tenant_id, T0, ip="203.0.113.7")
    assert (layer, ad) == ("time_window", a)
    assert 0.4 < confidence < 0.6  # never as sure as an id match
    # Without the IP, the nearer click still wins but with less confidence.
    layer2, ad2, weaker = convert(db, tenant_id, T0)
    assert (layer2, ad2) == ("time_window", a)
    assert weaker < confidence
    # Nothing in the window: unattributed.
    assert convert(db, tenant_id, T0 + timedelta(hours=3)) == (None, None, 0.0)
    # A strict tenant refuses weak time-window guesses.
    strict = AdsRules(min_confidence=0.55)
    assert convert(db, tenant_id, T0, strict)[0] is None


def test_recovery_report(db: Database, tenant_id: uuid.UUID,
                         two_ads: tuple[uuid.UUID, uuid.UUID]) -> None:
    a, _ = two_ads
    ours = click(db, tenant_id, a, T0, email="kim@example.com")
    convert(db, tenant_id, T0 + timedelta(hours=2), click_id=str(ours))
    convert(db, tenant_id, T0 + timedelta(hours=2), email="kim@example.com")
    convert(db, tenant_id, T0 + timedelta(minutes=10))
    convert(db, tenant_id, T0 + timedelta(days=5))
    with db.session() as session:
        report = service.recovery_report(session, tenant_id)
    assert report["conversions"] == 4
    assert report["attributed"] == 3
    assert report["recovery_rate"] == 0.75
    assert report["by_layer"]["click_id"] == {"count": 1, "share": 0.25, "mean_confidence": 1.0}
    assert report["by_layer"]["hashed_identity"]["count"] == 1
    assert report["by_layer"]["time_window"]["count"] == 1
    with db.session() as session:
        later = service.recovery_report(session, tenant_id, T0 + timedelta(days=1))
    assert later["conversions"] == 1
    assert later["recovery_rate"] == 0.0


# --- Endpoints -------------------------------------------------------------------------------
@pytest.fixture
def api(db: Database, settings: Settings) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with db.session() as session:
        _, key = create_api_key(session, ensure_tenant(session, "default"), "t",
                                ["ads:read", "ads:write"],
                                settings.api_keys_pepper.get_secret_value())
    with TestClient(create_app()) as client:
        yield client, {"Authorization": f"Bearer {key}"}


def _count(db: Database, model: type) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_click_and_conversion_endpoints(
    db: Database, tenant_id: uuid.UUID, api: tuple[TestClient, dict[str, str]]
) -> None:
    client, auth = api
    ad_id = make_ad(db, tenant_id, "adset-9")
    resp = client.post("/api/v1/ads/clicks", headers=auth, json={
        "external_ad_id": "adset-9", "fbclid": "IwAR-xyz", "email": "a@b.example"})
    assert resp.status_code == 201, resp.text
    click_id = resp.json()["click_id"]
    conv = {"external_id": "order-1", "click_id": click_id, "value_minor": 12_000}
    resp = client.post("/api/v1/ads/conversions", headers=auth, json=conv)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert (body["ad_id"], body["layer"], body["confidence"]) == (str(ad_id), "click_id", 1.0)
    # The same conversion again is a 409 and nothing new is stored.
    again = client.post("/api/v1/ads/conversions", headers=auth, json=conv)
    assert again.status_code == 409
    assert "already recorded" in again.json()["detail"]
    assert _count(db, AdConversion) == 1
    report = client.get("/api/v1/ads/attribution/report", headers=auth).json()
    assert report["recovery_rate"] == 1.0


def test_bad_tracking_input_is_4xx_without_state(
    db: Database, tenant_id: uuid.UUID, api: tuple[TestClient, dict[str, str]]
) -> None:
    client, auth = api
    make_ad(db, tenant_id, "adset-1")
    unknown = client.post("/api/v1/ads/clicks", headers=auth,
                          json={"external_ad_id": "no-such-ad", "fbclid": "x"})
    assert unknown.status_code == 404
    assert "unknown ad" in unknown.json()["detail"]
    missing = client.post("/api/v1/ads/clicks", headers=auth,
                          json={"ad_id": str(uuid.uuid4())})
    assert missing.status_code == 404
    both = client.post("/api/v1/ads/clicks", headers=auth, json={"fbclid": "x"})
    assert both.status_code == 422
    bad_email = client.post("/api/v1/ads/conversions", headers=auth,
                            json={"external_id": "o-2", "email": "not-an-email"})
    assert bad_email.status_code == 422
    assert "email" in bad_email.json()["detail"]
    naive = client.post("/api/v1/ads/conversions", headers=auth,
                        json={"external_id": "o-3", "occurred_at": "2026-11-20T10:00:00"})
    assert naive.status_code == 422
    assert "timezone" in naive.json()["detail"]
    assert _count(db, AdClick) == 0
    assert _count(db, AdConversion) == 0
    reader_only = client.get("/api/v1/ads/attribution/report")
    assert reader_only.status_code == 401


@pytest.mark.postgres
def test_simultaneous_duplicate_conversions_get_one_409(pg_url: str) -> None:
    """Both requests pass the duplicate check; the unique constraint decides, cleanly."""
    import threading

    from revline.kernel.errors import Conflict

    pg = Database(pg_url)
    pg.migrate()
    try:
        with pg.session() as session:
            tenant = ensure_tenant(session, "race").id
        data = ConversionIn(external_id="order-77", occurred_at=T0)  # type: ignore[call-arg]
        first = pg.sessionmaker()
        service.record_conversion(first, tenant, RULES, data)  # inserted, not yet committed
        outcome: list[BaseException | None] = []

        def second() -> None:
            try:
                with pg.session() as session:
                    service.record_conversion(session, tenant, RULES, data)
                outcome.append(None)
            except BaseException as exc:  # noqa: BLE001 - the test inspects it
                outcome.append(exc)

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive()  # its insert waits on the first transaction's row lock
        first.commit()
        first.close()
        thread.join(10)
        assert len(outcome) == 1
        assert isinstance(outcome[0], Conflict), outcome
        assert "already recorded" in str(outcome[0])
        with pg.session() as session:
            count = session.scalar(select(func.count()).select_from(AdConversion))
        assert count == 1
    finally:
        pg.dispose()
