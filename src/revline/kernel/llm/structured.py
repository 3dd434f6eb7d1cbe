"""Structured output: JSON parsing, JSON-schema and Pydantic validation, and the repair prompt."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from revline.kernel.llm.types import Message

# (parsed value, None) when valid, else (None, one-line reason).
Validator = Callable[[str], tuple[Any, str | None]]
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def parse_json_text(text: str) -> Any:
    """JSON from a model answer, tolerating a ```json fence or prose around one object."""
    fenced = _FENCE.match(text)
    body = fenced.group(1) if fenced else text.strip()
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        start, end = body.find("{"), body.rfind("}")
        if 0 <= start < end:
            return json.loads(body[start : end + 1])
        raise


def json_validator(schema: dict[str, Any] | None = None) -> Validator:
    """Valid when the answer is JSON (and matches `schema` when given)."""
    checker = None
    if schema is not None:
        import jsonschema  # only structured calls pay for the import

        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            from revline.kernel.errors import InvalidInput

            raise InvalidInput(f"invalid JSON schema: {exc.message}") from None
        checker = jsonschema.Draft202012Validator(schema)

    def validate(text: str) -> tuple[Any, str | None]:
        try:
            value = parse_json_text(text)
        except json.JSONDecodeError as exc:
            return None, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        if checker is not None:
            errors = sorted(checker.iter_errors(value), key=lambda e: list(e.absolute_path))
            if errors:
                return None, "; ".join(_where(list(e.absolute_path), e.message) for e in errors[:3])
        return value, None

    return validate


def model_validator(model: type[BaseModel]) -> Validator:
    """Valid when the answer parses into `model`; the value is the model instance."""

    def validate(text: str) -> tuple[Any, str | None]:
        try:
            data = parse_json_text(text)
        except json.JSONDecodeError as exc:
            return None, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        try:
            return model.model_validate(data), None
        except ValidationError as exc:
            return None, "; ".join(
                _where(list(err["loc"]), err["msg"]) for err in exc.errors()[:3]
            )

    return validate


def schema_message(schema: dict[str, Any]) -> Message:
    """System instruction that asks for JSON matching the schema."""
    return {
        "role": "system",
        "content": "Answer with one JSON object only, no prose, matching this JSON schema:\n"
        + json.dumps(schema, separators=(",", ":")),
    }


def repair_messages(messages: list[Message], answer: str, error: str) -> list[Message]:
    """The conversation plus the bad answer and what was wrong with it, for one retry."""
    return [
        *messages,
        {"role": "assistant", "content": answer},
        {
            "role": "user",
            "content": f"Your answer was rejected: {error}. Reply again with only the "
            "corrected JSON.",
        },
    ]


def _where(path: list[Any], message: str) -> str:
    loc = ".".join(str(p) for p in path)
    return f"{loc}: {message}" if loc else message
