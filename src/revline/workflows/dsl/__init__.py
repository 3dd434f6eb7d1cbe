"""Build, lay out, repair and export Dify DSL documents (see `builder`)."""

from __future__ import annotations

from revline.workflows.dsl.builder import (
    AppSpec,
    BuiltDSL,
    ConversationVar,
    EnvVar,
    InvalidGraph,
    SecretInDSL,
    build_dsl,
    default_features,
    dump_dsl,
    scrub_secrets,
)
from revline.workflows.dsl.layout import apply_layout
from revline.workflows.dsl.repair import RepairResult, repair_graph, valid_handles

__all__ = [
    "AppSpec", "BuiltDSL", "ConversationVar", "EnvVar", "InvalidGraph", "RepairResult",
    "SecretInDSL",
    "apply_layout", "build_dsl", "default_features", "dump_dsl", "repair_graph", "scrub_secrets",
    "valid_handles",
]
