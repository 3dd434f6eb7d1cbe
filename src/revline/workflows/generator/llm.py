"""The steps' LLM calls: structured answers through the gateway, billed to the generation.

Every call carries `CallScope(tenant, feature="workflows.<step>", workflow_id=<generation
id>, job_id=<batch id>)`, so retries, fallback, budgets (tenant, job and workflow level),
the cache and the ledger all come from the gateway. The cost of each answer is summed here
from its `ChatResult`, which is what a generation and its versions record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import BaseModel

from revline.kernel.llm import CallScope, ChatResult, LLMGateway
from revline.workflows.generator.prompts import Message

M = TypeVar("M", bound=BaseModel)


@dataclass
class StepLLM:
    """Structured calls for one run; accumulates calls and cost per step."""

    gateway: LLMGateway
    tenant_id: uuid.UUID
    generation_id: uuid.UUID
    job_id: str | None = None
    model: str = "default"
    max_tokens: int = 4096
    cache: bool | None = None  # None: the gateway's default (on at temperature 0)
    calls: int = 0
    cost_usd_micros: int = 0
    by_step: dict[str, int] = field(default_factory=dict)
    results: list[ChatResult] = field(default_factory=list)

    def scope(self, step: str) -> CallScope:
        """Who pays for a step's call."""
        return CallScope(tenant_id=self.tenant_id, feature=f"workflows.{step}",
                         workflow_id=str(self.generation_id), job_id=self.job_id)

    def ask(self, step: str, messages: list[Message], schema: type[M]) -> M:
        """A validated `schema` instance from the gateway, with its cost recorded."""
        value, result = self.gateway.structured_result(
            messages, schema=schema, model=self.model, max_tokens=self.max_tokens,
            temperature=0.0, scope=self.scope(step), cache=self.cache,
        )
        self.calls += 1
        self.cost_usd_micros += result.cost_usd_micros
        self.by_step[step] = self.by_step.get(step, 0) + result.cost_usd_micros
        self.results.append(result)
        return value
