"""The lead pipeline: run options, the resumable runner and run summaries."""

from revline.leads.pipeline.options import MockupWriter, RunOptions, file_sha256, lead_result
from revline.leads.pipeline.runner import LeadPipeline
from revline.leads.pipeline.summary import histogram, tally

__all__ = [
    "LeadPipeline",
    "MockupWriter",
    "RunOptions",
    "file_sha256",
    "histogram",
    "lead_result",
    "tally",
]
