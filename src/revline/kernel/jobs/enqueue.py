"""Enqueue jobs only once the surrounding transaction commits; drop them on rollback."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

_KEY = "revline.pending_jobs"


def pending_jobs(session: Session) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    """Jobs waiting for this session's commit."""
    jobs: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = session.info.setdefault(_KEY, [])
    return jobs


def enqueue_after_commit(session: Session, task_name: str, *args: Any, **kwargs: Any) -> None:
    """Queue `task_name(*args)` to be sent after commit, so workers never see uncommitted IDs."""
    for value in (*args, *kwargs.values()):
        if not isinstance(value, str | int | float | bool | type(None)):
            raise TypeError(f"job {task_name} must carry IDs/scalars, got {type(value).__name__}")
    # Make sure a transaction exists, so its commit or rollback decides the job's fate.
    session.connection()
    pending_jobs(session).append((task_name, args, kwargs))


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    jobs = session.info.pop(_KEY, None)
    if not jobs:
        return
    from revline.kernel.jobs.app import get_celery

    app = get_celery()
    for name, args, kwargs in jobs:
        app.send_task(name, args=list(args), kwargs=kwargs)


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    # Only the outermost rollback discards work; a savepoint rollback keeps the outer jobs.
    if previous_transaction.parent is None:
        session.info.pop(_KEY, None)
