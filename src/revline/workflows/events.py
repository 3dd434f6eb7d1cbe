"""Progress events: written as rows by the run, read back by SSE and WebSocket streams.

Each event is committed on its own, so a stream in another process (the API while a
Celery worker generates, or the reverse) sees it within one poll. Writing an event is also
the run's heartbeat: the generation's `updated_at` moves, which is how a silent (killed)
run is told apart from a slow one.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Generator
from typing import Any

from revline.kernel.db import Database
from revline.kernel.db.base import utcnow
from revline.workflows.generator.types import Emit
from revline.workflows.models import WorkflowEvent, WorkflowGeneration
from revline.workflows.repository import FINISHED, EventRepository, GenerationRepository

KEEPALIVE_S = 15.0


def event_dict(row: WorkflowEvent) -> dict[str, Any]:
    """JSON form of an event (the SSE `data`, the WebSocket message)."""
    return {"seq": row.seq, "stage": row.stage, "status": row.status, "message": row.message,
            "data": row.data, "at": row.created_at.isoformat()}


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return loaded


class EventWriter:
    """The run's `emit`: persist the event, heartbeat the generation, tell a local listener."""

    def __init__(self, db: Database, tenant_id: uuid.UUID, generation_id: uuid.UUID,
                 listener: Emit | None = None) -> None:
        self.db = db
        self.tenant_id = tenant_id
        self.generation_id = generation_id
        self.listener = listener

    def __call__(self, stage: str, status: str, message: str, data: dict[str, Any]) -> None:
        """Record one event (its own transaction)."""
        payload = _jsonable(data)
        now = utcnow()
        with self.db.session() as session:
            EventRepository(session, self.tenant_id).append(
                self.generation_id, stage, status, message, payload, now)
            gen = session.get(WorkflowGeneration, self.generation_id)
            if gen is not None and gen.status == "running":
                gen.updated_at = now
                if status == "started":
                    gen.stage = stage
        if self.listener is not None:
            self.listener(stage, status, message, payload)


def follow(
    db: Database, tenant_id: uuid.UUID, generation_id: uuid.UUID, after: int = 0,
    poll_s: float = 0.25, timeout_s: float = 1800.0,
) -> Generator[dict[str, Any] | None, None, None]:
    """Yield events after `after` as they arrive, None when idle for KEEPALIVE_S.

    Ends once the generation has finished and every event has been delivered (a stream
    opened after the end replays the whole run), or after `timeout_s`.
    """
    deadline = time.monotonic() + timeout_s
    last, idle_since = after, time.monotonic()
    while True:
        with db.session() as session:
            # Status first: a run commits its events before (or with) its final status, so
            # events read after a finished status are all of them, whatever the isolation.
            gen = GenerationRepository(session, tenant_id).get(generation_id)
            finished = gen.status in FINISHED
            rows = EventRepository(session, tenant_id).since(generation_id, last)
            events = [event_dict(r) for r in rows]
        for event in events:
            last = event["seq"]
            yield event
        if events:
            idle_since = time.monotonic()
            continue  # there may be more in the next page
        if finished or time.monotonic() > deadline:
            return
        if time.monotonic() - idle_since >= KEEPALIVE_S:
            idle_since = time.monotonic()
            yield None
        time.sleep(poll_s)


def sse(event: dict[str, Any] | None) -> str:
    """One Server-Sent Events frame (a comment line for keep-alives)."""
    if event is None:
        return ": keep-alive\n\n"
    return (f"id: {event['seq']}\nevent: {event['stage']}\n"
            f"data: {json.dumps(event, ensure_ascii=False)}\n\n")
