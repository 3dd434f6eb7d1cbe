"""Provider adapters over the official SDKs: OpenAI (and any compatible base_url), Anthropic."""

from revline.kernel.llm.providers.base import (
    Completion,
    Provider,
    ProviderRequest,
    StreamChunk,
    make_provider,
    retry_after_seconds,
)

__all__ = [
    "Completion",
    "Provider",
    "ProviderRequest",
    "StreamChunk",
    "make_provider",
    "retry_after_seconds",
]
