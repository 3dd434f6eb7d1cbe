"""Tables of the LLM gateway: the cost ledger and budgets."""

from __future__ import annotations
