"""Token estimates for budget reservations, made before any provider is called.

No tokenizer ships offline for every provider, so this deliberately over-estimates: about
one token per 3 ASCII characters (English BPE averages ~4) and two per other character (CJK
is about one token a character in current encoders and up to two in older ones; accented
letters, other scripts and emoji vary), plus per-message framing. Reserving a little too
much keeps concurrent callers from overspending; settlement uses the real usage.
"""

from __future__ import annotations

from collections.abc import Sequence

from revline.kernel.llm.types import Message

CHARS_PER_TOKEN = 3
TOKENS_PER_NON_ASCII = 2
MESSAGE_OVERHEAD = 4
REPLY_PRIMING = 3


def text_tokens(text: str) -> int:
    """Estimated tokens of a text (rounded up, never below what a tokenizer bills)."""
    if text.isascii():
        return -(-len(text) // CHARS_PER_TOKEN)
    other = sum(1 for ch in text if not ch.isascii())
    return -(-(len(text) - other) // CHARS_PER_TOKEN) + TOKENS_PER_NON_ASCII * other


def prompt_tokens(messages: Sequence[Message]) -> int:
    """Estimated prompt tokens of a chat request."""
    total = REPLY_PRIMING
    for message in messages:
        content = message.get("content", "")
        if not isinstance(content, str):
            content = " ".join(
                str(part.get("text", "")) for part in content if isinstance(part, dict)
            )
        total += MESSAGE_OVERHEAD + text_tokens(content)
    return total
