"""Token estimates for budget reservations, made before any provider is called.

No tokenizer ships offline for every provider, so this deliberately over-estimates: about
one token per 3 characters (English BPE averages ~4) plus per-message framing. Reserving a
little too much keeps concurrent callers from overspending; settlement uses the real usage.
"""

from __future__ import annotations

from collections.abc import Sequence

from revline.kernel.llm.types import Message

CHARS_PER_TOKEN = 3
MESSAGE_OVERHEAD = 4
REPLY_PRIMING = 3


def text_tokens(text: str) -> int:
    """Estimated tokens of a text (rounded up)."""
    return -(-len(text) // CHARS_PER_TOKEN)


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
