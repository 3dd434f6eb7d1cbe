"""The one place that knows every domain: models for Alembic, tasks for Celery, routers, CLIs."""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "revline.kernel.auth.models",
    "revline.kernel.llm.models",
    "revline.leads.models",
    "revline.knowledge.models",
    "revline.experiments.models",
    "revline.ads.models",
    "revline.workflows.models",
)
TASK_MODULES = (
    "revline.kernel.jobs.builtin",
    "revline.leads.tasks",
    "revline.knowledge.tasks",
    "revline.experiments.tasks",
    "revline.ads.tasks",
    "revline.workflows.tasks",
)
# Each module exposes `router`; create_app() mounts them in this order.
ROUTER_MODULES = (
    "revline.kernel.llm.endpoints",
    "revline.leads.endpoints",
    "revline.knowledge.endpoints",
    "revline.experiments.endpoints",
    "revline.ads.endpoints",
    "revline.workflows.endpoints",
)
# `revline <name>` sub-commands: each module exposes a Typer `app`.
CLI_MODULES = (
    ("llm", "revline.kernel.llm.cli"),
    ("leads", "revline.leads.cli"),
    ("kb", "revline.knowledge.cli"),
    ("experiments", "revline.experiments.cli"),
    ("ads", "revline.ads.cli"),
    ("workflows", "revline.workflows.cli"),
)


def load_models() -> None:
    """Import every models module so Base.metadata is complete."""
    for name in MODEL_MODULES:
        importlib.import_module(name)


def configure_jobs() -> None:
    """Register every task module with the Celery app factory, importing each one now.

    Importing is what runs the modules' `@periodic` registrations; the beat schedule is built
    from them, so a worker started without these imports would schedule nothing.
    """
    from revline.kernel.jobs import app

    for name in TASK_MODULES:
        if name not in app.TASK_MODULES:
            app.TASK_MODULES.append(name)
        importlib.import_module(name)
    app.refresh_beat_schedule()
