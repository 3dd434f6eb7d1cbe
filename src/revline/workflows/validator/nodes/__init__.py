"""Registry of node-type rules: one rule class per Dify `data.type`, grouped by family."""

from __future__ import annotations

from revline.workflows.validator.nodes.base import ERROR_STRATEGIES, Fields, NodeRule
from revline.workflows.validator.nodes.data import DATA_RULES
from revline.workflows.validator.nodes.flow import FLOW_RULES
from revline.workflows.validator.nodes.io import IO_RULES
from revline.workflows.validator.nodes.model import MODEL_RULES

RULES: dict[str, NodeRule] = {
    r.type: r for r in (*IO_RULES, *MODEL_RULES, *FLOW_RULES, *DATA_RULES)
}
KNOWN_TYPES: tuple[str, ...] = tuple(sorted(RULES))
TRIGGER_TYPES = frozenset({"trigger-webhook", "trigger-schedule", "trigger-plugin"})

__all__ = ["ERROR_STRATEGIES", "KNOWN_TYPES", "RULES", "TRIGGER_TYPES", "Fields", "NodeRule"]
