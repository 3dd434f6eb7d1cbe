"""Reservation token estimates: never below what a provider's tokenizer can bill."""

from __future__ import annotations

from revline.kernel.llm.tokens import prompt_tokens, text_tokens


def test_ascii_text_is_one_token_per_three_characters() -> None:
    assert text_tokens("") == 0
    assert text_tokens("abc") == 1
    assert text_tokens("abcd") == 2
    assert prompt_tokens([{"role": "user", "content": "hi"}]) == 3 + 4 + 1


def test_non_latin_text_is_not_under_reserved() -> None:
    """CJK characters cost about one token each (older encoders and emoji more), not 1/3: an
    estimate three times too low lets 50 concurrent calls overspend a budget by far more than
    one call."""
    chinese = "预算在调用之前预留" * 100  # 900 characters
    assert text_tokens(chinese) >= 2 * len(chinese)
    assert text_tokens("naïve café") == 3 + 2 * 2  # 8 ASCII characters, 2 accented letters
    assert prompt_tokens([{"role": "user", "content": chinese}]) >= 2 * len(chinese)
