"""LLM hooks for the lead pipeline: batched classification and mockup briefs via the gateway."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from revline.kernel.config import Settings
from revline.kernel.errors import LLMNotConfigured
from revline.kernel.llm import CallScope, LLMGateway, get_gateway
from revline.leads.classify import ClassifyInput, LLMClassifier
from revline.leads.pipeline import MockupWriter
from revline.leads.schemas import LeadResult

CLASSIFY_SYSTEM = (
    "You classify businesses into exactly one industry vertical from a fixed list. "
    'Answer JSON: {"results": [{"key": str, "vertical": str|null, "confidence": 0..1}]}. '
    "Use null when none fits."
)


def make_classifier(gateway: LLMGateway, scope: CallScope | None = None) -> LLMClassifier:
    """One gateway call per batch of 20-30 leads, on the `classifier` model alias."""

    def classify(
        items: Sequence[ClassifyInput], verticals: Sequence[str]
    ) -> Sequence[tuple[str | None, float]]:
        payload = [
            {"key": it.key, "name": it.name, "category": it.category, "text": it.text[:400]}
            for it in items
        ]
        answer = gateway.chat_json(
            [
                {"role": "system", "content": CLASSIFY_SYSTEM},
                {
                    "role": "user",
                    "content": json.dumps({"verticals": list(verticals), "leads": payload}),
                },
            ],
            max_tokens=60 * len(items) + 50,
            model="classifier",
            scope=scope,
        )
        by_key = {
            str(r.get("key")): r for r in answer.get("results", []) if isinstance(r, dict)
        }
        allowed = set(verticals)
        out: list[tuple[str | None, float]] = []
        for it in items:
            r = by_key.get(it.key, {})
            vertical = r.get("vertical")
            conf = float(r.get("confidence") or 0.0)
            out.append((vertical, conf) if vertical in allowed else (None, 0.0))
        return out

    return classify


def make_mockup_writer(gateway: LLMGateway, scope: CallScope | None = None) -> MockupWriter:
    """A short website-redesign brief per lead, grounded in the audit numbers."""

    def write(lead: LeadResult) -> str:
        enr = lead.enrichment
        facts = {
            "company": lead.fields.get("company", ""),
            "vertical": lead.classification.get("vertical"),
            "title": enr.get("title"),
            "description": enr.get("meta_description"),
            "audit": enr.get("audit", {}),
        }
        result = gateway.chat(
            [
                {
                    "role": "system",
                    "content": "You write a 5-bullet website redesign brief for a small business "
                    "from its audit facts. Be specific and brief.",
                },
                {"role": "user", "content": json.dumps(facts, default=str)},
            ],
            max_tokens=400,
            temperature=0.3,
            scope=scope,
        )
        return result.text.strip()

    return write


def llm_hooks(
    settings: Settings, tenant_id: uuid.UUID, job_id: uuid.UUID | str | None = None
) -> tuple[LLMClassifier | None, MockupWriter | None, str | None]:
    """Classifier and mockup writer when an LLM is configured, else the reason it is not.

    Calls are billed to the tenant (and to the run as the job, when given), so tenant and
    job budgets apply and `revline llm costs --by feature` shows what the pipeline spent.
    """
    try:
        gateway = get_gateway(settings)
    except LLMNotConfigured as exc:
        return None, None, exc.message
    classify = CallScope(tenant_id=tenant_id, feature="leads.classify", job_id=job_id)
    mockup = CallScope(tenant_id=tenant_id, feature="leads.mockup", job_id=job_id)
    return make_classifier(gateway, classify), make_mockup_writer(gateway, mockup), None
