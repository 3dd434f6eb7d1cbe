"""Pydantic in/out models of the LLM API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

BudgetScope = Literal["tenant", "job", "workflow", "agent", "conversation"]


class BudgetIn(BaseModel):
    """Create or change a budget."""

    scope: BudgetScope = "tenant"
    ref: str | None = Field(default=None, max_length=64, description="id of the job, ...")
    limit_usd: float = Field(ge=0)
    period: Literal["total", "day", "month"] = "total"


class BudgetOut(BaseModel):
    """A budget with what is spent and reserved by calls in flight."""

    id: str
    scope: str
    ref: str | None
    period: str
    period_start: str
    limit_usd_micros: int
    spent_usd_micros: int
    reserved_usd_micros: int
    remaining_usd_micros: int
    currency: str


class CostTotals(BaseModel):
    """Calls, tokens and cost of a set of ledger rows."""

    calls: int
    cache_hits: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd_micros: int
    cost_usd: float
    avg_latency_ms: float


class CostGroup(CostTotals):
    """Totals of one group (model, feature, job, day, ...)."""

    key: str | None


class CostSummaryOut(BaseModel):
    """A cost summary of the tenant's ledger."""

    by: str
    since: str | None
    until: str | None
    currency: str
    total: CostTotals
    groups: list[CostGroup]


class CallOut(BaseModel):
    """One ledger row."""

    id: str
    created_at: str
    feature: str
    job_id: str | None
    workflow_id: str | None
    agent_id: str | None
    conversation_id: str | None
    model_requested: str
    provider: str
    model: str
    status: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd_micros: int
    reserved_usd_micros: int
    price_version: str
    latency_ms: float
    cached: bool
    attempts: int
    error: str | None


class ChatMessage(BaseModel):
    """One chat turn."""

    role: Literal["system", "user", "assistant"]
    content: str


class ChatIn(BaseModel):
    """A chat request billed to the caller's tenant."""

    messages: list[ChatMessage] = Field(min_length=1)
    model: str = "default"
    max_tokens: int = Field(default=1024, ge=1, le=100_000)
    temperature: float = Field(default=0.0, ge=0, le=2)
    json_mode: bool = False
    feature: str = Field(default="api.chat", max_length=100)
    job_id: str | None = Field(default=None, max_length=64)
    workflow_id: str | None = Field(default=None, max_length=64)
    agent_id: str | None = Field(default=None, max_length=64)
    conversation_id: str | None = Field(default=None, max_length=64)


class ChatOut(BaseModel):
    """The answer with its usage and cost."""

    text: str
    model: str
    provider: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd_micros: int
    cached: bool
    latency_ms: float
    call_id: str | None


class ModelsOut(BaseModel):
    """Configured providers, aliases with their chains and prices."""

    price_version: str
    providers: dict[str, dict[str, Any]]
    aliases: dict[str, list[dict[str, Any]]]
