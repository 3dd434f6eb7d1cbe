"""The LLM gateway: every LLM call in Revline goes through `get_gateway(settings)`.

One call = cache lookup -> budget reservation (before anything is sent) -> the alias's
deployments in order, each with tenacity retries, behind a circuit breaker and a cost guard
-> settlement of the actual cost in the ledger -> cache write. Structured calls validate the
answer, repair once on the same model, then fall back to the next one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from typing import Any, TypeVar, overload

from pydantic import BaseModel

from revline.kernel.config import Settings
from revline.kernel.llm.core import Call, GatewayCore
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
from revline.kernel.llm.types import CallScope, ChatResult, Message

M = TypeVar("M", bound=BaseModel)
Unit = tuple[ChatResult, Any, str | None, int]


def _schema_parts(schema: type[BaseModel] | dict[str, Any]) -> tuple[dict[str, Any], Validator]:
    if isinstance(schema, dict):
        return schema, json_validator(schema)
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return schema.model_json_schema(), model_validator(schema)
    from revline.kernel.errors import InvalidInput

    raise InvalidInput("schema must be a Pydantic model class or a JSON-schema dict")


class LLMGateway(GatewayCore):
    """Typed entry point: chat, chat_json, structured, stream, and their async twins."""

    # Blocking API -----------------------------------------------------------------------
    def chat(
        self,
        messages: list[Message],
        *,
        model: str | None = None,
        temperature: float = 0.0,
        max_tokens: int = 1024,
        json_mode: bool = False,
        scope: CallScope | None = None,
        cache: bool | None = None,
        timeout_s: float | None = None,
    ) -> ChatResult:
        """One completion; `model` is an alias (default, cheap, classifier, ...) or a model."""
        call = self.prepare(messages, model=model, temperature=temperature,
                            max_tokens=max_tokens, json_mode=json_mode, scope=scope,
                            cache=cache, timeout_s=timeout_s)
        return self._complete(call, None)[0]

    def chat_json(
        self,
        messages: list[Message],
        *,
        schema: dict[str, Any] | None = None,
        model: str | None = None,
        temperature: float = 0.0,
        max_tokens: int = 1024,
        scope: CallScope | None = None,
        cache: bool | None = None,
        timeout_s: float | None = None,
    ) -> Any:
        """Parsed JSON answer; unparsable answers are repaired once, then fall back."""
        call = self._json_call(messages, schema, model, temperature, max_tokens, scope, cache,
                               timeout_s)
        return self._complete(call, json_validator(schema))[1]

    @overload
    def structured(self, messages: list[Message], *, schema: type[M], model: str | None = ...,
                   temperature: float = ..., max_tokens: int = ..., scope: CallScope | None = ...,
                   cache: bool | None = ..., timeout_s: float | None = ...) -> M: ...

    @overload
    def structured(self, messages: list[Message], *, schema: dict[str, Any],
                   model: str | None = ..., temperature: float = ..., max_tokens: int = ...,
                   scope: CallScope | None = ..., cache: bool | None = ...,
                   timeout_s: float | None = ...) -> Any: ...

    def structured(
        self,
        messages: list[Message],
        *,
        schema: type[BaseModel] | dict[str, Any],
        model: str | None = None,
        temperature: float = 0.0,
        max_tokens: int = 1024,
        scope: CallScope | None = None,
        cache: bool | None = None,
        timeout_s: float | None = None,
    ) -> Any:
        """A validated Pydantic instance (or schema-checked JSON for a dict schema)."""
        json_schema, validator = _schema_parts(schema)
        call = self._json_call(messages, json_schema, model, temperature, max_tokens, scope,
                               cache, timeout_s)
        return self._complete(call, validator)[1]

    def stream(
        self,
        messages: list[Message],
        *,
        model: str | None = None,
        temperature: float = 0.0,
        max_tokens: int = 1024,
        scope: CallScope | None = None,
        cache: bool | None = None,
        timeout_s: float | None = None,
    ) -> TextStream:
        """Text deltas; falls back only before the first one, then StreamTruncated on a break."""
        call = self.prepare(messages, model=model, temperature=temperature,
                            max_tokens=max_tokens, json_mode=False, scope=scope, cache=cache,
                            timeout_s=timeout_s)
        return TextStream(self, call)

    # Async API --------------------------------------------------------------------------
    async def achat(
        self,
        messages: list[Message],
        *,
        model: str | None = None,
        temperature: float = 0.0,
        max_tokens: int = 1024,
        json_mode: bool = False,
        scope: CallScope | None = None,
        cache: bool | None = None,
        timeout_s: float | None = None,
    ) -> ChatResult:
        """`chat` on the running event loop (database steps run in a worker thread)."""
        call = await asyncio.to_thread(
            self.prepare, messages, model=model, temperature=temperature,
            max_tokens=max_tokens, json_mode=json_mode, scope=scope, cache=cache,
            timeout_s=timeout_s)
        return (await self._acomplete(call, None))[0]

    async def achat_json(
        self,
        messages: list[Message],
        *,
        schema: dict[str, Any] | None = None,
        model: str | None = None,
        temperature: float = 0.0,
        max_tokens: int = 1024,
        scope: CallScope | None = None,
        cache: bool | None = None,
        timeout_s: float | None = None,
    ) -> Any:
        """`chat_json` on the running event loop."""
        call = await asyncio.to_thread(self._json_call, messages, schema, model, temperature,
                                       max_tokens, scope, cache, timeout_s)
        return (await self._acomplete(call, json_validator(schema)))[1]

    async def astructured(
        self,
        messages: list[Message],
        *,
        schema: type[BaseModel] | dict[str, Any],
        model: str | None = None,
        temperature: float = 0.0,
        max_tokens: int = 1024,
        scope: CallScope | None = None,
        cache: bool | None = None,
        timeout_s: float | None = None,
    ) -> Any:
        """`structured` on the running event loop."""
        json_schema, validator = _schema_parts(schema)
        call = await asyncio.to_thread(self._json_call, messages, json_schema, model,
                                       temperature, max_tokens, scope, cache, timeout_s)
        return (await self._acomplete(call, validator))[1]

    def astream(
        self,
        messages: list[Message],
        *,
        model: str | None = None,
        temperature: float = 0.0,
        max_tokens: int = 1024,
        scope: CallScope | None = None,
        cache: bool | None = None,
        timeout_s: float | None = None,
    ) -> AsyncTextStream:
        """Async text deltas with the same fallback and truncation rules as `stream`."""
        call = self.prepare(messages, model=model, temperature=temperature,
                            max_tokens=max_tokens, json_mode=False, scope=scope, cache=cache,
                            timeout_s=timeout_s)
        return AsyncTextStream(self, call)

    # Orchestration ----------------------------------------------------------------------
    def _json_call(
        self,
        messages: list[Message],
        schema: dict[str, Any] | None,
        model: str | None,
        temperature: float,
        max_tokens: int,
        scope: CallScope | None,
        cache: bool | None,
        timeout_s: float | None,
    ) -> Call:
        prompt = [schema_message(schema), *messages] if schema is not None else list(messages)
        return self.prepare(prompt, model=model, temperature=temperature,
                            max_tokens=max_tokens, json_mode=True, scope=scope, cache=cache,
                            timeout_s=timeout_s, schema=schema)

    def _complete(self, call: Call, validator: Validator | None) -> tuple[ChatResult, Any]:
        hit = self.cache_lookup(call, validator)
        if hit is not None:
            return hit
        candidates, errors = list(call.plan), list[str]()
        while True:
            result, value, invalid, index = self._unit(call, candidates, errors, validator)
            if invalid is None:
                return result, value
            dep = candidates[index]
            errors.append(f"{dep.key}: invalid output: {invalid}")
            try:
                result, value, invalid, _ = self._unit(
                    self.repair(call, result.text, invalid), [dep], errors, validator)
            except LLMUnavailable:
                invalid = "repair call failed"
            if invalid is None:
                return result, value
            candidates = self._next_candidates(call, candidates, index, errors, invalid)

    async def _acomplete(
        self, call: Call, validator: Validator | None
    ) -> tuple[ChatResult, Any]:
        hit = await asyncio.to_thread(self.cache_lookup, call, validator)
        if hit is not None:
            return hit
        candidates, errors = list(call.plan), list[str]()
        while True:
            result, value, invalid, index = await self._aunit(call, candidates, errors,
                                                              validator)
            if invalid is None:
                return result, value
            dep = candidates[index]
            errors.append(f"{dep.key}: invalid output: {invalid}")
            try:
                result, value, invalid, _ = await self._aunit(
                    self.repair(call, result.text, invalid), [dep], errors, validator)
            except LLMUnavailable:
                invalid = "repair call failed"
            if invalid is None:
                return result, value
            candidates = self._next_candidates(call, candidates, index, errors, invalid)

    @staticmethod
    def _next_candidates(
        call: Call, candidates: list[Deployment], index: int, errors: list[str], invalid: str
    ) -> list[Deployment]:
        errors.append(f"{candidates[index].key}: still invalid after one repair: {invalid}")
        rest = candidates[index + 1 :]
        if not rest:
            raise LLMInvalidOutput(
                f"no valid answer for {call.requested!r}: " + "; ".join(errors)
            )
        return rest

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
            for index, dep in enumerate(candidates):
                reason = self.admit(dep)
                if reason is not None:
                    errors.append(f"{dep.key}: skipped, {reason}")
                    continue
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
            for index, dep in enumerate(candidates):
                reason = self.admit(dep)
                if reason is not None:
                    errors.append(f"{dep.key}: skipped, {reason}")
                    continue
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


_gateways: dict[str, LLMGateway] = {}
_glock = threading.Lock()


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
    gateway = _gateways.get(key)
    if gateway is None:
        with _glock:
            gateway = _gateways.get(key)
            if gateway is None:
                gateway = _gateways[key] = LLMGateway(settings)
    return gateway


def reset_gateways() -> None:
    """Close and forget every shared gateway (tests switch settings between cases)."""
    with _glock:
        gateways = list(_gateways.values())
        _gateways.clear()
    for gateway in gateways:
        gateway.close()
