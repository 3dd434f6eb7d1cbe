"""Pattern usage and success: how often each pattern is retrieved and built on, and how the
workflows built on it fare (validity rate, mean quality score, mean cost)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Integer, case, cast, func, select
from sqlalchemy.orm import Session

from revline.kernel.config import Settings
from revline.knowledge import service as kb
from revline.workflows.models import PatternUsage, WorkflowGeneration, WorkflowVersion


def pattern_stats(session: Session, tenant_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    """Per pattern id: retrieved, used, valid_used, validity_rate, mean quality and cost."""
    used = PatternUsage.used
    rows = session.execute(
        select(
            PatternUsage.pattern_id,
            func.count().label("retrieved"),
            func.sum(cast(used, Integer)).label("used"),
            func.sum(case((used & WorkflowVersion.valid, 1), else_=0)).label("valid_used"),
            func.avg(case((used, WorkflowVersion.quality_score))).label("quality"),
            func.avg(case((used, WorkflowVersion.cost_usd_micros))).label("cost"),
            func.avg(PatternUsage.rank).label("rank"),
            func.max(PatternUsage.created_at).label("last"),
        )
        .join(WorkflowVersion, WorkflowVersion.id == PatternUsage.version_id)
        .where(PatternUsage.tenant_id == tenant_id)
        .group_by(PatternUsage.pattern_id)
    ).all()
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        n_used = int(row.used or 0)
        out[row.pattern_id] = {
            "retrieved": int(row.retrieved),
            "used": n_used,
            "valid_used": int(row.valid_used or 0),
            "validity_rate": round(int(row.valid_used or 0) / n_used, 4) if n_used else None,
            "mean_quality": round(float(row.quality), 1) if row.quality is not None else None,
            "mean_cost_usd_micros": round(float(row.cost)) if row.cost is not None else None,
            "mean_rank": round(float(row.rank), 2),
            "last_retrieved_at": row.last.isoformat() if row.last is not None else None,
        }
    return out


def mode_stats(session: Session, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    """Per mode that ran: versions, validity rate, mean quality, mean and total cost."""
    rows = session.execute(
        select(
            WorkflowVersion.mode,
            func.count().label("versions"),
            func.sum(cast(WorkflowVersion.valid, Integer)).label("valid"),
            func.avg(WorkflowVersion.quality_score).label("quality"),
            func.avg(WorkflowVersion.cost_usd_micros).label("cost"),
            func.sum(WorkflowVersion.cost_usd_micros).label("total"),
        )
        .where(WorkflowVersion.tenant_id == tenant_id, WorkflowVersion.source != "edit")
        .group_by(WorkflowVersion.mode).order_by(WorkflowVersion.mode)
    ).all()
    return [{
        "mode": row.mode, "versions": int(row.versions),
        "validity_rate": round(int(row.valid or 0) / int(row.versions), 4),
        "mean_quality": round(float(row.quality or 0), 1),
        "mean_cost_usd_micros": round(float(row.cost or 0)),
        "total_cost_usd_micros": int(row.total or 0),
    } for row in rows]


def usage(session: Session, settings: Settings, tenant_id: uuid.UUID) -> dict[str, Any]:
    """Every pattern of the tenant with its figures (zeros for never-retrieved ones), most
    used first, plus per-mode figures and generation counts by status."""
    stats = pattern_stats(session, tenant_id)
    names = {r.id: r for r in kb.list_patterns(session, tenant_id, settings=settings)}
    empty = {"retrieved": 0, "used": 0, "valid_used": 0, "validity_rate": None,
             "mean_quality": None, "mean_cost_usd_micros": None, "mean_rank": None,
             "last_retrieved_at": None}
    patterns = []
    for pid in sorted(set(names) | set(stats)):
        record = names.get(pid)
        patterns.append({
            "id": pid, "name": record.name if record else None,
            "origin": record.origin if record else "deleted",
            **stats.get(pid, empty),
        })
    patterns.sort(key=lambda p: (-p["used"], -p["retrieved"], p["id"]))
    statuses = {str(status): int(n) for status, n in session.execute(
        select(WorkflowGeneration.status, func.count())
        .where(WorkflowGeneration.tenant_id == tenant_id)
        .group_by(WorkflowGeneration.status)).all()}
    total_cost = session.scalar(select(func.sum(WorkflowGeneration.cost_usd_micros)).where(
        WorkflowGeneration.tenant_id == tenant_id)) or 0
    return {
        "patterns": patterns,
        "modes": mode_stats(session, tenant_id),
        "generations": statuses,
        "total_cost_usd_micros": int(total_cost),
    }
