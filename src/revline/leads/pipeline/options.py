"""Run options, the identity of a resumable run, and the DB-row to LeadResult view."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from revline.leads.classify import ClassifyInput
from revline.leads.models import Lead
from revline.leads.schemas import LeadResult

IMPORT_BATCH = 1000
STAGE_BATCH = 1000
HEARTBEAT_STALE_S = 120.0
STAGES = ("import", "enrich", "classify", "dedupe", "score", "export", "done")

MockupWriter = Callable[[LeadResult], str]


@dataclass
class RunOptions:
    """What the user asked for; together with the file hash it identifies a resumable run."""

    input_path: Path
    output_xlsx: Path | None = None
    tier: int = 1
    mapping: dict[str, str] = field(default_factory=dict)
    sheet: str | None = None
    restart: bool = False

    def resolved_output(self) -> Path:
        """OUT.xlsx, default INPUT.enriched.xlsx next to the input."""
        if self.output_xlsx is not None:
            return self.output_xlsx
        return self.input_path.with_name(self.input_path.stem + ".enriched.xlsx")

    def key(self) -> str:
        """Stable hash of the options that change results."""
        blob = json.dumps(
            {"tier": self.tier, "map": sorted(self.mapping.items()), "sheet": self.sheet},
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:32]


def file_sha256(path: Path) -> str:
    """Content hash, streamed, so renamed or touched files still resume the same run."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lead_result(lead: Lead) -> LeadResult:
    """DB row to the export/scoring shape."""
    return LeadResult(
        row_index=lead.row_index,
        raw=dict(lead.raw),
        fields=dict(lead.fields),
        row_errors=list(lead.row_errors),
        contact=dict(lead.contact),
        enrichment=dict(lead.enrichment),
        classification=dict(lead.classification),
        score=dict(lead.score),
        cluster=dict(lead.cluster),
    )


def classify_input(lead: Lead) -> ClassifyInput:
    """What the classification cascade sees of one enriched lead."""
    enr = lead.enrichment
    text_parts = [
        str(enr.get("title") or ""),
        str(enr.get("meta_description") or ""),
        " ".join(str(h) for h in enr.get("category_hints") or []),
        str(enr.get("text_excerpt") or "")[:1500],
        lead.fields.get("description", ""),
    ]
    return ClassifyInput(
        key=str(lead.id),
        name=lead.company,
        category=lead.fields.get("category", ""),
        text=" ".join(p for p in text_parts if p),
        domain=lead.domain,
    )
