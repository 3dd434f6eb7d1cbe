"""The LLM gateway: every LLM call in Revline goes through `get_gateway(settings)`.

One call = cache lookup -> budget reservation (before anything is sent) -> the alias's
deployments in order, each with tenacity retries, behind a circuit breaker and a cost guard
-> settlement of the actual cost in the ledger -> cache write. Structured calls validate the
answer, repair once on the same model, then fall back to the next one.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import replace
from typing import Any, TypeVar, Unpack, overload

from pydantic import BaseModel

from revline.kernel.config import Settings
from revline.kernel.llm.core import Call, CallOptions, GatewayCore
from revline.kernel.llm.errors import LLMInvalidOutput, LLMUnavailable, ProviderFailure
from revline.kernel.llm.providers import Completion
from revline.kernel.llm.routing import Deployment
from revline.kernel.llm.streaming import AsyncTextStream, TextStream
from revline.kernel.llm.structured import (
    Validator,
    json_validator,
    model_validator,
    schema_message,
)
from revline.kernel.llm.types import ChatResult, Message

M = TypeVar("M", bound=BaseModel)
Unit = tuple[ChatResult, Any, str | None, int]


def _schema_parts(schema: type[BaseModel] | dict[str, Any]) -> tuple[dict[str, Any], Validator]:
    if isinstance(schema, dict):
        return schema, json_validator(schema)
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return schema.model_json_schema(), model_validator(schema)
    from revline.kernel.errors import InvalidInput

    raise InvalidInput("schema must be a Pydantic model class or a JSON-schema dict")


class _Plan:
    """Which unit runs next: the chain; on a bad answer one repair on that model; then the rest.

    `call` and `candidates` name the next unit; `take` consumes a unit's outcome (None when
    the repair call itself failed) and returns the final answer, or None to run again.
    """

    def __init__(self, core: GatewayCore, call: Call) -> None:
        self.core = core
        self.original = call
        self.call = call
        self.chain = list(call.plan)
        self.candidates = self.chain
        self.errors: list[str] = []
        self.repair_index: int | None = None
        # Invalid answers were paid for too; the final ChatResult carries their cost.
        self.discarded_usd_micros = 0

    @property
    def repairing(self) -> bool:
        """True while the next unit is the one repair attempt."""
        return self.repair_index is not None

    def take(self, unit: Unit | None) -> tuple[ChatResult, Any] | None:
        """The answer when the unit produced a valid one, else set up the next unit."""
        if unit is not None and unit[2] is None:
            result = unit[0]
            if self.discarded_usd_micros:
                result = replace(
                    result, cost_usd_micros=result.cost_usd_micros + self.discarded_usd_micros
                )
            return result, unit[1]
        if unit is not None:
            self.discarded_usd_micros += unit[0].cost_usd_micros
        if self.repair_index is None:
            assert unit is not None  # a failed first unit raises instead
            result, _, invalid, index = unit
            self.errors.append(f"{self.chain[index].key}: invalid output: {invalid}")
            self.repair_index = index
            self.call = self.core.repair(self.original, result.text, str(invalid))
            self.candidates = [self.chain[index]]
            return None
        invalid = unit[2] if unit is not None else "the repair call failed"
        index, self.repair_index = self.repair_index, None
        self.errors.append(f"{self.chain[index].key}: still invalid after one repair: {invalid}")
        self.chain = self.chain[index + 1 :]
        if not self.chain:
            raise LLMInvalidOutput(
                f"no valid answer for {self.original.requested!r}: " + "; ".join(self.errors)
            )
        self.call, self.candidates = self.original, self.chain
        return None


class LLMGateway(GatewayCore):
    """Typed entry point: chat, chat_json, structured, stream, and their async twins."""

    # Blocking API -----------------------------------------------------------------------
    def chat(
        self, messages: list[Message], *, json_mode: bool = False,
        **options: Unpack[CallOptions],
    ) -> ChatResult:
        """One completion; `model` is an alias (default, cheap, classifier, ...) or a model."""
        call = self.prepare(messages, json_mode=json_mode, **options)
        return self._complete(call, None)[0]

    def chat_json(
        self, messages: list[Message], *, schema: dict[str, Any] | None = None,
        **options: Unpack[CallOptions],
    ) -> Any:
        """Parsed JSON answer; unparsable answers are repaired once, then fall back."""
        call = self._json_call(messages, schema, options)
        return self._complete(call, json_validator(schema))[1]

    @overload
    def structured(self, messages: list[Message], *, schema: type[M],
                   **options: Unpack[CallOptions]) -> M: ...

    @overload
    def structured(self, messages: list[Message], *, schema: dict[str, Any],
                   **options: Unpack[CallOptions]) -> Any: ...

    def structured(
        self, messages: list[Message], *, schema: type[BaseModel] | dict[str, Any],
        **options: Unpack[CallOptions],
    ) -> Any:
        """A validated Pydantic instance (or schema-checked JSON for a dict schema)."""
        json_schema, validator = _schema_parts(schema)
        return self._complete(self._json_call(messages, json_schema, options), validator)[1]

    def structured_result(
        self, messages: list[Message], *, schema: type[M],
        **options: Unpack[CallOptions],
    ) -> tuple[M, ChatResult]:
        """`structured` plus its ChatResult, for callers that account cost per step."""
        json_schema, validator = _schema_parts(schema)
        result, value = self._complete(self._json_call(messages, json_schema, options), validator)
        if not isinstance(value, schema):
            value = schema.model_validate(value)
        return value, result

    def stream(self, messages: list[Message], **options: Unpack[CallOptions]) -> TextStream:
        """Text deltas; falls back only before the first one, then StreamTruncated on a break."""
        return TextStream(self, self.prepare(messages, **options))

    # Async API --------------------------------------------------------------------------
    async def achat(
        self, messages: list[Message], *, json_mode: bool = False,
        **options: Unpack[CallOptions],
    ) -> ChatResult:
        """`chat` on the running event loop (database steps run in a worker thread)."""
        call = await asyncio.to_thread(
            functools.partial(self.prepare, messages, json_mode=json_mode, **options))
        return (await self._acomplete(call, None))[0]

    async def achat_json(
        self, messages: list[Message], *, schema: dict[str, Any] | None = None,
        **options: Unpack[CallOptions],
    ) -> Any:
        """`chat_json` on the running event loop."""
        call = await asyncio.to_thread(self._json_call, messages, schema, options)
        return (await self._acomplete(call, json_validator(schema)))[1]

    async def astructured(
        self, messages: list[Message], *, schema: type[BaseModel] | dict[str, Any],
        **options: Unpack[CallOptions],
    ) -> Any:
        """`structured` on the running event loop."""
        json_schema, validator = _schema_parts(schema)
        call = await asyncio.to_thread(self._json_call, messages, json_schema, options)
        return (await self._acomplete(call, validator))[1]

    def astream(
        self, messages: list[Message], **options: Unpack[CallOptions]
    ) -> AsyncTextStream:
        """Async text deltas with the same fallback and truncation rules as `stream`."""
        return AsyncTextStream(self, self.prepare(messages, **options))

    # Orchestration ----------------------------------------------------------------------
    def _json_call(
        self, messages: list[Message], schema: dict[str, Any] | None, options: CallOptions
    ) -> Call:
        prompt = [schema_message(schema), *messages] if schema is not None else list(messages)
        return self.prepare(prompt, json_mode=True, schema=schema, **options)

    def _complete(self, call: Call, validator: Validator | None) -> tuple[ChatResult, Any]:
        hit = self.cache_lookup(call, validator)
        if hit is not None:
            return hit
        plan = _Plan(self, call)
        while True:
            try:
                unit: Unit | None = self._unit(plan.call, plan.candidates, plan.errors,
                                               validator)
            except LLMUnavailable:
                if not plan.repairing:
                    raise
                unit = None
            answer = plan.take(unit)
            if answer is not None:
                return answer

    async def _acomplete(
        self, call: Call, validator: Validator | None
    ) -> tuple[ChatResult, Any]:
        hit = await asyncio.to_thread(self.cache_lookup, call, validator)
        if hit is not None:
            return hit
        plan = _Plan(self, call)
        while True:
            try:
                unit: Unit | None = await self._aunit(plan.call, plan.candidates,
                                                      plan.errors, validator)
            except LLMUnavailable:
                if not plan.repairing:
                    raise
                unit = None
            answer = plan.take(unit)
            if answer is not None:
                return answer

    def _once(self, dep: Deployment, call: Call, res: Any) -> Completion:
        res.attempts += 1
        try:
            return self.provider(dep.provider).complete(self.request(dep, call))
        except ProviderFailure as failure:
            self.failed_attempt(dep, failure)
            raise

    async def _aonce(self, dep: Deployment, call: Call, res: Any) -> Completion:
        res.attempts += 1
        try:
            return await self.provider(dep.provider).acomplete(self.request(dep, call))
        except ProviderFailure as failure:
            self.failed_attempt(dep, failure)
            raise

    def _unit(
        self,
        call: Call,
        candidates: list[Deployment],
        errors: list[str],
        validator: Validator | None,
    ) -> Unit:
        """One reservation, served by the first deployment that answers."""
        res = self.reserve(call, candidates)
        try:
            for index, dep in self.admitted(candidates, errors):
                try:
                    completion: Completion = self.retrying(dep)(self._once, dep, call, res)
                except ProviderFailure as failure:
                    self.give_up(dep, failure, errors)
                    continue
                return (*self.finish(call, res, dep, completion, validator), index)
            raise self.unavailable(call, errors)
        except BaseException as exc:
            self.abort(res, exc)
            raise

    async def _aunit(
        self,
        call: Call,
        candidates: list[Deployment],
        errors: list[str],
        validator: Validator | None,
    ) -> Unit:
        res = await asyncio.to_thread(self.reserve, call, candidates)
        try:
            for index, dep in self.admitted(candidates, errors):
                try:
                    completion: Completion = await self.aretrying(dep)(
                        self._aonce, dep, call, res)
                except ProviderFailure as failure:
                    self.give_up(dep, failure, errors)
                    continue
                done = await asyncio.to_thread(self.finish, call, res, dep, completion,
                                               validator)
                return (*done, index)
            raise self.unavailable(call, errors)
        except BaseException as exc:
            self.abort(res, exc)  # inline: must run even while the task is being cancelled
            raise


_gateways: OrderedDict[str, LLMGateway] = OrderedDict()
_glock = threading.Lock()
_KEEP = 8  # configurations kept alive; tests and multi-tenant hosts switch between a few


def _fingerprint(settings: Settings) -> str:
    """What makes two gateways different: LLM settings (keys included) and the database."""
    data = {name: getattr(settings, name) for name in type(settings).model_fields
            if name.startswith("llm_") or name.endswith("_api_key")}
    data["database"] = settings.effective_database_url
    data["tenant"] = settings.default_tenant
    blob = json.dumps(data, sort_keys=True, default=lambda v: getattr(
        v, "get_secret_value", lambda: str(v))())
    return hashlib.sha256(blob.encode()).hexdigest()


def get_gateway(settings: Settings) -> LLMGateway:
    """The process-wide gateway for these settings (shared breaker, pools and cost windows).

    Raises LLMNotConfigured, saying how to configure a provider, when none is set.
    """
    key = _fingerprint(settings)
    with _glock:
        gateway = _gateways.get(key)
        if gateway is not None:
            _gateways.move_to_end(key)
            return gateway
    gateway = LLMGateway(settings)
    with _glock:
        gateway = _gateways.setdefault(key, gateway)
        _gateways.move_to_end(key)
        evicted = [_gateways.popitem(last=False)[1] for _ in range(len(_gateways) - _KEEP)]
    for old in evicted:
        # Only idle database connections: a caller may still hold the evicted gateway, and
        # its SDK clients and store keep working (they reconnect on demand).
        old.store_close()
    return gateway


def reset_gateways() -> None:
    """Close and forget every shared gateway (tests switch settings between cases)."""
    with _glock:
        gateways = list(_gateways.values())
        _gateways.clear()
    for gateway in gateways:
        gateway.close()
