"""Patterns (through the knowledge base) and node templates over the API, and their use."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from revline.kernel.config import get_settings
from revline.kernel.db import Database
from revline.workflows import service
from tests.emulators.llm_server import LLMEmulator
from tests.workflows.script import Script, good_draft, pattern

pytestmark = pytest.mark.usefixtures("embedder")
P = "/api/v1/workflows/patterns"
T = "/api/v1/workflows/node-templates"
CRM_TEMPLATE: dict[str, Any] = {
    "id": "crm-lookup", "name": "CRM contact lookup",
    "description": "Looks a customer up in our CRM by email before answering",
    "tags": ["crm", "customer", "lookup"],
    "data": {"type": "http-request", "title": "CRM lookup", "method": "get",
             "url": "https://crm.acme.example/api/contacts", "headers": "",
             "params": "email:{{#sys.user_id#}}", "body": {"type": "none", "data": []},
             "authorization": {"type": "no-auth"}, "timeout": {"connect": 5, "read": 10}},
}


def own_pattern() -> dict[str, Any]:
    mine = copy.deepcopy(pattern("meeting-notes-summarizer"))
    mine.update(id="standup-notes", name="Stand-up notes digest", origin="x")
    mine.pop("origin")
    return mine


def test_patterns_crud_search_and_recommend(client: TestClient, auth: dict[str, str]) -> None:
    listed = client.get(P, headers=auth).json()
    assert len(listed) == 21
    assert {p["origin"] for p in listed} == {"bundled"}
    assert client.get(f"{P}?mode=advanced-chat", headers=auth).json()
    one = client.get(f"{P}/support-rag-chatbot", headers=auth).json()
    assert one["pattern"]["graph"]["nodes"]

    created = client.post(P, json=own_pattern(), headers=auth)
    assert created.status_code == 201, created.text
    assert created.json()["origin"] == "user"
    assert client.post(P, json=own_pattern(), headers=auth).status_code == 409
    # The generator's own checks on top of the schema: a valid graph, no credentials,
    # slot examples verbatim in the graph.
    broken = own_pattern()
    broken["graph"]["edges"] = []
    resp = client.put(f"{P}/standup-notes", json=broken, headers=auth)
    assert resp.status_code == 422
    assert "not a valid Dify workflow" in resp.json()["detail"]
    leaky = own_pattern()
    leaky["graph"]["nodes"][1]["data"]["api_key"] = "abcd1234efgh5678"
    resp = client.put(f"{P}/standup-notes", json=leaky, headers=auth)
    assert resp.status_code == 422
    assert "credential" in resp.json()["detail"]
    drifted = own_pattern()
    drifted["slots"][0]["example"] = "not in the graph"
    resp = client.put(f"{P}/standup-notes", json=drifted, headers=auth)
    assert resp.status_code == 422
    assert "verbatim" in resp.json()["detail"]
    assert client.put(f"{P}/other-id", json=own_pattern(), headers=auth).status_code == 422

    found = client.post(f"{P}/search", json={"text": "digest of our daily stand-up notes",
                                             "k": 3}, headers=auth).json()
    assert found[0]["id"] in ("standup-notes", "meeting-notes-summarizer")
    assert {"standup-notes", "meeting-notes-summarizer"} <= {f["id"] for f in found}
    ranked = client.post(f"{P}/recommend", json={
        "requirement": "a chatbot answering customer questions from the acme-docs "
                       "knowledge base", "k": 3}, headers=auth).json()
    assert ranked[0]["id"] == "support-rag-chatbot"
    reasons = " | ".join(ranked[0]["reasons"])
    assert "use when:" in reasons
    assert "app mode: chatflow" in reasons
    assert "kb_id=acme-docs" in reasons

    assert client.delete(f"{P}/standup-notes", headers=auth).status_code == 204
    assert client.get(f"{P}/standup-notes", headers=auth).status_code == 404
    assert client.delete(f"{P}/standup-notes", headers=auth).status_code == 404


def test_node_templates_crud_and_checks(client: TestClient, auth: dict[str, str]) -> None:
    created = client.post(T, json=CRM_TEMPLATE, headers=auth)
    assert created.status_code == 201, created.text
    assert created.json()["type"] == "http-request"
    assert client.post(T, json=CRM_TEMPLATE, headers=auth).status_code == 409
    assert [t["id"] for t in client.get(T, headers=auth).json()] == ["crm-lookup"]
    changed = {**CRM_TEMPLATE, "name": "CRM lookup v2"}
    assert client.put(f"{T}/crm-lookup", json=changed, headers=auth).json()["name"] == \
        "CRM lookup v2"
    bad = copy.deepcopy(CRM_TEMPLATE)
    del bad["id"]
    bad["data"]["method"] = "fetch"
    resp = client.put(f"{T}/bad", json=bad, headers=auth)
    assert resp.status_code == 422
    assert resp.json()["detail"].startswith("template node: data.method")
    secret = copy.deepcopy(bad)
    secret["data"]["method"] = "get"
    secret["data"]["headers"] = "Authorization:Bearer " + "x" * 30
    assert "credential" in client.put(f"{T}/leak", json=secret, headers=auth).json()["detail"]
    start = {**bad, "data": {"type": "start", "variables": []}}
    assert "cannot be a template" in client.put(f"{T}/entry", json=start,
                                                headers=auth).json()["detail"]
    clean = {k: v for k, v in CRM_TEMPLATE.items() if k != "id"}
    assert "must match" in client.put(f"{T}/Bad Id", json=clean,
                                      headers=auth).json()["detail"]
    mismatch = client.put(f"{T}/other", json=CRM_TEMPLATE, headers=auth)
    assert "does not match the URL" in mismatch.json()["detail"]
    assert client.delete(f"{T}/crm-lookup", headers=auth).status_code == 204
    assert client.get(f"{T}/crm-lookup", headers=auth).status_code == 404


def test_the_configuration_step_reuses_a_node_template(
    llm: LLMEmulator, db: Database, tenant_id: uuid.UUID
) -> None:
    with db.session() as session:
        service.save_template(session, tenant_id, "crm-lookup",
                              {k: v for k, v in CRM_TEMPLATE.items() if k != "id"})
    draft = good_draft()
    # The model only names the template and overrides its title.
    draft["graph"]["nodes"].insert(1, {"id": "crm", "template": "crm-lookup",
                                       "data": {"title": "Find the customer"}})
    draft["graph"]["edges"] = [{"source": "start", "target": "crm"},
                               {"source": "crm", "target": "retrieve_docs"},
                               *draft["graph"]["edges"][1:]]
    llm.responder = answers = Script(WorkflowDraft=[draft])
    outcome = service.generate(
        db, get_settings(), tenant_id, "A support chatbot that looks the customer up in our "
        "CRM, then answers from the acme-product-docs knowledge base", "simple")
    result = outcome.result
    assert result is not None
    assert result.valid, result.errors
    assert result.templates == ["crm-lookup"]
    [configuration] = answers.calls("WorkflowDraft")
    assert [t["template"] for t in configuration["node_templates"]] == ["crm-lookup"]
    nodes = {n["id"]: n["data"] for n in result.document["workflow"]["graph"]["nodes"]}
    assert nodes["crm"]["type"] == "http-request"
    assert nodes["crm"]["url"] == "https://crm.acme.example/api/contacts"
    assert nodes["crm"]["title"] == "Find the customer"
    with db.session() as session:
        [row] = service.list_templates(session, tenant_id)
    assert row["uses"] == 1
