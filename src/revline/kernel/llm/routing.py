"""Providers, deployments and model aliases, resolved once from the settings.

A deployment is one model at one provider ("openai:gpt-4o"). An alias ("default", "cheap",
"classifier", or any name in `llm_aliases`) is an ordered chain of deployments: the first is
tried first, the others are fallbacks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from pydantic import SecretStr

from revline.kernel.config import Settings
from revline.kernel.errors import ConfigError, LLMNotConfigured

ProviderKind = Literal["openai", "anthropic"]
BUILTIN_ALIASES = ("default", "cheap", "classifier")
NOT_CONFIGURED = (
    "LLM not configured: set REVLINE_OPENAI_API_KEY (or REVLINE_ANTHROPIC_API_KEY, or "
    "REVLINE_LLM_BASE_URL for an OpenAI-compatible server such as Ollama or vLLM), or set "
    "openai_api_key or [llm_providers.NAME] in revline.toml"
)


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """How to reach one provider."""

    name: str
    kind: ProviderKind
    api_key: str
    base_url: str | None = None
    timeout_s: float = 60.0
    zero_price: bool = False


@dataclass(frozen=True, slots=True)
class Deployment:
    """One model served by one provider."""

    provider: str
    model: str

    @property
    def key(self) -> str:
        """'provider:model', the name used in aliases, the breaker and messages."""
        return f"{self.provider}:{self.model}"


@dataclass(frozen=True)
class Routing:
    """Configured providers and alias chains."""

    providers: dict[str, ProviderSpec]
    aliases: dict[str, tuple[Deployment, ...]]

    @classmethod
    def from_settings(cls, settings: Settings) -> Routing:
        """Build from settings; no provider at all raises LLMNotConfigured."""
        providers = _providers(settings)
        if not providers:
            raise LLMNotConfigured(NOT_CONFIGURED)
        routing = cls(providers, {})
        aliases = _builtin_aliases(settings, providers)
        for name, chain in settings.llm_aliases.items():
            if not chain:
                raise ConfigError(f"llm_aliases.{name} is empty: list at least one model")
            aliases[name] = tuple(routing.deployment(entry) for entry in chain)
        return cls(providers, aliases)

    def deployment(self, entry: str) -> Deployment:
        """'provider:model' or a bare model (claude-* goes to Anthropic, others to OpenAI)."""
        head, sep, rest = entry.partition(":")
        if sep and head in self.providers:
            return Deployment(head, rest)
        if sep and head in ("openai", "anthropic"):
            raise ConfigError(f"model {entry!r} uses provider {head!r}, which is not configured: "
                              f"set REVLINE_{head.upper()}_API_KEY")
        if entry.startswith("claude") and "anthropic" in self.providers:
            return Deployment("anthropic", entry)
        return Deployment(self._primary(), entry)

    def resolve(self, model: str | None) -> tuple[Deployment, ...]:
        """The chain for an alias, or a single deployment for a concrete model name."""
        name = model or "default"
        chain = self.aliases.get(name)
        return chain if chain is not None else (self.deployment(name),)

    def _primary(self) -> str:
        for name in ("openai", *self.providers):
            if name in self.providers and self.providers[name].kind == "openai":
                return name
        return next(iter(self.providers))


def _secret(value: object) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return str(value) if value else ""


def _providers(settings: Settings) -> dict[str, ProviderSpec]:
    out: dict[str, ProviderSpec] = {}
    openai_key = _secret(settings.openai_api_key)
    if openai_key or settings.llm_base_url:
        # OpenAI-compatible local servers ignore the key, but the SDK insists on one.
        out["openai"] = ProviderSpec("openai", "openai", openai_key or "not-needed",
                                     settings.llm_base_url, settings.llm_timeout_s)
    anthropic_key = _secret(settings.anthropic_api_key)
    if anthropic_key:
        out["anthropic"] = ProviderSpec("anthropic", "anthropic", anthropic_key,
                                        settings.llm_anthropic_base_url, settings.llm_timeout_s)
    for name, spec in settings.llm_providers.items():
        out[name] = _extra_provider(settings, name, spec)
    return out


def _extra_provider(settings: Settings, name: str, spec: dict[str, object]) -> ProviderSpec:
    where = f"llm_providers.{name}"
    if ":" in name or not name:
        raise ConfigError(f"{where}: provider names cannot be empty or contain ':'")
    kind = str(spec.get("kind", "openai"))
    if kind not in ("openai", "anthropic"):
        raise ConfigError(f"{where}.kind must be 'openai' (any OpenAI-compatible API) or "
                          f"'anthropic', not {kind!r}")
    key = _secret(spec.get("api_key"))
    env = spec.get("api_key_env")
    if not key and env:
        key = os.environ.get(str(env), "")
        if not key:
            raise ConfigError(f"{where}: environment variable {env} (api_key_env) is not set")
    base_url = spec.get("base_url")
    if not key and not base_url:
        raise ConfigError(f"{where}: set api_key or api_key_env, and base_url for a server "
                          "other than the vendor's own")
    try:
        timeout = float(spec.get("timeout_s", settings.llm_timeout_s))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{where}.timeout_s must be a number of seconds") from None
    return ProviderSpec(
        name=name,
        kind=kind,  # type: ignore[arg-type]  # checked above
        api_key=key or "not-needed",
        base_url=str(base_url) if base_url else None,
        timeout_s=timeout,
        zero_price=bool(spec.get("zero_price", False)),
    )


def _builtin_aliases(
    settings: Settings, providers: dict[str, ProviderSpec]
) -> dict[str, tuple[Deployment, ...]]:
    has_openai = "openai" in providers
    has_anthropic = "anthropic" in providers and providers["anthropic"].kind == "anthropic"
    cheap_model = settings.llm_cheap_model or (
        settings.llm_model if settings.llm_base_url else "gpt-4o-mini"
    )
    default: list[Deployment] = []
    cheap: list[Deployment] = []
    if has_openai:
        default.append(Deployment("openai", settings.llm_model))
        cheap.append(Deployment("openai", cheap_model))
    if has_anthropic:
        default.append(Deployment("anthropic", settings.llm_fallback_model))
        cheap.append(Deployment("anthropic", settings.llm_cheap_fallback_model))
    if not default:
        first = next(iter(providers))
        default.append(Deployment(first, settings.llm_model))
        cheap.append(Deployment(first, settings.llm_cheap_model or settings.llm_model))
    return {"default": tuple(default), "cheap": tuple(cheap), "classifier": tuple(cheap)}
