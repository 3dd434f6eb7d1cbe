"""Fixtures of the workflows tests: the shared Dify DSL corpus (read in place), the embedding
model (once per session) and per-test vector stores."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from revline.kernel.auth import create_api_key, ensure_tenant
from revline.kernel.config import get_settings
from revline.kernel.db import Database
from tests.emulators.llm_server import LLMEmulator, serve_llm

REPO = Path(__file__).resolve().parents[2]


def corpus_dir() -> Path | None:
    """`shared/data/dify_dsl` next to the repository (or REVLINE_DIFY_DSL_DIR), if present."""
    override = os.environ.get("REVLINE_DIFY_DSL_DIR")
    if override:
        return Path(override) if Path(override).is_dir() else None
    for base in REPO.parents:
        candidate = base / "shared" / "data" / "dify_dsl"
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def dify_corpus() -> Path:
    """The corpus folder; tests using it skip when it is absent."""
    found = corpus_dir()
    if found is None:
        pytest.skip("shared Dify DSL corpus (shared/data/dify_dsl) not found")
    return found


# Generator fixtures -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def embedder() -> object:
    """The pattern-search embedding model, loaded once per session (weights are process-wide)."""
    from revline.kernel.config import Settings
    from revline.knowledge.embed import get_embedder

    model = get_embedder(Settings())
    model.embed(["warm up"])
    return model


@pytest.fixture(autouse=True)
def _fresh_stores(revline_home: Path) -> Iterator[None]:
    """Vector stores and the pattern-seeding memory belong to one test's home."""
    from revline.knowledge.patterns.seeding import forget_seeded
    from revline.knowledge.store import reset_stores

    reset_stores()
    forget_seeded()
    yield
    reset_stores()
    forget_seeded()


@pytest.fixture
def tenant_id(db: Database) -> uuid.UUID:
    """The tenant `acme`."""
    with db.session() as session:
        return ensure_tenant(session, "acme").id


@pytest.fixture
def llm(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[LLMEmulator]:
    """The LLM emulator as the configured provider (GPT-4o first, Claude as the fallback),
    through the environment so workers and subprocesses see it too. Tests set `.responder`."""
    from revline.kernel.llm import reset_gateways

    def unscripted(_: dict[str, Any]) -> str:
        raise AssertionError("set emu.responder to a Script first")

    with serve_llm(unscripted) as emu:
        env = {
            "REVLINE_OPENAI_API_KEY": emu.api_key, "REVLINE_LLM_BASE_URL": emu.base_url,
            "REVLINE_ANTHROPIC_API_KEY": emu.api_key,
            "REVLINE_LLM_ANTHROPIC_BASE_URL": emu.anthropic_base_url,
            "REVLINE_LLM_TIMEOUT_S": "10", "REVLINE_LLM_BACKOFF_BASE_S": "0.01",
            "REVLINE_LLM_BACKOFF_MAX_S": "0.05",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        reset_gateways()
        yield emu
        reset_gateways()


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    """The whole API on the test's database."""
    from revline.api.app import create_app

    with TestClient(create_app()) as c:
        yield c


def api_key(db: Database, tenant: str, scopes: list[str]) -> dict[str, str]:
    """Authorization header of a new key of `tenant` with `scopes`."""
    settings = get_settings()
    with db.session() as session:
        _, key = create_api_key(session, ensure_tenant(session, tenant), "test", scopes,
                                settings.api_keys_pepper.get_secret_value())
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def auth(db: Database) -> dict[str, str]:
    """A read+write workflows key of tenant acme."""
    return api_key(db, "acme", ["workflows:read", "workflows:write"])
