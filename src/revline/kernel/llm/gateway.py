"""Gateway over the official OpenAI SDK (and any OpenAI-compatible base_url).

This is the first cut used by the lead pipeline: one provider, gateway-owned retries, JSON
output and a usage count. Fallback chains, budgets, the cost ledger and the cache build on it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import openai
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from revline.kernel.config import Settings
from revline.kernel.errors import LLMNotConfigured, RevlineError

RETRYABLE = (openai.RateLimitError, openai.APIConnectionError, openai.InternalServerError)


class LLMError(RevlineError):
    """The provider failed after retries, or answered with something unusable."""

    status_code = 502


@dataclass
class ChatResult:
    """Text plus usage of one completed call."""

    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0


@dataclass
class LLMGateway:
    """Thin, typed entry point; owns retries (SDK retries are off)."""

    settings: Settings
    client: openai.OpenAI
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    attempts: int = 3
    history: list[ChatResult] = field(default_factory=list)

    def chat(
        self,
        messages: list[dict[str, str]],
        *,
        model: str | None = None,
        temperature: float = 0.0,
        max_tokens: int = 1024,
        json_mode: bool = False,
    ) -> ChatResult:
        """One chat completion with jittered exponential backoff on retryable errors."""
        kwargs: dict[str, Any] = {
            "model": model or self.settings.llm_model,
            "messages": messages,
            "temperature": temperature,
            "max_tokens": max_tokens,
        }
        if json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        started = time.perf_counter()
        try:
            for attempt in Retrying(
                stop=stop_after_attempt(self.attempts),
                wait=wait_random_exponential(multiplier=0.2, max=5),
                retry=retry_if_exception_type(RETRYABLE),
                reraise=True,
            ):
                with attempt:
                    resp = self.client.chat.completions.create(**kwargs)
        except openai.AuthenticationError as exc:
            raise LLMError(
                "LLM provider rejected the API key; check REVLINE_OPENAI_API_KEY"
            ) from exc
        except openai.OpenAIError as exc:
            raise LLMError(f"LLM call failed: {type(exc).__name__}: {exc}") from exc
        usage = resp.usage
        result = ChatResult(
            text=resp.choices[0].message.content or "",
            model=resp.model,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
        self.calls += 1
        self.prompt_tokens += result.prompt_tokens
        self.completion_tokens += result.completion_tokens
        self.history.append(result)
        return result

    def chat_json(self, messages: list[dict[str, str]], **kwargs: Any) -> Any:
        """Chat in JSON mode and parse the answer; a non-JSON answer is an LLMError."""
        result = self.chat(messages, json_mode=True, **kwargs)
        try:
            return json.loads(result.text)
        except json.JSONDecodeError as exc:
            raise LLMError(f"LLM answered non-JSON: {result.text[:80]!r}") from exc


def get_gateway(settings: Settings) -> LLMGateway:
    """The configured gateway, or LLMNotConfigured saying how to configure one."""
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    if not key and not settings.llm_base_url:
        raise LLMNotConfigured()
    client = openai.OpenAI(
        api_key=key or "not-needed",
        base_url=settings.llm_base_url,
        max_retries=0,
        timeout=60.0,
    )
    return LLMGateway(settings=settings, client=client)
