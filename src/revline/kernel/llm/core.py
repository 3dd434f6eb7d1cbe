"""The gateway's shared machinery: request preparation, cache, reservation, retries, settlement.

`LLMGateway` (gateway.py) and the streams (streaming.py) drive these steps in blocking or
async form; every step that touches the database is a plain function here, so the async
side runs the very same code in a worker thread.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, TypedDict

from tenacity import AsyncRetrying, Retrying, retry_if_exception, stop_after_attempt

from revline.kernel.config import Settings
from revline.kernel.db import Database, get_database, utcnow
from revline.kernel.errors import BudgetExceeded, InvalidInput
from revline.kernel.llm import budgets as budget_admin
from revline.kernel.llm.cache import cache_key
from revline.kernel.llm.errors import (
    BREAKER_KINDS,
    LLMError,
    LLMUnavailable,
    ProviderFailure,
)
from revline.kernel.llm.prices import Price, PriceTable
from revline.kernel.llm.providers import Completion, Provider, ProviderRequest, make_provider
from revline.kernel.llm.resilience import (
    CircuitBreaker,
    Clock,
    CostGuard,
    SystemClock,
    make_wait,
)
from revline.kernel.llm.routing import Deployment, Routing
from revline.kernel.llm.store import CallRow, HotStore, Settlement
from revline.kernel.llm.structured import Validator, repair_messages
from revline.kernel.llm.tokens import prompt_tokens, text_tokens
from revline.kernel.llm.types import CallScope, ChatResult, Message

log = logging.getLogger(__name__)


class CallOptions(TypedDict, total=False):
    """Keyword options every gateway call takes (all optional)."""

    model: str | None  # alias (default, cheap, classifier, ...) or a model; None = default
    temperature: float  # 0.0 by default, which also turns the cache on
    max_tokens: int  # 1024 by default; the budget reservation is priced from it
    scope: CallScope | None  # who pays; None bills the default tenant
    cache: bool | None  # None: cache when temperature is 0 and llm_cache_enabled
    timeout_s: float | None  # per-call HTTP timeout (default: the provider's)


@dataclass(slots=True)
class Call:
    """One gateway request, normalized and priced, before any provider is contacted."""

    messages: list[Message]
    requested: str
    plan: tuple[Deployment, ...]
    temperature: float
    max_tokens: int
    json_mode: bool
    tenant_id: uuid.UUID
    feature: str
    refs: dict[str, str | None]
    cache_key: str | None
    prompt_estimate: int
    timeout_s: float | None


@dataclass(slots=True)
class Reservation:
    """A pending ledger row and the budgets holding its estimated cost."""

    row: CallRow
    budget_ids: list[uuid.UUID]
    estimate: int
    started: float
    attempts: int = 0
    settled: bool = False


class GatewayCore:
    """State shared by every call: routing, prices, breaker, cost guard, providers, store."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        providers: dict[str, Provider] | None = None,
        prices: PriceTable | None = None,
    ) -> None:
        self.settings = settings
        self.routing = Routing.from_settings(settings)  # LLMNotConfigured when nothing is set
        self.prices = prices or PriceTable.load(settings)
        self.clock: Clock = clock or SystemClock()
        self.breaker = CircuitBreaker(self.clock, settings.llm_breaker_failures,
                                      settings.llm_breaker_cooldown_s,
                                      settings.llm_breaker_cooldown_max_s)
        self.cost_guard = CostGuard(self.clock, settings.llm_cost_spike_usd,
                                    settings.llm_cost_window, settings.llm_cost_window_s,
                                    settings.llm_max_usd_per_mtok)
        self._providers: dict[str, Provider] = dict(providers or {})
        self._price_of: dict[str, Price] = {}
        self._wait = make_wait(settings)
        self._store: HotStore | None = None
        self._default_tenant: uuid.UUID | None = None
        self._lock = threading.Lock()
        self.calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.cost_usd_micros = 0

    # Lazily built parts -----------------------------------------------------------------
    @property
    def db(self) -> Database:
        """The settings' database (migrated on first use)."""
        return get_database(self.settings)

    @property
    def store(self) -> HotStore:
        """Hot-path statements on the settings' database."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = HotStore(self.db)
        return self._store

    def provider(self, name: str) -> Provider:
        """The adapter of a configured provider, built on first use."""
        found = self._providers.get(name)
        if found is None:
            with self._lock:
                found = self._providers.get(name)
                if found is None:
                    found = self._providers[name] = make_provider(self.routing.providers[name])
        return found

    def price(self, dep: Deployment) -> Price:
        """Price of a deployment (PriceUnknown when the table has none)."""
        found = self._price_of.get(dep.key)
        if found is None:
            spec = self.routing.providers[dep.provider]
            found = self.prices.lookup(dep.provider, dep.model, zero_price_provider=spec.zero_price)
            self._price_of[dep.key] = found
        return found

    def default_tenant(self) -> uuid.UUID:
        """Calls without a scope are billed to the settings' default tenant."""
        if self._default_tenant is None:
            from revline.kernel.auth.service import ensure_tenant

            with self.db.session() as session:
                self._default_tenant = ensure_tenant(session, self.settings.default_tenant).id
        return self._default_tenant

    # Preparation ------------------------------------------------------------------------
    def prepare(
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
        schema: dict[str, Any] | None = None,
    ) -> Call:
        """Validate the request, resolve the model chain and price it; nothing is sent yet."""
        if not messages or not all(isinstance(m, dict) and "content" in m for m in messages):
            raise InvalidInput("messages must be a non-empty list of {role, content} dicts")
        if max_tokens < 1:
            raise InvalidInput(f"max_tokens must be at least 1, not {max_tokens}")
        if not 0.0 <= temperature <= 2.0:
            raise InvalidInput(f"temperature must be between 0 and 2, not {temperature}")
        requested = model or "default"
        plan = self.routing.resolve(requested)
        for dep in plan:
            self.price(dep)  # an unknown price fails before anything is spent
        use_cache = (
            cache
            if cache is not None
            else self.settings.llm_cache_enabled and temperature == 0.0
        )
        return Call(
            messages=list(messages),
            requested=requested,
            plan=plan,
            temperature=temperature,
            max_tokens=max_tokens,
            json_mode=json_mode,
            tenant_id=scope.tenant_uuid() if scope is not None else self.default_tenant(),
            feature=scope.feature if scope is not None else "",
            refs=scope.refs() if scope is not None else dict.fromkeys(
                ("job", "workflow", "agent", "conversation")),
            cache_key=cache_key(requested, messages, temperature, max_tokens, json_mode, schema)
            if use_cache
            else None,
            prompt_estimate=prompt_tokens(messages),
            timeout_s=timeout_s,
        )

    def repair(self, call: Call, answer: str, error: str) -> Call:
        """The same call with the bad answer and the validation error appended."""
        messages = repair_messages(call.messages, answer, error)
        return replace(call, messages=messages, prompt_estimate=prompt_tokens(messages))

    def request(self, dep: Deployment, call: Call) -> ProviderRequest:
        """What the provider adapter receives."""
        return ProviderRequest(dep.model, call.messages, call.temperature, call.max_tokens,
                               call.json_mode, call.timeout_s)

    def _row(self, call: Call) -> CallRow:
        return CallRow(uuid.uuid4(), call.tenant_id, call.feature, call.refs["job"],
                       call.refs["workflow"], call.refs["agent"], call.refs["conversation"],
                       call.requested)

    # Cache ------------------------------------------------------------------------------
    def cache_lookup(
        self, call: Call, validator: Validator | None
    ) -> tuple[ChatResult, Any] | None:
        """A cached answer (recorded in the ledger as a free cache hit), else None."""
        if call.cache_key is None:
            return None
        started = time.perf_counter()
        store, now = self.store, utcnow()
        with store.connection() as conn:
            hit = store.cache_get(conn, call.tenant_id, call.cache_key, now)
            if not isinstance(hit, dict) or not isinstance(hit.get("text"), str):
                return None
            value, error = validator(hit["text"]) if validator else (None, None)
            if error is not None:
                return None
            result = ChatResult(
                text=hit["text"], model=str(hit.get("model", "")),
                provider=str(hit.get("provider", "")),
                prompt_tokens=int(hit.get("prompt_tokens", 0)),
                completion_tokens=int(hit.get("completion_tokens", 0)),
                cached=True, attempts=0, finish_reason=hit.get("finish_reason"),
            )
            result.latency_ms = (time.perf_counter() - started) * 1000
            row = self._row(call)
            result.call_id = row.id
            store.record_cached(conn, row, Settlement(
                "ok", result.provider, result.model, result.prompt_tokens,
                result.completion_tokens, 0, self.prices.version, result.latency_ms, 0,
            ), now)
        return result, value

    # Reservation ------------------------------------------------------------------------
    def estimate(self, call: Call, candidates: list[Deployment]) -> int:
        """Worst-case cost over the deployments that may serve the call."""
        return max(self.price(d).cost_micros(call.prompt_estimate, call.max_tokens)
                   for d in candidates)

    def reserve(self, call: Call, candidates: list[Deployment]) -> Reservation:
        """Reserve the estimate on every applicable budget and open a pending ledger row."""
        estimate = self.estimate(call, candidates)
        row = self._row(call)
        store, now = self.store, utcnow()
        try:
            with store.connection() as conn:
                budgets = store.budgets(conn, call.tenant_id, call.refs)
                refused = store.reserve(conn, row, budgets, estimate, now)
                if refused is not None and self._release_stale(call):
                    budgets = store.budgets(conn, call.tenant_id, call.refs)
                    refused = store.reserve(conn, row, budgets, estimate, now)
                if refused is not None:
                    current = next((b for b in store.budgets(conn, call.tenant_id, call.refs)
                                    if b.id == refused.id), refused)
                    raise BudgetExceeded(budget_admin.exceeded_message(
                        current, estimate, call.plan[0].key, call.max_tokens))
        except store.integrity_error as exc:
            raise InvalidInput(
                f"tenant {call.tenant_id} does not exist: pass the id of an existing tenant "
                "in CallScope (tenants are created by `revline keys create --tenant SLUG`)"
            ) from exc
        return Reservation(row, [b.id for b in budgets], estimate, time.perf_counter())

    def _release_stale(self, call: Call) -> int:
        """Free reservations of calls that never settled (a crashed process); slow path only."""
        with self.db.session() as session:
            return budget_admin.release_stale(
                session, self.settings.llm_stale_reservation_s, call.tenant_id
            )

    # Attempts ---------------------------------------------------------------------------
    def admit(self, dep: Deployment) -> str | None:
        """Why a deployment is skipped right now (circuit open, too expensive), else None."""
        cooling = self.breaker.open_for(dep.key)
        if cooling > 0:
            return f"circuit open for {cooling:.1f}s after repeated failures"
        return self.cost_guard.check(dep.key, self.price(dep))

    def admitted(
        self, candidates: list[Deployment], errors: list[str]
    ) -> Iterator[tuple[int, Deployment]]:
        """The deployments that may be tried now, in order; skipped ones are noted in errors."""
        for index, dep in enumerate(candidates):
            reason = self.admit(dep)
            if reason is None:
                yield index, dep
            else:
                errors.append(f"{dep.key}: skipped, {reason}")

    def failed_attempt(self, dep: Deployment, failure: ProviderFailure) -> None:
        """Count an availability failure against the deployment's breaker."""
        if failure.kind in BREAKER_KINDS:
            self.breaker.failure(dep.key)

    def _should_retry(self, dep: Deployment, exc: BaseException) -> bool:
        if not isinstance(exc, ProviderFailure) or not exc.retryable:
            return False
        if exc.retry_after is not None and exc.retry_after > self.settings.llm_retry_after_max_s:
            return False  # cheaper to fall over now than to wait that long
        return self.breaker.open_for(dep.key) == 0

    def retrying(self, dep: Deployment) -> Retrying:
        """Tenacity policy for one deployment: retryable failures only, Retry-After first."""
        return Retrying(
            stop=stop_after_attempt(self.settings.llm_max_attempts),
            wait=self._wait,
            retry=retry_if_exception(lambda exc: self._should_retry(dep, exc)),
            sleep=self.clock.sleep,
            reraise=True,
        )

    def aretrying(self, dep: Deployment) -> AsyncRetrying:
        """The same policy for coroutines."""
        return AsyncRetrying(
            stop=stop_after_attempt(self.settings.llm_max_attempts),
            wait=self._wait,
            retry=retry_if_exception(lambda exc: self._should_retry(dep, exc)),
            sleep=self.clock.asleep,
            reraise=True,
        )

    def give_up(self, dep: Deployment, failure: ProviderFailure, errors: list[str]) -> None:
        """Note why a deployment failed; errors that no fallback can fix are raised."""
        errors.append(f"{dep.key}: {failure.describe()}")
        if failure.falls_over:
            return
        spec = self.routing.providers[dep.provider]
        if failure.kind == "auth":
            key_hint = ("REVLINE_ANTHROPIC_API_KEY" if dep.provider == "anthropic"
                        else "REVLINE_OPENAI_API_KEY" if dep.provider == "openai"
                        else f"llm_providers.{dep.provider}.api_key")
            raise LLMError(f"provider {spec.name} rejected the API key ({failure.status}); "
                           f"check {key_hint}")
        if failure.kind == "not_found":
            raise LLMError(f"{dep.key} was not found at the provider ({failure.status}); check "
                           "the model name in llm_aliases or the provider's base_url")
        raise LLMError(f"{dep.key} rejected the request: {failure.describe()}")

    def unavailable(self, call: Call, errors: list[str]) -> LLMUnavailable:
        """Every deployment failed: say which and why, in one line."""
        return LLMUnavailable(
            f"no deployment of {call.requested!r} could answer: " + "; ".join(errors)
        )

    # Settlement -------------------------------------------------------------------------
    def finish(
        self,
        call: Call,
        res: Reservation,
        dep: Deployment,
        completion: Completion,
        validator: Validator | None,
        status: str = "ok",
        error: str | None = None,
    ) -> tuple[ChatResult, Any, str | None]:
        """Price the answer, validate it, settle the reservation and cache a good answer."""
        text = completion.text
        # Some compatible servers omit usage: estimate rather than record a silent $0.
        p_tokens = completion.prompt_tokens or call.prompt_estimate
        c_tokens = completion.completion_tokens or text_tokens(text)
        cost = self.price(dep).cost_micros(p_tokens, c_tokens)
        value, invalid = validator(text) if validator and status == "ok" else (None, None)
        if invalid is not None:
            status, error = "invalid", invalid
        latency = (time.perf_counter() - res.started) * 1000
        model = completion.model or dep.model
        cache = None
        if call.cache_key is not None and status == "ok":
            expires = utcnow() + timedelta(seconds=self.settings.llm_cache_ttl_s)
            cache = (call.tenant_id, call.cache_key, {
                "text": text, "model": model, "provider": dep.provider,
                "prompt_tokens": p_tokens, "completion_tokens": c_tokens,
                "finish_reason": completion.finish_reason,
            }, expires)
        store = self.store
        with store.connection() as conn:
            store.settle(conn, res.row.id, res.budget_ids, res.estimate, Settlement(
                status, dep.provider, model, p_tokens, c_tokens, cost, self.prices.version,
                latency, res.attempts, error), utcnow(), cache)
        res.settled = True
        if status != "truncated":  # a broken stream is not a sign of health
            self.breaker.success(dep.key)
        if status == "ok":
            self.cost_guard.record(dep.key, cost)
        with self._lock:
            self.calls += 1
            self.prompt_tokens += p_tokens
            self.completion_tokens += c_tokens
            self.cost_usd_micros += cost
        result = ChatResult(
            text=text, model=model, provider=dep.provider, prompt_tokens=p_tokens,
            completion_tokens=c_tokens, cost_usd_micros=cost, cached=False, latency_ms=latency,
            attempts=res.attempts, finish_reason=completion.finish_reason, call_id=res.row.id,
        )
        return result, value, invalid

    def abort(self, res: Reservation, exc: BaseException) -> None:
        """Release the reservation of a call that produced nothing billable."""
        if res.settled:
            return
        message = str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__
        latency = (time.perf_counter() - res.started) * 1000
        try:
            store = self.store
            with store.connection() as conn:
                store.settle(conn, res.row.id, res.budget_ids, res.estimate, Settlement(
                    "error", "", "", 0, 0, 0, self.prices.version, latency, res.attempts,
                    message), utcnow(), only_pending=True)
            res.settled = True
        except Exception:  # the original error matters more; the sweep frees it later
            log.exception("could not release LLM reservation %s", res.row.id)

    # Introspection --------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """Aliases with their chains, prices and breaker state, for the CLI and the API."""
        from revline.kernel.llm.errors import PriceUnknown

        aliases: dict[str, list[dict[str, Any]]] = {}
        for name, chain in self.routing.aliases.items():
            rows: list[dict[str, Any]] = []
            for dep in chain:
                try:
                    price: Price | None = self.price(dep)
                except PriceUnknown:
                    price = None
                rows.append({
                    "deployment": dep.key,
                    "provider": dep.provider,
                    "model": dep.model,
                    "input_usd_per_mtok": price.input if price else None,
                    "output_usd_per_mtok": price.output if price else None,
                    "price_source": price.source if price else "unknown",
                    "circuit_open_s": round(self.breaker.open_for(dep.key), 1),
                })
            aliases[name] = rows
        providers = {
            name: {"kind": spec.kind, "base_url": spec.base_url or "(vendor default)"}
            for name, spec in self.routing.providers.items()
        }
        return {"price_version": self.prices.version, "providers": providers,
                "aliases": aliases}

    # Lifecycle --------------------------------------------------------------------------
    def store_close(self) -> None:
        """Close idle pooled database connections (new ones open on demand)."""
        if self._store is not None:
            self._store.close()

    def close(self) -> None:
        """Close provider clients and pooled database connections."""
        for provider in list(self._providers.values()):
            provider.close()
        self.store_close()

    async def aclose(self) -> None:
        """Close the running loop's provider clients."""
        for provider in list(self._providers.values()):
            await provider.aclose()
