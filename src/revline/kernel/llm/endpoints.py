"""HTTP API of the LLM gateway: chat, cost summaries, ledger rows, budgets and aliases."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from revline.kernel.deps import LLMDep, PrincipalDep, SessionDep
from revline.kernel.llm.budgets import budget_view, delete_budget, list_budgets, set_budget
from revline.kernel.llm.ledger import cost_summary, parse_when, recent_calls
from revline.kernel.llm.schemas import (
    BudgetIn,
    BudgetOut,
    BudgetScope,
    CallOut,
    ChatIn,
    ChatOut,
    CostSummaryOut,
    ModelsOut,
)
from revline.kernel.llm.types import CallScope

router = APIRouter(prefix="/api/v1/llm", tags=["llm"])
Id = Annotated[str | None, Query(max_length=64)]


@router.post("/chat", response_model=ChatOut)
def chat(body: ChatIn, principal: PrincipalDep, llm: LLMDep) -> ChatOut:
    """One completion through the gateway, billed to the key's tenant (budgets apply)."""
    principal.require("llm:write")
    scope = CallScope(tenant_id=principal.tenant_id, feature=body.feature, job_id=body.job_id,
                      workflow_id=body.workflow_id, agent_id=body.agent_id,
                      conversation_id=body.conversation_id)
    result = llm.chat([m.model_dump() for m in body.messages], model=body.model,
                      temperature=body.temperature, max_tokens=body.max_tokens,
                      json_mode=body.json_mode, scope=scope)
    return ChatOut(text=result.text, model=result.model, provider=result.provider,
                   prompt_tokens=result.prompt_tokens,
                   completion_tokens=result.completion_tokens,
                   cost_usd_micros=result.cost_usd_micros, cached=result.cached,
                   latency_ms=round(result.latency_ms, 2),
                   call_id=str(result.call_id) if result.call_id else None)


@router.get("/models", response_model=ModelsOut)
def models(principal: PrincipalDep, llm: LLMDep) -> dict[str, Any]:
    """Providers and aliases with their fallback chains, prices and breaker state."""
    principal.require("llm:read")
    return llm.describe()


@router.get("/costs", response_model=CostSummaryOut)
def costs(
    session: SessionDep,
    principal: PrincipalDep,
    by: str = "model",
    since: Annotated[str | None, Query(description="YYYY-MM-DD, ISO time or 7d")] = None,
    until: str | None = None,
    feature: Annotated[str | None, Query(max_length=100)] = None,
    job: Id = None,
    workflow: Id = None,
    agent: Id = None,
    conversation: Id = None,
) -> dict[str, Any]:
    """Calls, tokens and cost of the tenant's ledger, grouped by model, feature, job, day..."""
    principal.require("llm:read")
    filters = {"feature": feature, "job": job, "workflow": workflow, "agent": agent,
               "conversation": conversation}
    return cost_summary(session, principal.tenant_id, by, parse_when(since, "since"),
                        parse_when(until, "until"), filters)


@router.get("/calls", response_model=list[CallOut])
def calls(
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    feature: Annotated[str | None, Query(max_length=100)] = None,
    job: Id = None,
) -> list[dict[str, Any]]:
    """The tenant's newest ledger rows."""
    principal.require("llm:read")
    return recent_calls(session, principal.tenant_id, limit, offset,
                        {"feature": feature, "job": job})


@router.get("/budgets", response_model=list[BudgetOut])
def budgets(session: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """The tenant's budgets with spent, reserved and remaining amounts."""
    principal.require("llm:read")
    return [budget_view(b) for b in list_budgets(session, principal.tenant_id)]


@router.put("/budgets", response_model=BudgetOut)
def put_budget(body: BudgetIn, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """Create or change a budget for the tenant or one of its jobs, workflows, agents..."""
    principal.require("llm:write")
    budget = set_budget(session, principal.tenant_id, body.scope, body.ref, body.limit_usd,
                        body.period)
    return budget_view(budget)


@router.delete("/budgets/{scope}", status_code=204, response_class=Response)
def remove_budget(
    scope: BudgetScope, session: SessionDep, principal: PrincipalDep, ref: Id = None
) -> Response:
    """Remove a budget (`ref` names the job, workflow, agent or conversation)."""
    principal.require("llm:write")
    delete_budget(session, principal.tenant_id, scope, ref)
    return Response(status_code=204)
