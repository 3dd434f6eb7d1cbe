"""Safe executor: the pending_ad_changes queue, the guards and the worker that applies changes."""

from revline.ads.executor.queue import Claim, claim, enqueue
from revline.ads.executor.runner import ChangeExecutor, RunReport

__all__ = ["ChangeExecutor", "Claim", "RunReport", "claim", "enqueue"]
