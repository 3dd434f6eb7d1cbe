"""Progress streams of a generation: Server-Sent Events and WebSocket.

Both replay the run's events from the start (or after `Last-Event-ID` / `?after=N`) and
then follow it live until it finishes, whether it runs in this process or in a worker:
events are database rows, polled every `workflows_event_poll_s`.

    GET /api/v1/generate/{id}/events     text/event-stream; `id:` is the event number,
                                         `event:` the stage, `data:` the event JSON
    WS  /api/v1/generate/{id}/ws         one JSON event per message; auth by header or
                                         `?api_key=` (browsers cannot set WS headers)
Event: {"seq", "stage", "status", "message", "data", "at"}; stages requirements,
architecture, configuration, quality, review (multi-agent), validating, done, error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, WebSocket
from fastapi.responses import StreamingResponse
from starlette.websockets import WebSocketDisconnect

from revline.kernel.auth.service import resolve_api_key
from revline.kernel.config import get_settings
from revline.kernel.db import get_database
from revline.kernel.deps import PrincipalDep, SessionDep, SettingsDep
from revline.kernel.errors import RevlineError, Unauthorized
from revline.workflows.events import follow, sse
from revline.workflows.repository import GenerationRepository

router = APIRouter(prefix="/api/v1/generate", tags=["workflows"])
_END = object()


@router.get("/{ref}/events", response_class=StreamingResponse)
def events(ref: str, session: SessionDep, principal: PrincipalDep, settings: SettingsDep,
           last_event_id: Annotated[str | None, Header()] = None,
           after: Annotated[int | None, Query(ge=0)] = None) -> StreamingResponse:
    """Stage events as Server-Sent Events, replayed then live, until the run finishes."""
    principal.require("workflows:read")
    gen = GenerationRepository(session, principal.tenant_id).find(ref)
    start = after if after is not None else (
        int(last_event_id) if last_event_id and last_event_id.isdigit() else 0)
    tenant_id, generation_id = principal.tenant_id, gen.id
    session.commit()  # hold no transaction while streaming
    db = get_database(settings)

    def frames() -> Iterator[str]:
        for event in follow(db, tenant_id, generation_id, start,
                            settings.workflows_event_poll_s,
                            settings.workflows_stream_timeout_s):
            yield sse(event)

    return StreamingResponse(frames(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _ws_key(websocket: WebSocket) -> str:
    header = websocket.headers.get("authorization", "")
    key = header[7:].strip() if header.lower().startswith("bearer ") else ""
    return key or websocket.headers.get("x-api-key", "").strip() or \
        websocket.query_params.get("api_key", "").strip()


@router.websocket("/{ref}/ws")
async def events_ws(websocket: WebSocket, ref: str) -> None:
    """Stage events over a WebSocket: replayed then live; closes after the run finishes."""
    settings = get_settings()
    db = get_database(settings)
    await websocket.accept()

    def authorize() -> tuple[Any, Any]:
        key = _ws_key(websocket)
        if not key:
            raise Unauthorized("missing API key: send 'Authorization: Bearer <key>' or "
                               "?api_key=<key>")
        with db.session() as session:
            principal = resolve_api_key(session, key, settings.api_keys_pepper.get_secret_value())
            principal.require("workflows:read")
            gen = GenerationRepository(session, principal.tenant_id).find(ref)
            return principal.tenant_id, gen.id

    try:
        tenant_id, generation_id = await asyncio.to_thread(authorize)
    except RevlineError as exc:
        await websocket.send_json({"error": type(exc).__name__, "detail": exc.message,
                                   "status": exc.status_code})
        await websocket.close(code=4000 + exc.status_code)
        return
    raw_after = websocket.query_params.get("after", "0")
    after = int(raw_after) if raw_after.isdigit() else 0
    stream = follow(db, tenant_id, generation_id, after, settings.workflows_event_poll_s,
                    settings.workflows_stream_timeout_s)
    try:
        while True:
            event = await asyncio.to_thread(next, stream, _END)
            if event is _END:
                break
            if event is not None:
                await websocket.send_json(event)
        await websocket.close(code=1000)
    except WebSocketDisconnect:
        return
    finally:
        stream.close()
