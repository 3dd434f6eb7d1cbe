"""Structured output: JSON and schema validation, one repair with the error, then fallback."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from revline.kernel.errors import InvalidInput
from revline.kernel.llm import CallScope, LLMGateway, LLMInvalidOutput
from revline.kernel.llm.structured import json_validator, parse_json_text
from tests.emulators.llm_server import Fault, LLMEmulator
from tests.kernel.llm.conftest import ledger, user


class Lead(BaseModel):
    company: str
    score: int


GOOD = json.dumps({"company": "Acme", "score": 87})


def test_structured_returns_a_validated_model(
    gateway: LLMGateway, emu: LLMEmulator, scope: CallScope
) -> None:
    emu.responder = lambda req: GOOD
    lead = gateway.structured(user("score Acme"), schema=Lead, scope=scope)
    assert lead == Lead(company="Acme", score=87)
    sent = emu.requests[-1]
    assert sent["response_format"] == {"type": "json_object"}
    assert '"score"' in sent["messages"][0]["content"]  # the schema is in the instruction


def test_malformed_json_is_repaired_once_with_the_error(
    gateway: LLMGateway, emu: LLMEmulator, scope: CallScope
) -> None:
    emu.responder = lambda req: GOOD
    emu.inject(Fault("malformed_json"))
    lead = gateway.structured(user("score Acme"), schema=Lead, scope=scope)
    assert lead.score == 87
    repair = emu.requests[-1]["messages"]
    assert repair[-2]["role"] == "assistant"
    assert repair[-2]["content"].startswith('{"results"')
    assert "not valid JSON" in repair[-1]["content"]
    assert [r.status for r in ledger(gateway.settings)] == ["invalid", "ok"]


def test_structured_result_bills_the_discarded_answer_too(
    gateway: LLMGateway, emu: LLMEmulator, scope: CallScope
) -> None:
    emu.responder = lambda req: GOOD
    emu.inject(Fault("malformed_json"))
    lead, result = gateway.structured_result(user("score Acme"), schema=Lead, scope=scope)
    assert lead.score == 87
    rows = ledger(gateway.settings)
    assert [r.status for r in rows] == ["invalid", "ok"]
    assert all(r.cost_usd_micros > 0 for r in rows)
    assert result.cost_usd_micros == sum(r.cost_usd_micros for r in rows)


def test_invalid_twice_falls_back_to_the_next_model(
    gateway: LLMGateway, emu: LLMEmulator, scope: CallScope
) -> None:
    def answer(req: dict[str, Any]) -> str:
        return GOOD if req["model"].startswith("claude") else '{"company": "Acme"}'

    emu.responder = answer
    lead = gateway.structured(user("score Acme"), schema=Lead, scope=scope)
    assert lead.score == 87
    assert [c.wire for c in emu.calls] == ["openai", "openai", "anthropic"]
    assert "score: Field required" in emu.calls[1].payload["messages"][-1]["content"]
    anthropic = emu.calls[2].payload
    assert "JSON" in anthropic["system"]  # json mode becomes an instruction for Claude


def test_no_valid_answer_anywhere_is_llm_invalid_output(
    gateway: LLMGateway, emu: LLMEmulator, scope: CallScope
) -> None:
    emu.responder = lambda req: "sorry, I cannot do JSON"
    with pytest.raises(LLMInvalidOutput) as info:
        gateway.structured(user("score Acme"), schema=Lead, scope=scope)
    assert "still invalid after one repair" in str(info.value)
    assert emu.count() == 4  # two tries on each of the two models
    assert {r.status for r in ledger(gateway.settings)} == {"invalid"}


def test_dict_schema_and_chat_json(
    gateway: LLMGateway, emu: LLMEmulator, scope: CallScope
) -> None:
    schema = {"type": "object", "required": ["tags"],
              "properties": {"tags": {"type": "array", "items": {"type": "string"}}}}
    answers = iter(['{"tags": [1]}', '```json\n{"tags": ["a", "b"]}\n```'])
    emu.responder = lambda req: next(answers)
    assert gateway.chat_json(user("tags"), schema=schema, scope=scope) == {"tags": ["a", "b"]}
    assert "tags.0: 1 is not of type 'string'" in emu.requests[-1]["messages"][-1]["content"]


def test_repaired_answers_are_cached_for_the_original_request(
    gateway: LLMGateway, emu: LLMEmulator, scope: CallScope
) -> None:
    emu.responder = lambda req: GOOD
    emu.inject(Fault("malformed_json"))
    gateway.structured(user("score Acme"), schema=Lead, scope=scope)
    assert gateway.structured(user("score Acme"), schema=Lead, scope=scope).score == 87
    assert emu.count() == 2


def test_bad_schema_is_an_input_error(gateway: LLMGateway, scope: CallScope) -> None:
    with pytest.raises(InvalidInput, match="invalid JSON schema"):
        gateway.chat_json(user("x"), schema={"type": "nope"}, scope=scope)
    with pytest.raises(InvalidInput, match="Pydantic model class or a JSON-schema dict"):
        gateway.structured(user("x"), schema=42, scope=scope)  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("text", "value"),
    [('{"a": 1}', {"a": 1}), ('```json\n{"a": 1}\n```', {"a": 1}),
     ('Sure! {"a": 1} Hope it helps', {"a": 1}), ("[1, 2]", [1, 2])],
)
def test_parse_json_text_tolerates_fences_and_prose(text: str, value: Any) -> None:
    assert parse_json_text(text) == value
    assert json_validator()(text) == (value, None)
