"""Celery app built from Settings; embedded default broker is kombu's SQL transport on SQLite."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from celery import Celery, shared_task
from sqlalchemy.exc import SADeprecationWarning

from revline.kernel.config import Settings, get_settings

F = TypeVar("F", bound=Callable[..., Any])

# name -> (task name, interval); filled by domains at import time via @periodic.
_BEAT: dict[str, tuple[str, timedelta]] = {}
# Modules the worker imports so their @task functions register (set by the app registry).
TASK_MODULES: list[str] = ["revline.kernel.jobs.builtin"]

# kombu's SQL transport (our embedded broker) uses a loader option SQLAlchemy 2.1 deprecates.
warnings.filterwarnings(
    "ignore", message="The ``noload`` loader strategy", category=SADeprecationWarning
)

_app: Celery | None = None
_lock = threading.Lock()


def make_celery(settings: Settings | None = None) -> Celery:
    """A configured Celery app; separate instances for tests that need a private broker."""
    settings = settings or get_settings()
    if settings.effective_broker_url.startswith("sqla+sqlite"):
        settings.ensure_home()
    app = Celery("revline", broker=settings.effective_broker_url,
                 backend=settings.effective_result_backend, set_as_current=True)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        broker_connection_retry_on_startup=True,
        result_extended=True,
        imports=list(TASK_MODULES),
        beat_schedule=beat_schedule(),
    )
    return app


def beat_schedule() -> dict[str, dict[str, Any]]:
    """Celery's beat_schedule from every `periodic` entry registered so far."""
    return {
        name: {"task": task_name, "schedule": every} for name, (task_name, every) in _BEAT.items()
    }


def refresh_beat_schedule() -> None:
    """Give an already-built process-wide app the entries registered since it was built."""
    with _lock:
        if _app is not None:
            _app.conf.beat_schedule = beat_schedule()


def get_celery() -> Celery:
    """Process-wide app, created on first use."""
    global _app
    with _lock:
        if _app is None:
            _app = make_celery()
        return _app


def reset_celery() -> None:
    """Drop the cached app (tests change the broker between cases)."""
    global _app
    with _lock:
        _app = None


def task(name: str, **options: Any) -> Callable[[F], F]:
    """Register a job named `domain.verb`; jobs take IDs, ack late and survive worker loss."""
    if "." not in name:
        raise ValueError(f"task name {name!r} must be 'domain.verb'")

    def decorate(fn: F) -> F:
        wrapped: Any = shared_task(name=name, acks_late=True, **options)(fn)
        return wrapped  # type: ignore[no-any-return]

    return decorate


def periodic(entry: str, task_name: str, every: timedelta) -> None:
    """Add an entry to the beat schedule (read when the app is built)."""
    _BEAT[entry] = (task_name, every)
