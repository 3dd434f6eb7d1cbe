"""Lead dedupe on Splink: contact-aware keys, unsupervised training, honest clusters, golden
records, review of uncertain pairs and incremental matching against saved state.

`keys` and `prepare` build identity keys, `engine` runs Splink (DuckDB or Spark), `cluster`
turns scored pairs into clusters, `golden` picks survivors, `review` handles uncertain pairs,
`deduper` runs it all on one DuckDB connection, `files` reads inputs and writes outputs, and
`store` keeps state between runs.
"""

from revline.leads.dedupe.cluster import Edge, Membership, attach_incremental, cluster_edges
from revline.leads.dedupe.config import DedupeConfig, effective_config, load_config
from revline.leads.dedupe.deduper import Deduper, DedupeStats, ExistingState
from revline.leads.dedupe.keys import (
    DedupeRecord,
    canonical_email,
    email_key,
    natural_key,
    person_name,
    record_from_lead,
)
from revline.leads.dedupe.review import PairLabel, ReviewPair

__all__ = [
    "DedupeConfig",
    "DedupeRecord",
    "DedupeStats",
    "Deduper",
    "Edge",
    "ExistingState",
    "Membership",
    "PairLabel",
    "ReviewPair",
    "attach_incremental",
    "canonical_email",
    "cluster_edges",
    "effective_config",
    "email_key",
    "load_config",
    "natural_key",
    "person_name",
    "record_from_lead",
]
