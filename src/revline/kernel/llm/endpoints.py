"""HTTP API of the LLM gateway: cost summaries and budgets."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["llm"])
