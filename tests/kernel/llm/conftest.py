"""Fixtures for gateway tests: the emulator, settings pointing at it, a fake clock, tenants."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from revline.kernel.auth import ensure_tenant
from revline.kernel.config import Settings
from revline.kernel.db import Database, get_database
from revline.kernel.llm import CallScope, LLMGateway, reset_gateways
from tests.emulators.llm_server import LLMEmulator, serve_llm


class FakeClock:
    """Monotonic time that only moves when slept on or advanced: backoff tests are instant."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)

    def advance(self, seconds: float) -> None:
        self.now += seconds


def echo(request: dict[str, Any]) -> str:
    """Default answer: JSON when JSON was asked for, else a short sentence."""
    wants_json = request.get("response_format") or "JSON" in json.dumps(request)
    if wants_json:
        return json.dumps({"ok": True, "n": len(request.get("messages", []))})
    return "hello from the emulator"


@pytest.fixture
def emu() -> Iterator[LLMEmulator]:
    """The LLM emulator with a scripted responder (tests may replace `emu.responder`)."""
    with serve_llm(echo) as server:
        yield server


@pytest.fixture
def make_settings(
    emu: LLMEmulator, db: Database, settings: Settings
) -> Callable[..., Settings]:
    """Settings on the test database with OpenAI and Anthropic pointing at the emulator."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "home": settings.home,
            "openai_api_key": emu.api_key,
            "llm_base_url": emu.base_url,
            "anthropic_api_key": emu.api_key,
            "llm_anthropic_base_url": emu.anthropic_base_url,
            "llm_timeout_s": 5.0,
            "llm_first_token_timeout_s": 5.0,
        }
        values.update(overrides)
        return Settings(**values)

    return build


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock; gateways built with it never really sleep."""
    return FakeClock()


@pytest.fixture
def make_gateway(
    make_settings: Callable[..., Settings], clock: FakeClock
) -> Iterator[Callable[..., LLMGateway]]:
    """Build gateways on the fake clock; all are closed after the test."""
    built: list[LLMGateway] = []

    def build(**overrides: Any) -> LLMGateway:
        gateway = LLMGateway(make_settings(**overrides), clock=clock)
        built.append(gateway)
        return gateway

    yield build
    for gateway in built:
        gateway.close()
    reset_gateways()


@pytest.fixture
def gateway(make_gateway: Callable[..., LLMGateway]) -> LLMGateway:
    """A gateway with default settings against the emulator."""
    return make_gateway()


@pytest.fixture
def tenant(db: Database) -> uuid.UUID:
    """Id of a tenant named acme."""
    with db.session() as session:
        return ensure_tenant(session, "acme").id


@pytest.fixture
def scope(tenant: uuid.UUID) -> CallScope:
    """A scope billed to acme under feature tests.llm."""
    return CallScope(tenant_id=tenant, feature="tests.llm", job_id="job-1")


def user(text: str) -> list[dict[str, Any]]:
    """A one-message conversation."""
    return [{"role": "user", "content": text}]


def ledger(settings: Settings) -> list[Any]:
    """Every ledger row, oldest first."""
    from sqlalchemy import select

    from revline.kernel.llm.models import LLMCall

    with get_database(settings).session() as session:
        return list(session.scalars(select(LLMCall).order_by(LLMCall.created_at)))
