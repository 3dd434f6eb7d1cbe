"""Progress over SSE and WebSocket: replayed for a finished run, live for a worker's run."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

import revline.kernel.jobs.app as jobs_app
from revline.kernel.config import get_settings
from revline.kernel.jobs import make_celery
from revline.registry import configure_jobs
from tests.emulators.llm_server import LLMEmulator
from tests.workflows.script import REQUIREMENT, team

pytestmark = pytest.mark.usefixtures("embedder")
STAGES = [("requirements", "started"), ("requirements", "finished"),
          ("architecture", "started"), ("architecture", "finished"),
          ("configuration", "started"), ("configuration", "finished"),
          ("quality", "started"), ("quality", "finished"),
          ("validating", "started"), ("validating", "finished"), ("done", "finished")]


def sse_events(client: TestClient, url: str, headers: dict[str, str]
               ) -> Iterator[tuple[dict[str, Any], dict[str, str]]]:
    """(event JSON, frame fields) for each SSE frame until the server ends the stream."""
    with client.stream("GET", url, headers=headers) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        fields: dict[str, str] = {}
        for line in resp.iter_lines():
            if not line:
                if "data" in fields:
                    yield json.loads(fields["data"]), fields
                fields = {}
            elif not line.startswith(":"):
                key, _, value = line.partition(": ")
                fields[key] = value


def ws_events(client: TestClient, url: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every message until the server closes the socket normally."""
    received = []
    code = None
    with client.websocket_connect(url, **kwargs) as ws:
        while code is None:
            try:
                received.append(ws.receive_json())
            except WebSocketDisconnect as exc:
                code = exc.code
    assert code == 1000
    return received


def test_a_finished_run_replays_over_sse_and_websocket(
    client: TestClient, auth: dict[str, str]
) -> None:
    gen = client.post("/api/v1/generate/simple", json={"requirement": "summarise meeting "
                      "notes into decisions and action items"}, headers=auth).json()
    url = f"/api/v1/generate/{gen['id']}"
    frames = list(sse_events(client, f"{url}/events", auth))
    pairs = [(e["stage"], e["status"]) for e, _ in frames if e["status"] != "info"]
    assert pairs == STAGES
    assert [int(f["id"]) for _, f in frames] == [e["seq"] for e, _ in frames]
    assert [f["event"] for _, f in frames] == [e["stage"] for e, _ in frames]
    assert frames[-1][0]["data"]["version"] == 1
    # Resuming after event 4 sends only what followed.
    later = list(sse_events(client, f"{url}/events", {**auth, "Last-Event-ID": "4"}))
    assert [e["seq"] for e, _ in later] == [e["seq"] for e, _ in frames if e["seq"] > 4]
    over_ws = ws_events(client, f"{url}/ws", headers=auth)
    assert over_ws == [e for e, _ in frames]
    key = auth["Authorization"].removeprefix("Bearer ")
    assert ws_events(client, f"{url}/ws?api_key={key}&after=9") == \
        [e for e, _ in frames if e["seq"] > 9]


def test_websocket_refuses_without_a_key(client: TestClient, auth: dict[str, str]) -> None:
    gen = client.post("/api/v1/generate/retrieval", json={"requirement": "translate product "
                      "descriptions into German"}, headers=auth).json()
    with client.websocket_connect(f"/api/v1/generate/{gen['id']}/ws") as ws:
        message = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert message["status"] == 401
    assert "missing API key" in message["detail"]
    assert closed.value.code == 4401


@pytest.mark.slow
def test_a_worker_run_streams_live_to_sse_and_websocket(
    client: TestClient, auth: dict[str, str], llm: LLMEmulator
) -> None:
    scripted = team()

    def slow(payload: dict[str, Any]) -> str:
        time.sleep(0.4)  # each step takes a while, so the streams see the run progress
        return scripted(payload)

    llm.responder = slow
    configure_jobs()
    app = make_celery(get_settings())
    jobs_app._app = app  # the after-commit hook sends through this app
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        queued = client.post("/api/v1/generate/full",
                             json={"requirement": REQUIREMENT, "wait": False}, headers=auth)
        assert queued.status_code == 202, queued.text
        gen = queued.json()
        assert gen["status"] == "queued"
        arrivals: list[tuple[datetime, dict[str, Any]]] = []
        for event, _ in sse_events(client, f"/api/v1/generate/{gen['id']}/events", auth):
            arrivals.append((datetime.now(UTC), event))
        over_ws = ws_events(client, f"/api/v1/generate/{gen['id']}/ws", headers=auth)
    events = [e for _, e in arrivals]
    assert [(e["stage"], e["status"]) for e in events if e["status"] != "info"] == STAGES
    done_at = datetime.fromisoformat(events[-1]["at"])
    # Live: the first events reached the client while the worker was still generating.
    assert arrivals[0][0] < done_at
    assert over_ws == events
    final = client.get(f"/api/v1/generate/{gen['id']}", headers=auth).json()
    assert final["status"] == "done"
    assert final["mode"] == "full"
    assert final["current"]["valid"] is True
