"""Patterns and node templates: what the generator builds on, and how it finds them.

Patterns live in the knowledge base (`revline.knowledge.service`): the bundled library plus
the tenant's own, searched by hybrid (BM25 + vector) ranking. On top of the knowledge
base's schema check, a pattern saved here must build into DSL the validator accepts, carry
no credential, and show each slot's example verbatim in its graph (that is how slots are
filled). Node templates are the tenant's reusable node snippets, kept in this domain's
`workflow_node_templates` table and ranked by keywords; the configuration step reuses one
by writing `{"id": ..., "template": "<id>"}`.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from sqlalchemy.orm import Session

from revline.kernel.config import Settings
from revline.kernel.db import Database
from revline.kernel.errors import Conflict, InvalidInput, NotFound
from revline.knowledge import service as kb
from revline.workflows.dsl import AppSpec, InvalidGraph, build_dsl
from revline.workflows.generator import lexical
from revline.workflows.generator.retrieval import infer_app_mode
from revline.workflows.generator.scoring import content_stems
from revline.workflows.generator.slots import extract_slots
from revline.workflows.generator.types import PatternCandidate, TemplateCandidate
from revline.workflows.models import NodeTemplate
from revline.workflows.repository import TemplateRepository
from revline.workflows.validator import validate_document
from revline.workflows.validator.nodes import KNOWN_TYPES, TRIGGER_TYPES
from revline.workflows.validator.secrets import find_secrets

log = logging.getLogger(__name__)
TEMPLATE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
# A template is one node dropped into a graph: not an entry, and not a container whose
# children it cannot carry.
TEMPLATE_TYPES = tuple(t for t in KNOWN_TYPES if t not in {
    "start", "iteration", "loop", "iteration-start", "loop-start", "loop-end",
    "knowledge-index", "datasource", *TRIGGER_TYPES})


# Patterns -----------------------------------------------------------------------------------
def candidate(record: kb.PatternRecord, score: float, rank: int) -> PatternCandidate:
    """A knowledge-base pattern record as the generator uses it."""
    body = record.pattern
    graph = body.get("graph") if isinstance(body.get("graph"), dict) else {}
    return PatternCandidate(
        id=record.id, name=record.name, mode=record.mode, category=record.category,
        description=record.description, score=float(score), rank=rank, origin=record.origin,
        tags=list(record.tags), use_when=list(record.use_when), slots=list(record.slots),
        graph=dict(graph or {}),
    )


def _pattern_text(record: kb.PatternRecord) -> str:
    return " ".join([record.name, record.description, *record.use_when, *record.tags])


def search_patterns(
    db: Database, settings: Settings, tenant_id: uuid.UUID, text: str, k: int,
    notes: list[str] | None = None,
) -> list[PatternCandidate]:
    """The k patterns closest to a requirement (hybrid search; keywords if search fails)."""
    query = text.strip()[:2000]
    try:
        with db.session() as session:
            hits = kb.search_patterns(session, tenant_id, query, k=k, settings=settings)
            return [candidate(r, s, i) for i, (r, s) in enumerate(hits, 1)]
    except Exception as exc:  # a broken index must not stop generation: rank by keywords
        log.warning("pattern search failed, ranking by keywords: %s", exc)
        if notes is not None:
            notes.append(f"pattern search unavailable ({str(exc)[:200]}); ranked by keywords")
    with db.session() as session:
        records = {r.id: r for r in kb.list_patterns(session, tenant_id, settings=settings)}
    ranked = lexical.rank(query, [(pid, _pattern_text(r)) for pid, r in records.items()], k)
    return [candidate(records[pid], s, i) for i, (pid, s) in enumerate(ranked, 1)]


def check_pattern(pattern: dict[str, Any]) -> None:
    """Refuse a pattern the generator could not use safely (InvalidInput says why)."""
    graph = pattern.get("graph")
    mode = pattern.get("mode")
    if not isinstance(graph, dict) or mode not in ("workflow", "advanced-chat"):
        return  # the knowledge base's schema check reports these
    secrets = list(find_secrets(graph))
    if secrets:
        raise InvalidInput(f"pattern graph holds a credential at graph.{secrets[0].path}: "
                           f"{secrets[0].reason}; use a secret environment variable "
                           "({{#env.NAME#}}) instead")
    try:
        built = build_dsl(AppSpec(name=str(pattern.get("name") or "pattern"), mode=mode),
                          graph)
    except InvalidGraph as exc:
        raise InvalidInput(f"pattern graph: {exc.message}") from exc
    report = validate_document(built.document)
    if not report.valid:
        first = report.errors[0]
        more = f" (+{len(report.errors) - 1} more)" if len(report.errors) > 1 else ""
        raise InvalidInput(f"pattern graph is not a valid Dify workflow: {first.line()}{more}; "
                           "check it with `revline workflows validate`")
    strings = _strings(graph)
    for slot in pattern.get("slots") or []:
        example = str(slot.get("example", "")) if isinstance(slot, dict) else ""
        if example and not any(example in s for s in strings):
            raise InvalidInput(f"slot {slot.get('name')!r}: its example {example!r} must "
                               "appear verbatim in the graph, so the generator can replace it")


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [str(value)]


def save_pattern(session: Session, settings: Settings, tenant_id: uuid.UUID,
                 pattern: dict[str, Any], create: bool = False) -> kb.PatternRecord:
    """Create or replace a tenant pattern after the generator's own checks."""
    pattern = dict(pattern)
    pattern.setdefault("schema", 1)
    check_pattern(pattern)
    if create and isinstance(pattern.get("id"), str):
        try:
            kb.get_pattern(session, tenant_id, pattern["id"], settings=settings)
        except NotFound:
            pass
        else:
            raise Conflict(f"pattern {pattern['id']!r} exists; PUT it to replace it")
    return kb.upsert_pattern(session, tenant_id, pattern, settings=settings)


def recommend(
    db: Database, settings: Settings, tenant_id: uuid.UUID, requirement: str, k: int,
    history: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """Patterns ranked for a requirement, each with the reasons it fits."""
    found = search_patterns(db, settings, tenant_id, requirement, k)
    wanted = content_stems(requirement)
    mode = infer_app_mode(requirement)
    out = []
    for pattern in found:
        reasons: list[str] = []
        uses = sorted(pattern.use_when, key=lambda u: -len(content_stems(u) & wanted))
        if uses and content_stems(uses[0]) & wanted:
            reasons.append(f"use when: {uses[0]}")
        tags = [t for t in pattern.tags if content_stems(t.replace("-", " ")) & wanted]
        if tags:
            reasons.append("tags: " + ", ".join(tags))
        if mode is not None and pattern.mode == mode:
            reasons.append("app mode: " + ("chatflow (a conversational assistant)"
                                           if mode == "advanced-chat" else "workflow"))
        fills = extract_slots(requirement, pattern.slots)
        if fills:
            reasons.append("values found for its slots: " + ", ".join(
                f"{f.name}={f.value}" for f in fills.values()))
        past = history.get(pattern.id)
        if past and past.get("used"):
            reasons.append(f"used in {past['used']} generation(s), "
                           f"{round(100 * past['validity_rate'])}% valid, mean quality "
                           f"{past['mean_quality']}")
        if not reasons:
            reasons.append("closest by meaning (hybrid search)")
        out.append({**pattern.summary(), "category": pattern.category, "origin": pattern.origin,
                    "rank": pattern.rank, "score": round(pattern.score, 6),
                    "reasons": reasons})
    return out


# Node templates ------------------------------------------------------------------------------
def template_dict(row: NodeTemplate) -> dict[str, Any]:
    """API/CLI view of a node template."""
    return {"id": row.template_id, "name": row.name, "description": row.description,
            "type": row.node_type, "tags": list(row.tags or []), "data": dict(row.data or {}),
            "uses": row.uses, "created_at": row.created_at.isoformat(),
            "updated_at": row.updated_at.isoformat()}


def check_template(template_id: str, node_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """The node data to store, after the validator's node rules; InvalidInput says why not."""
    if not TEMPLATE_ID.match(template_id):
        raise InvalidInput(f"template id {template_id!r} must match [a-z0-9][a-z0-9_-]*")
    if node_type not in TEMPLATE_TYPES:
        raise InvalidInput(f"node type {node_type!r} cannot be a template; use one of "
                           f"{', '.join(TEMPLATE_TYPES)}")
    if data.get("type", node_type) != node_type:
        raise InvalidInput(f"data.type {data.get('type')!r} differs from type {node_type!r}")
    secrets = list(find_secrets(data))
    if secrets:
        raise InvalidInput(f"template data holds a credential at data.{secrets[0].path}: "
                           f"{secrets[0].reason}; reference a secret environment variable "
                           "({{#env.NAME#}}) instead")
    node = {**data, "type": node_type}
    node.setdefault("title", node_type.replace("-", " ").title())
    chat = node_type == "answer"
    nodes: list[dict[str, Any]] = [{"id": "start", "data": {"type": "start", "variables": []}},
                                   {"id": "tpl", "data": node}]
    edges = [{"source": "start", "target": "tpl"}]
    if not chat:
        nodes.append({"id": "end", "data": {"type": "end", "outputs": []}})
        edges.append({"source": "tpl", "target": "end"})
    built = build_dsl(AppSpec(name="template", mode="advanced-chat" if chat else "workflow"),
                      {"nodes": nodes, "edges": edges})
    report = validate_document(built.document)
    # Only the node's own field rules: its references point at graphs it will join later.
    own = [i for i in report.errors if i.path.startswith("workflow.graph.nodes[1].")
           and not i.code.startswith(("var.", "graph.", "edge.", "entry."))]
    if own:
        more = f" (+{len(own) - 1} more)" if len(own) > 1 else ""
        raise InvalidInput("template node: " + own[0].line().replace(
            "workflow.graph.nodes[1].", "") + more)
    return node


def save_template(session: Session, tenant_id: uuid.UUID, template_id: str,
                  body: dict[str, Any], create: bool = False) -> NodeTemplate:
    """Create or replace a node template."""
    node_type = str(body.get("type") or (body.get("data") or {}).get("type") or "")
    data = body.get("data")
    if not isinstance(data, dict):
        raise InvalidInput("template data must be a mapping (a Dify node's `data`)")
    node = check_template(template_id, node_type, data)
    name = str(body.get("name") or template_id).strip()[:200]
    tags = body.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise InvalidInput("tags must be a list of strings")
    repo = TemplateRepository(session, tenant_id)
    row = repo.by_template_id(template_id)
    values = {"name": name, "description": str(body.get("description") or ""),
              "node_type": node_type, "tags": tags, "data": node}
    if row is None:
        return repo.add(template_id=template_id, **values)
    if create:
        raise Conflict(f"node template {template_id!r} exists; PUT it to replace it")
    for key, value in values.items():
        setattr(row, key, value)
    session.flush()
    return row


def get_template(session: Session, tenant_id: uuid.UUID, template_id: str) -> NodeTemplate:
    """One node template, else NotFound."""
    row = TemplateRepository(session, tenant_id).by_template_id(template_id)
    if row is None:
        raise NotFound(f"node template {template_id!r} not found; "
                       "`revline workflows templates list` shows them")
    return row


def search_templates(db: Database, tenant_id: uuid.UUID, text: str, k: int
                     ) -> list[TemplateCandidate]:
    """The tenant's node templates that share the most keywords with the text."""
    with db.session() as session:
        rows = {r.template_id: r for r in TemplateRepository(session, tenant_id).all()}
    docs = [(tid, " ".join([r.name, r.description, r.node_type, *r.tags]))
            for tid, r in rows.items()]
    return [TemplateCandidate(template_id=tid, name=rows[tid].name,
                              description=rows[tid].description, node_type=rows[tid].node_type,
                              tags=list(rows[tid].tags or []), data=dict(rows[tid].data or {}),
                              score=score)
            for tid, score in lexical.rank(text, docs, k)]
