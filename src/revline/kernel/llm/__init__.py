"""LLM gateway: every LLM call in Revline goes through here."""

from revline.kernel.llm.gateway import ChatResult, LLMGateway, get_gateway

__all__ = ["ChatResult", "LLMGateway", "get_gateway"]
