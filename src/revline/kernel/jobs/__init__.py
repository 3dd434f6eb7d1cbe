"""Celery jobs: app factory, the @task wrapper, enqueue-after-commit and the beat schedule."""

from revline.kernel.jobs.app import get_celery, make_celery, periodic, reset_celery, task
from revline.kernel.jobs.enqueue import enqueue_after_commit, pending_jobs

__all__ = [
    "enqueue_after_commit",
    "get_celery",
    "make_celery",
    "pending_jobs",
    "periodic",
    "reset_celery",
    "task",
]
