"""Pattern library and winner index over HTTP, plus the seed ML service's legacy routes.

Legacy bodies (kept for old clients):

    POST /api/ml/rag/add-winner
      {"ad_id": "A1", "text": "...", "headline": "", "channel": "meta", "kind": "ad",
       "metrics": {"impressions": 12000, "clicks": 240, "conversions": 12,
                   "spend": 150.0, "revenue": 900.0, "currency": "USD"},
       "created_at": "2026-10-01T00:00:00Z", "observed_at": "2026-11-01T00:00:00Z"}
      -> {"status": "ok", "id": "<uuid>", "created": true}

    POST /api/ml/rag/find-similar
      {"text": "...", "top_k": 5, "channel": "meta", "metric": "ctr"}
      -> {"results": [{"id", "ad_id", "text", "channel", "score", "similarity", "ctr",
                       "lower_bound", "impressions", "clicks", "conversions", ...}]}
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from revline.kernel.deps import PrincipalDep, SessionDep, SettingsDep
from revline.knowledge import service
from revline.knowledge.schemas import (
    LegacyAddWinnerIn,
    LegacyFindSimilarIn,
    PatternSearchIn,
    WinnerIn,
    WinnerSearchIn,
)
from revline.knowledge.winners import (
    WinnerInput,
    delete_winner,
    require_winner,
    winner_dict,
)

router = APIRouter(tags=["knowledge"])


# Patterns ---------------------------------------------------------------------------------
@router.get("/api/v1/kb/patterns")
def list_patterns(session: SessionDep, principal: PrincipalDep, settings: SettingsDep,
                  category: str | None = None, mode: str | None = None) -> list[dict[str, Any]]:
    """Patterns of this tenant (bundled and own), without their graphs."""
    principal.require("kb:read")
    records = service.list_patterns(session, principal.tenant_id, settings=settings)
    return [
        r.to_dict(full=False) for r in records
        if (category is None or r.category == category) and (mode is None or r.mode == mode)
    ]


@router.post("/api/v1/kb/patterns/search")
def search_patterns(body: PatternSearchIn, session: SessionDep, principal: PrincipalDep,
                    settings: SettingsDep) -> list[dict[str, Any]]:
    """Patterns most relevant to a requirement; filters: category, mode, tags, origin."""
    principal.require("kb:read")
    found = service.search_patterns(session, principal.tenant_id, body.text, body.k,
                                    body.filters, settings=settings)
    return [{**record.to_dict(full=False), "score": round(score, 6)} for record, score in found]


@router.get("/api/v1/kb/patterns/{pattern_id}")
def get_pattern(pattern_id: str, session: SessionDep, principal: PrincipalDep,
                settings: SettingsDep) -> dict[str, Any]:
    """One pattern with its Dify graph."""
    principal.require("kb:read")
    return service.get_pattern(session, principal.tenant_id, pattern_id,
                               settings=settings).to_dict()


@router.put("/api/v1/kb/patterns/{pattern_id}")
def put_pattern(pattern_id: str, body: dict[str, Any], session: SessionDep,
                principal: PrincipalDep, settings: SettingsDep) -> dict[str, Any]:
    """Create or replace a tenant pattern (schema v1); the id in the body must match."""
    principal.require("kb:write")
    from revline.kernel.errors import InvalidInput

    if body.get("id", pattern_id) != pattern_id:
        raise InvalidInput(f"body id {body.get('id')!r} does not match the URL ({pattern_id})")
    record = service.upsert_pattern(session, principal.tenant_id, {**body, "id": pattern_id},
                                    settings=settings)
    return record.to_dict()


@router.delete("/api/v1/kb/patterns/{pattern_id}", status_code=204)
def remove_pattern(pattern_id: str, session: SessionDep, principal: PrincipalDep,
                   settings: SettingsDep) -> Response:
    """Delete a pattern (a deleted bundled pattern is not seeded again)."""
    principal.require("kb:write")
    service.delete_pattern(session, principal.tenant_id, pattern_id, settings=settings)
    return Response(status_code=204)


# Winners ----------------------------------------------------------------------------------
@router.post("/api/v1/kb/winners", status_code=201)
def add_winner(body: WinnerIn, response: Response, session: SessionDep,
               principal: PrincipalDep, settings: SettingsDep) -> dict[str, Any]:
    """Record a winning creative; the same creative again updates its metrics (200)."""
    principal.require("kb:write")
    row, created = service.add_winner(session, principal.tenant_id,
                                      WinnerInput(**body.model_dump()), settings=settings)
    if not created:
        response.status_code = 200
    return {**winner_dict(row), "created": created}


@router.get("/api/v1/kb/winners/{winner_id}")
def get_winner(winner_id: str, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """One winner."""
    principal.require("kb:read")
    return winner_dict(require_winner(session, principal.tenant_id, winner_id))


@router.delete("/api/v1/kb/winners/{winner_id}", status_code=204)
def remove_winner(winner_id: str, session: SessionDep, principal: PrincipalDep,
                  settings: SettingsDep) -> Response:
    """Forget a winner."""
    principal.require("kb:write")
    row = require_winner(session, principal.tenant_id, winner_id)
    delete_winner(session, settings, principal.tenant_id, row.id)
    return Response(status_code=204)


@router.post("/api/v1/kb/winners/search")
def search_winners(body: WinnerSearchIn, session: SessionDep, principal: PrincipalDep,
                   settings: SettingsDep) -> list[dict[str, Any]]:
    """Winners similar to a creative, ranked by similarity, proven rate and recency."""
    principal.require("kb:read")
    hits = service.find_similar(session, principal.tenant_id, body.text, body.k, body.channel,
                                body.kind, body.metric, settings=settings)
    return [hit.to_dict() for hit in hits]


@router.post("/api/ml/rag/add-winner", tags=["legacy"])
def legacy_add_winner(body: LegacyAddWinnerIn, session: SessionDep, principal: PrincipalDep,
                      settings: SettingsDep) -> dict[str, Any]:
    """Legacy shape of add-winner (money as decimals, metrics nested)."""
    principal.require("kb:write")
    m = body.metrics
    winner = WinnerInput(
        body=body.text, headline=body.headline, channel=body.channel, kind=body.kind,
        external_id=body.ad_id, impressions=m.impressions, clicks=m.clicks,
        conversions=m.conversions, spend_minor=round(m.spend * 100),
        revenue_minor=round(m.revenue * 100), currency=m.currency,
        launched_at=body.created_at, observed_at=body.observed_at,
    )
    row, created = service.add_winner(session, principal.tenant_id, winner, settings=settings)
    return {"status": "ok", "id": str(row.id), "created": created}


@router.post("/api/ml/rag/find-similar", tags=["legacy"])
def legacy_find_similar(body: LegacyFindSimilarIn, session: SessionDep,
                        principal: PrincipalDep, settings: SettingsDep) -> dict[str, Any]:
    """Legacy shape of find-similar."""
    principal.require("kb:read")
    hits = service.find_similar(session, principal.tenant_id, body.text, body.top_k,
                                body.channel, body.kind, body.metric, settings=settings)
    results = []
    for hit in hits:
        row = hit.winner
        results.append({
            "id": str(row.id), "ad_id": row.external_id,
            "text": "\n".join(p for p in (row.headline, row.body) if p),
            "channel": row.channel, "kind": row.kind, "score": round(hit.score, 6),
            "similarity": round(hit.similarity, 6), body.metric: round(hit.rate, 6),
            "lower_bound": round(hit.lower_bound, 6), "impressions": row.impressions,
            "clicks": row.clicks, "conversions": row.conversions,
            "spend": row.spend_minor / 100, "revenue": row.revenue_minor / 100,
            "duplicates": hit.duplicates,
        })
    return {"results": results}
