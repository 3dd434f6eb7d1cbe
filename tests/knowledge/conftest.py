"""Knowledge fixtures: the embedding model loads once per session; stores reset per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from revline.kernel.auth import ensure_tenant
from revline.kernel.config import Settings, get_settings
from revline.kernel.db import Database
from revline.knowledge.embed import Embedder, get_embedder
from revline.knowledge.patterns.seeding import forget_seeded
from revline.knowledge.store import reset_stores

HERE = Path(__file__).resolve().parent
FIXTURE_PATTERNS = HERE / "patterns"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real model, loaded once for the whole session (weights are process-wide)."""
    model = get_embedder(Settings())
    model.embed(["warm up"])
    return model


@pytest.fixture(autouse=True)
def kb_env(revline_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fixture patterns instead of the bundled library; fresh stores and seed memory."""
    monkeypatch.setenv("REVLINE_KB_PATTERNS_DIR", str(FIXTURE_PATTERNS))
    get_settings.cache_clear()
    reset_stores()
    forget_seeded()
    yield
    reset_stores()
    forget_seeded()


@pytest.fixture
def kb_settings(kb_env: None, embedder: Embedder) -> Settings:
    """Settings with the fixture pattern library and a loaded model."""
    return get_settings()


@pytest.fixture
def tenant_id(db: Database) -> uuid.UUID:
    """A tenant to own knowledge bases."""
    with db.session() as session:
        return ensure_tenant(session, "acme").id


@pytest.fixture
def other_tenant_id(db: Database) -> uuid.UUID:
    """A second tenant, for isolation checks."""
    with db.session() as session:
        return ensure_tenant(session, "globex").id


def write_corpus(folder: Path) -> Path:
    """A small mixed corpus: Markdown, HTML, text, PDF and DOCX about distinct topics."""
    from tests.knowledge.builders import make_docx, make_pdf

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "widget.md").write_text(
        "# Widget guide\n\nThe widget needs a 12 volt power supply.\n\n"
        "## Resetting\n\nHold the reset button for ten seconds until the LED blinks green.\n\n"
        "## Mounting\n\nScrew the bracket to a wall stud with two wood screws.\n",
        encoding="utf-8",
    )
    (folder / "shipping.html").write_text(
        "<html><head><title>Shipping policy</title></head><body><nav>Home</nav><article>"
        "<h1>Shipping policy</h1><p>Orders ship from our Rotterdam warehouse within two "
        "business days. International parcels travel with DHL Express.</p>"
        "<h2>Returns</h2><p>Unused items can be returned within 30 days for a full refund."
        "</p></article></body></html>",
        encoding="utf-8",
    )
    (folder / "notes.txt").write_text(
        "PASSWORDS\n\nTo change your password, open Settings, choose Security and enter the "
        "old password followed by the new one twice.\n",
        encoding="utf-8",
    )
    (folder / "billing.pdf").write_bytes(make_pdf(
        [["Invoices are issued on the first day of each month.",
          "Payment is due within 14 days by bank transfer to the account on the invoice.",
          "Each invoice lists the billing period, the seats in use and any credits.",
          "Questions about an invoice go to the accounts team by email.",
          "Corrected invoices replace the original and keep its number."],
         ["Late payments incur a 2 percent monthly interest charge.",
          "After 30 days overdue, the account is suspended until the balance is paid.",
          "Reminders are sent seven and fourteen days after the due date.",
          "Suspended accounts keep their data for ninety days."]],
        title="Billing terms", outline=[("Invoices", 0), ("Late payments", 1)],
    ))
    (folder / "onboarding.docx").write_bytes(make_docx(
        "Onboarding", [("Accounts", ["New employees get a laptop and a company email address "
                                     "on their first morning."]),
                       ("Holidays", ["Staff receive 25 paid vacation days per year."])],
        table=[["Team", "Lead"], ["Support", "Dana"]],
    ))
    return folder
