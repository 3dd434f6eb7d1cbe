"""HubSpot adapter, pipeline value from stages and probabilities, webhook signatures."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from revline.ads import service
from revline.ads.adapters.hubspot import parse_webhook, sign_v3, verify_v3
from revline.ads.models import Ad, CrmDeal, CrmStage, CrmWebhookEvent
from revline.ads.schemas import ClickIn
from revline.api.app import create_app
from revline.kernel.auth import Tenant
from revline.kernel.config import get_settings
from revline.kernel.db import Database
from revline.kernel.errors import InvalidInput, Unauthorized
from tests.ads.conftest import make_ad
from tests.emulators.hubspot_server import (
    HUBSPOT_SECRET,
    HubSpotEmulator,
    deal_event,
    signed_webhook,
)

CLICK_TIME = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)


def _pipeline_fixture(db: Database, hubspot: HubSpotEmulator,
                      tenant_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """Two ads; deals reach them by click-id property and by the contact's email."""
    a = make_ad(db, tenant_id, "hs-a", spend=150_000)
    b = make_ad(db, tenant_id, "hs-b", spend=100_000)
    rules = service.get_rules
    with db.session() as session:
        r = rules(session, tenant_id)
        ours = service.track_click(session, tenant_id, r,
                                   ClickIn(ad_id=a, occurred_at=CLICK_TIME)).id
        service.track_click(session, tenant_id, r, ClickIn(
            ad_id=b, occurred_at=CLICK_TIME, email="Robin@Example.com"))
    hubspot.add_deal("101", stage="appointmentscheduled", amount="4500", click_id=str(ours))
    hubspot.add_deal("102", stage="closedwon", amount="7000.50", contact="9001")
    hubspot.add_deal("103", stage="presentationscheduled", amount="10000", contact="9001")
    hubspot.add_deal("104", stage="qualifiedtobuy", amount="800")  # no identifiers at all
    hubspot.add_contact("9001", email="robin@example.com")
    return a, b


def _sync(db: Database, tenant_id: uuid.UUID) -> dict[str, object]:
    with db.session() as session:
        return service.sync_hubspot(session, get_settings(), tenant_id)


def _values(db: Database) -> dict[str, tuple[int, int]]:
    with db.session() as session:
        return {a.external_id: (a.pipeline_value_minor, a.pipeline_deals)
                for a in session.scalars(select(Ad))}


def test_sync_and_pipeline_value_from_stage_values(
    db: Database, hubspot: HubSpotEmulator, tenant_id: uuid.UUID
) -> None:
    a, b = _pipeline_fixture(db, hubspot, tenant_id)
    with db.session() as session:
        service.set_rule(session, tenant_id, "stage_values.appointment_scheduled", "225000")
        service.set_rule(session, tenant_id, "stage_values.presentationscheduled", "300000")
    summary = _sync(db, tenant_id)
    assert summary["deals"] == 4
    assert summary["created"] == 4
    assert summary["stages"] == 7
    # hs-a: one appointment ($2,250). hs-b: closed won (real amount) + a presentation ($3,000).
    assert _values(db) == {"hs-a": (225_000, 1), "hs-b": (700_050 + 300_000, 2)}
    with db.session() as session:
        views = {v.external_id: v for v in service.ad_views(session, tenant_id)}
        stage = session.scalars(select(CrmStage).where(
            CrmStage.stage_id == "presentationscheduled")).one()
        deal = session.scalars(select(CrmDeal).where(CrmDeal.external_id == "102")).one()
    assert stage.probability == 0.6
    assert not stage.is_closed
    assert deal.amount_minor == 700_050
    service_mode = views["hs-a"].mode
    assert service_mode == "direct"
    with db.session() as session:
        service.set_rule(session, tenant_id, "mode", "pipeline")
        views = {v.external_id: v for v in service.ad_views(session, tenant_id)}
    assert views["hs-a"].roas == pytest.approx(225_000 / 150_000)
    assert views["hs-b"].roas == pytest.approx(1_000_050 / 100_000)
    # Re-sync is idempotent.
    assert _sync(db, tenant_id)["created"] == 0
    assert _values(db)["hs-b"] == (1_000_050, 2)


def test_pipeline_value_from_probability_times_amount(
    db: Database, hubspot: HubSpotEmulator, tenant_id: uuid.UUID
) -> None:
    _pipeline_fixture(db, hubspot, tenant_id)
    with db.session() as session:
        service.set_rule(session, tenant_id, "value_source", "probability")
    _sync(db, tenant_id)
    # 0.2 x 4,500 | 1.0 x 7,000.50 + 0.6 x 10,000
    assert _values(db) == {"hs-a": (90_000, 1), "hs-b": (700_050 + 600_000, 2)}


def test_deals_page_through_more_than_one_hundred(
    db: Database, hubspot: HubSpotEmulator, tenant_id: uuid.UUID
) -> None:
    for i in range(1, 131):
        hubspot.add_deal(str(1000 + i), stage="qualifiedtobuy", amount="100")
    assert _sync(db, tenant_id)["deals"] == 130
    pages = [p for m, p in hubspot.requests if p == "/crm/v3/objects/deals"]
    assert len(pages) == 2


def test_bad_token_is_a_clear_error(
    db: Database, hubspot: HubSpotEmulator, tenant_id: uuid.UUID,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from revline.kernel.errors import RevlineError

    monkeypatch.setenv("REVLINE_HUBSPOT_ACCESS_TOKEN", "pat-wrong")
    get_settings.cache_clear()
    with pytest.raises(RevlineError, match="rejected the access token") as err:
        _sync(db, tenant_id)
    assert "pat-wrong" not in err.value.message
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(CrmDeal)) == 0


# --- Signatures ------------------------------------------------------------------------------
URL = "https://revline.example/api/v1/ads/webhooks/hubspot"


def test_signature_v3_matches_hubspot_and_rejects_tampering() -> None:
    now = datetime.now(UTC)
    body, headers = signed_webhook(URL, [deal_event(5)])
    ts, sig = headers["X-HubSpot-Request-Timestamp"], headers["X-HubSpot-Signature-v3"]
    verify_v3(HUBSPOT_SECRET, "POST", URL, body, ts, sig, now, 300)
    assert sign_v3(HUBSPOT_SECRET, "POST", URL, body, ts) == sig
    with pytest.raises(Unauthorized, match="does not match"):
        verify_v3(HUBSPOT_SECRET, "POST", URL, body + b" ", ts, sig, now, 300)
    with pytest.raises(Unauthorized, match="does not match"):
        verify_v3("other-secret", "POST", URL, body, ts, sig, now, 300)
    with pytest.raises(Unauthorized, match="old"):
        verify_v3(HUBSPOT_SECRET, "POST", URL, body, ts, sig, now + timedelta(minutes=6), 300)
    with pytest.raises(Unauthorized, match="missing"):
        verify_v3(HUBSPOT_SECRET, "POST", URL, body, ts, None, now, 300)
    # HubSpot signs some percent-escapes decoded.
    escaped = URL + "?portal=a%3Ab"
    body2, h2 = signed_webhook(URL + "?portal=a:b", [deal_event(5)])
    verify_v3(HUBSPOT_SECRET, "POST", escaped, body2, h2["X-HubSpot-Request-Timestamp"],
              h2["X-HubSpot-Signature-v3"], now, 300)


def test_webhook_payload_validation() -> None:
    assert parse_webhook(b'[{"eventId": 1, "subscriptionType": "deal.creation", '
                         b'"objectId": 7, "occurredAt": 1}]')[0].object_id == 7
    for bad, why in [(b"{}", "non-empty JSON array"), (b"[]", "non-empty"),
                     (b"nope", "not JSON"), (b'[{"eventId": 1}]', "missing subscriptionType"),
                     (b'[{"eventId": "1", "subscriptionType": "x", "objectId": 1, '
                      b'"occurredAt": 1}]', "eventId must be an integer")]:
        with pytest.raises(InvalidInput, match=why):
            parse_webhook(bad)


@pytest.fixture
def client(db: Database, hubspot: HubSpotEmulator) -> Iterator[TestClient]:
    with TestClient(create_app(), base_url="https://revline.example") as c:
        yield c


def _rows(db: Database) -> tuple[int, int]:
    with db.session() as session:
        return (int(session.scalar(select(func.count()).select_from(CrmWebhookEvent)) or 0),
                int(session.scalar(select(func.count()).select_from(Tenant)) or 0))


def test_webhook_endpoint_401_422_and_queueing(db: Database, client: TestClient) -> None:
    path = "/api/v1/ads/webhooks/hubspot"
    body, headers = signed_webhook(URL, [deal_event(101, value="closedwon")])
    before = _rows(db)
    forged = client.post(path, content=body, headers={**headers, "X-HubSpot-Signature-v3": "x"})
    assert forged.status_code == 401
    assert "signature" in forged.json()["detail"]
    unsigned = client.post(path, content=body, headers={"content-type": "application/json"})
    assert unsigned.status_code == 401
    bad_body, bad_headers = signed_webhook(URL, [{"objectId": 1}])
    invalid = client.post(path, content=bad_body, headers=bad_headers)
    assert invalid.status_code == 422
    assert "missing eventId" in invalid.json()["detail"]
    assert _rows(db) == before  # nothing stored, not even a tenant
    ok = client.post(path, content=body, headers=headers)
    assert ok.status_code == 202, ok.text
    with db.session() as session:
        row = session.get(CrmWebhookEvent, uuid.UUID(ok.json()["event_id"]))
        assert row is not None
        assert row.status == "queued"
        assert row.event_count == 1
        assert row.body[0]["propertyValue"] == "closedwon"


def _clicked_ad(db: Database, tenant_id: uuid.UUID, external_id: str) -> tuple[str, str]:
    """An ad that spent $1,000 and one tracked click on it: (ad id, click id)."""
    ad = make_ad(db, tenant_id, external_id, spend=100_000)
    with db.session() as session:
        click = service.track_click(session, tenant_id, service.get_rules(session, tenant_id),
                                    ClickIn(ad_id=ad, occurred_at=CLICK_TIME))
        return str(ad), str(click.id)


def _deliver(db: Database, tenant_id: uuid.UUID, events: list[dict[str, Any]]
             ) -> dict[str, Any]:
    """A signed delivery, stored by the endpoint's code and processed as the worker would."""
    body, headers = signed_webhook(URL, events)
    with db.session() as session:
        event_id = service.store_webhook(
            session, get_settings(), method="POST", uri=URL, body=body,
            signature=headers["X-HubSpot-Signature-v3"],
            timestamp=headers["X-HubSpot-Request-Timestamp"]).id
    with db.session() as session:
        return service.process_webhook(session, get_settings(), tenant_id, event_id)


def test_webhook_without_api_access_updates_known_deals(
    db: Database, tenant_id: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    from revline.ads.schemas import CrmIngestIn

    _, click = _clicked_ad(db, tenant_id, "w-a")
    with db.session() as session:
        service.set_rule(session, tenant_id, "stage_values.closedwon", "500000")
        service.ingest(session, tenant_id, CrmIngestIn.model_validate({"deals": [
            {"deal_id": "77", "stage": "appointmentscheduled", "amount": "900",
             "click_id": click, "created_at": "2026-11-19T10:00:00Z"}]}))
    assert _values(db)["w-a"] == (0, 1)
    monkeypatch.setenv("REVLINE_HUBSPOT_CLIENT_SECRET", HUBSPOT_SECRET)
    get_settings.cache_clear()
    result = _deliver(db, tenant_id, [deal_event(77, value="closedwon"),
                                      deal_event(999, value="closedwon", event_id=2)])
    assert (result["updated"], result["skipped"]) == (1, 1)
    assert _values(db)["w-a"] == (500_000, 1)


def test_webhook_without_api_access_clears_amounts_and_restores_deals(
    db: Database, tenant_id: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    from revline.ads.schemas import CrmIngestIn

    _, click = _clicked_ad(db, tenant_id, "w-b")
    with db.session() as session:
        service.set_rule(session, tenant_id, "value_source", "probability")
        service.set_rule(session, tenant_id, "expected_deal_value_minor", "200000")
        service.ingest(session, tenant_id, CrmIngestIn.model_validate({
            "pipelines": [{"id": "default", "stages": [
                {"id": "appointmentscheduled", "probability": 0.5}]}],
            "deals": [{"deal_id": "78", "stage": "appointmentscheduled", "amount": "900",
                       "click_id": click, "created_at": "2026-11-19T10:00:00Z"}]}))
    assert _values(db)["w-b"] == (45_000, 1)  # 0.5 x 900.00
    monkeypatch.setenv("REVLINE_HUBSPOT_CLIENT_SECRET", HUBSPOT_SECRET)
    get_settings.cache_clear()
    # The amount was cleared in HubSpot: the expected deal value stands in again.
    assert _deliver(db, tenant_id, [deal_event(78, prop="amount", value="")])["updated"] == 1
    assert _values(db)["w-b"] == (100_000, 1)  # 0.5 x 2,000.00
    assert _deliver(db, tenant_id, [deal_event(78, "deal.deletion")])["archived"] == 1
    assert _values(db)["w-b"] == (0, 0)
    assert _deliver(db, tenant_id, [deal_event(78, "deal.restore", event_id=3)])["updated"] == 1
    assert _values(db)["w-b"] == (100_000, 1)
