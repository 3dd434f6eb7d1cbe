"""Pydantic request bodies of the workflows API (responses are the service's dicts)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GenerateIn(_In):
    """POST /api/v1/generate/{simple,full,multi-agent}."""

    requirement: str = Field(description="what the workflow should do, in plain words")
    name: str | None = Field(default=None, max_length=120, description="app name to use")
    wait: bool = Field(default=True, description="run in this request (201) or in a worker "
                                                 "(202; follow /events)")
    max_rounds: int | None = Field(default=None, ge=0, le=10,
                                   description="quality fix rounds (workflows_max_rounds)")
    id: uuid.UUID | None = Field(default=None, description="client-chosen generation id, to "
                                                           "follow /events while waiting")


class BatchItemIn(_In):
    """One requirement of a batch."""

    requirement: str
    name: str | None = Field(default=None, max_length=120)


class BatchIn(_In):
    """POST /api/v1/generate/batch: `requirements` (strings) and/or `items`."""

    requirements: list[str] = Field(default_factory=list)
    items: list[BatchItemIn] = Field(default_factory=list)
    mode: Literal["simple", "full", "multi-agent", "retrieval"] = "full"
    name: str = Field(default="", max_length=200)
    max_rounds: int | None = Field(default=None, ge=0, le=10)

    def all_items(self) -> list[dict[str, Any]]:
        """Strings first, then items, as service items."""
        return [{"requirement": r} for r in self.requirements] + \
            [i.model_dump() for i in self.items]


class RegenerateIn(_In):
    """POST /api/v1/generate/{id}/regenerate."""

    mode: Literal["simple", "full", "multi-agent", "retrieval"] | None = None
    feedback: str | None = Field(default=None, max_length=2000,
                                 description="what to change this time")
    wait: bool = True


class ResumeIn(_In):
    """POST /api/v1/generate/batches/{id}/resume."""

    retry_failed: bool = False


class SearchIn(_In):
    """POST /api/v1/workflows/patterns/search."""

    text: str = Field(min_length=1, max_length=4000)
    k: int = Field(default=5, ge=1, le=50)


class RecommendIn(_In):
    """POST /api/v1/workflows/patterns/recommend."""

    requirement: str
    k: int = Field(default=5, ge=1, le=50)


class TemplateIn(_In):
    """A node template: a Dify node's `data` to reuse, with a name and keywords."""

    id: str | None = Field(default=None, max_length=100)
    name: str | None = Field(default=None, max_length=200)
    description: str = ""
    type: str | None = Field(default=None, description="Dify node type; default data.type")
    tags: list[str] = Field(default_factory=list)
    data: dict[str, Any]
