"""The one place that knows every domain: models for Alembic, task modules for Celery."""

from __future__ import annotations

import importlib

MODEL_MODULES = ("revline.kernel.auth.models", "revline.leads.models")
TASK_MODULES = ("revline.kernel.jobs.builtin", "revline.leads.tasks")


def load_models() -> None:
    """Import every models module so Base.metadata is complete."""
    for name in MODEL_MODULES:
        importlib.import_module(name)


def configure_jobs() -> None:
    """Tell the Celery app factory which modules hold tasks."""
    from revline.kernel.jobs import app

    for name in TASK_MODULES:
        if name not in app.TASK_MODULES:
            app.TASK_MODULES.append(name)
