"""Cost ledger summaries for the CLI and the API (reads only; the gateway writes rows)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session

from revline.kernel.errors import InvalidInput
from revline.kernel.llm.models import LLMCall

GROUPS = ("model", "provider", "feature", "job", "workflow", "agent", "conversation", "day",
          "status")
FAILED = ("error", "truncated", "invalid", "abandoned")
FILTERS = ("feature", "job", "workflow", "agent", "conversation", "model")


def _column(session: Session, by: str) -> ColumnElement[Any]:
    columns: dict[str, Any] = {
        "model": LLMCall.model,
        "provider": LLMCall.provider,
        "feature": LLMCall.feature,
        "job": LLMCall.job_id,
        "workflow": LLMCall.workflow_id,
        "agent": LLMCall.agent_id,
        "conversation": LLMCall.conversation_id,
        "status": LLMCall.status,
    }
    if by in columns:
        column: ColumnElement[Any] = columns[by]
        return column
    if by == "day":
        bind = session.get_bind()
        if bind.dialect.name == "sqlite":  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC
            return func.substr(LLMCall.created_at, 1, 10)
        return func.to_char(func.timezone("UTC", LLMCall.created_at), "YYYY-MM-DD")
    raise InvalidInput(f"cannot group costs by {by!r}; use one of {', '.join(GROUPS)}")


def _filtered(
    stmt: Select[Any],
    tenant_id: uuid.UUID,
    since: datetime | None,
    until: datetime | None,
    filters: dict[str, str | None] | None,
) -> Select[Any]:
    stmt = stmt.where(LLMCall.tenant_id == tenant_id)
    if since is not None:
        stmt = stmt.where(LLMCall.created_at >= since)
    if until is not None:
        stmt = stmt.where(LLMCall.created_at < until)
    columns: dict[str, Any] = {"feature": LLMCall.feature, "job": LLMCall.job_id,
               "workflow": LLMCall.workflow_id, "agent": LLMCall.agent_id,
               "conversation": LLMCall.conversation_id, "model": LLMCall.model}
    for name, value in (filters or {}).items():
        if value is not None:
            stmt = stmt.where(columns[name] == value)
    return stmt


def _totals(row: Any) -> dict[str, Any]:
    calls = int(row.calls or 0)
    return {
        "calls": calls,
        "cache_hits": int(row.cache_hits or 0),
        "errors": int(row.errors or 0),
        "prompt_tokens": int(row.prompt_tokens or 0),
        "completion_tokens": int(row.completion_tokens or 0),
        "cost_usd_micros": int(row.cost or 0),
        "cost_usd": int(row.cost or 0) / 1_000_000,
        "avg_latency_ms": round(float(row.latency or 0.0), 2),
    }


def cost_summary(
    session: Session,
    tenant_id: uuid.UUID,
    by: str = "model",
    since: datetime | None = None,
    until: datetime | None = None,
    filters: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    """Totals and per-group calls, tokens, cost and cache hits of one tenant's ledger."""
    key = _column(session, by).label("key")
    measures = (
        func.count().label("calls"),
        func.sum(case((LLMCall.cached, 1), else_=0)).label("cache_hits"),
        func.sum(case((LLMCall.status.in_(FAILED), 1), else_=0)).label("errors"),
        func.sum(LLMCall.prompt_tokens).label("prompt_tokens"),
        func.sum(LLMCall.completion_tokens).label("completion_tokens"),
        func.sum(LLMCall.cost_usd_micros).label("cost"),
        func.avg(LLMCall.latency_ms).label("latency"),
    )
    grouped = _filtered(select(key, *measures), tenant_id, since, until, filters)
    rows = session.execute(grouped.group_by(key).order_by(func.sum(LLMCall.cost_usd_micros)
                                                           .desc(), key)).all()
    total = session.execute(_filtered(select(*measures), tenant_id, since, until, filters)).one()
    return {
        "by": by,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "currency": "USD",
        "total": _totals(total),
        "groups": [{"key": row.key, **_totals(row)} for row in rows],
    }


def recent_calls(
    session: Session,
    tenant_id: uuid.UUID,
    limit: int = 50,
    offset: int = 0,
    filters: dict[str, str | None] | None = None,
) -> list[dict[str, Any]]:
    """The newest ledger rows of one tenant, as plain data."""
    stmt = _filtered(select(LLMCall), tenant_id, None, None, filters)
    stmt = stmt.order_by(LLMCall.created_at.desc()).limit(limit).offset(offset)
    return [call_view(row) for row in session.scalars(stmt)]


def call_view(row: LLMCall) -> dict[str, Any]:
    """One ledger row as plain data."""
    return {
        "id": str(row.id),
        "created_at": row.created_at.isoformat(),
        "feature": row.feature,
        "job_id": row.job_id,
        "workflow_id": row.workflow_id,
        "agent_id": row.agent_id,
        "conversation_id": row.conversation_id,
        "model_requested": row.model_requested,
        "provider": row.provider,
        "model": row.model,
        "status": row.status,
        "prompt_tokens": row.prompt_tokens,
        "completion_tokens": row.completion_tokens,
        "cost_usd_micros": row.cost_usd_micros,
        "reserved_usd_micros": row.reserved_usd_micros,
        "price_version": row.price_version,
        "latency_ms": round(row.latency_ms, 2),
        "cached": row.cached,
        "attempts": row.attempts,
        "error": row.error,
    }


def parse_when(text: str | None, option: str) -> datetime | None:
    """YYYY-MM-DD, an ISO time (UTC unless it says otherwise) or Nd / Nh ago."""
    if not text:
        return None
    relative = re.fullmatch(r"(\d+)([dh])", text.strip())
    if relative:
        amount = int(relative.group(1))
        delta = timedelta(days=amount) if relative.group(2) == "d" else timedelta(hours=amount)
        return datetime.now(UTC) - delta
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{option} must be YYYY-MM-DD, an ISO time, or Nd/Nh ago, "
                           f"not {text!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
