"""Saved dedupe state: the model and cluster ids in the database, the clustered records as a
Parquet file under REVLINE_HOME (a million rows do not belong in JSON columns)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from revline.kernel.config import Settings
from revline.kernel.errors import Conflict, InvalidInput, NotFound
from revline.leads.dedupe.config import DedupeConfig
from revline.leads.dedupe.deduper import Deduper, ExistingState
from revline.leads.dedupe.duck import scalar
from revline.leads.dedupe.engine import ModelParams
from revline.leads.models import DedupeState
from revline.leads.repository import DedupeStateRepository

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def check_state_name(name: str) -> str:
    """State names become directory names: keep them simple."""
    if not _NAME.match(name):
        raise InvalidInput(
            f"--state {name!r}: use letters, digits, '.', '_' or '-' (up to 100 characters)"
        )
    return name


def state_dir(settings: Settings, tenant_id: uuid.UUID, name: str) -> Path:
    """Where a state's Parquet files live."""
    return settings.ensure_home() / "dedupe" / "state" / str(tenant_id) / check_state_name(name)


def load_existing(
    session: Session, tenant_id: uuid.UUID, name: str, config: DedupeConfig
) -> tuple[ExistingState, list[str]]:
    """The saved state for an incremental run, plus warnings (e.g. the config changed)."""
    repo = DedupeStateRepository(session, tenant_id)
    row = repo.by_name(check_state_name(name))
    if row is None:
        known = repo.names()
        hint = f" (saved states: {', '.join(known)})" if known else ""
        raise NotFound(
            f"no saved dedupe state {name!r}{hint}; run `revline leads dedupe FILE -o OUT"
            f"{'' if name == 'default' else f' --state {name}'}` without --incremental first"
        )
    path = Path(row.records_path)
    if not path.is_file():
        raise NotFound(
            f"dedupe state {name!r} points at {path}, which is gone; run again without "
            "--incremental to rebuild it"
        )
    params = ModelParams.from_dict(row.model)
    profile = config.profiles.get(row.profile)
    if profile is None or not params.matches(profile):
        raise InvalidInput(
            f"the dedupe config's {row.profile!r} comparisons changed since state {name!r} was "
            "trained; run again without --incremental to retrain"
        )
    warnings = []
    if row.config_digest != config.digest():
        warnings.append(
            f"dedupe config changed since state {name!r} was saved; scoring with the saved model"
        )
    state = ExistingState(records_path=path, params=params, profile=row.profile,
                          version=row.version)
    return state, warnings


def state_sql(deduper: Deduper) -> str:
    """SELECT of what an incremental run needs later: raw + keys + cluster per record (the
    saved records plus the new ones, with grown clusters' sizes, after an incremental run)."""
    con = deduper.con
    keyed_cols = [
        r[0] for r in con.execute("describe keyed").fetchall()
        if r[0] not in ("unique_id", "row_pos") and not r[0].startswith("blk_")
    ]
    new = f"""
        select r.*, {', '.join(f'k.{c}' for c in keyed_cols)}, c.cluster_id, c.cluster_size
        from raw r join keyed k on k.unique_id = r.record_id
        join ({deduper.cluster_sql()}) c on c.record_id = r.record_id
    """
    if not scalar(con, "select count(*) from duckdb_tables() where table_name = 'known'"):
        return new
    return f"""
        with grown as (
            select cluster_id, max(cluster_size) as size from assign group by cluster_id
        )
        select e.* replace (coalesce(g.size, e.cluster_size) as cluster_size)
        from existing_all e left join grown g on g.cluster_id = e.cluster_id
        union all by name
        select * from ({new}) where record_id not in (select record_id from known)
    """


def save_state(
    session: Session,
    settings: Settings,
    tenant_id: uuid.UUID,
    name: str,
    deduper: Deduper,
    expected_version: int | None = None,
) -> tuple[DedupeState, Path | None]:
    """Write the clustered records and upsert the state row; returns (row, old file to delete
    once the transaction commits).

    Compare-and-set on the row's version: an incremental run passes the version it loaded, so
    two runs on the same state cannot both save (the later would drop the earlier's records);
    the loser gets a Conflict and writes nothing.
    """
    assert deduper.params is not None, "save_state runs after Deduper.run()"
    folder = state_dir(settings, tenant_id, name)
    folder.mkdir(parents=True, exist_ok=True)
    repo = DedupeStateRepository(session, tenant_id)
    row = repo.by_name(name)
    current = 0 if row is None else row.version
    if expected_version is not None and current != expected_version:
        raise _moved_on(name, expected_version, current)
    version = current + 1
    path = folder / f"records-v{version}.parquet"
    tmp = folder / f"records-v{version}.{uuid.uuid4().hex[:8]}.tmp"
    con = deduper.con
    con.execute(f"copy ({state_sql(deduper)}) to '{tmp.as_posix()}' (format parquet)")
    records = scalar(con, f"select count(*) from read_parquet('{tmp.as_posix()}')")
    clusters = scalar(
        con, f"select count(distinct cluster_id) from read_parquet('{tmp.as_posix()}')"
    )
    values = {
        "engine": deduper.engine,
        "profile": deduper.profile_name,
        "config_digest": deduper.config.digest(),
        "model": deduper.params.to_dict(),
        "records_path": str(path),
        "record_count": records,
        "cluster_count": clusters,
        "version": version,
        "stats": deduper.stats.as_dict(),
    }
    old: Path | None = None
    try:
        if row is None:
            try:
                with session.begin_nested():
                    row = repo.add(name=name, **values)
            except IntegrityError:
                raise _moved_on(name, current, current + 1) from None
        else:
            old = Path(row.records_path)
            claimed = session.execute(
                update(DedupeState)
                .where(DedupeState.id == row.id, DedupeState.version == current)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                raise _moved_on(name, current, current + 1)
            session.expire(row)
    except Conflict:
        tmp.unlink(missing_ok=True)
        raise
    # Only the run that won the version renames its file into place.
    tmp.replace(path)
    return row, (old if old is not None and old != path else None)


def _moved_on(name: str, loaded: int, now: int) -> Conflict:
    return Conflict(
        f"dedupe state {name!r} was saved by another run while this one worked (version "
        f"{loaded} -> {now}); nothing was saved: run the command again to build on the newer "
        "state"
    )
