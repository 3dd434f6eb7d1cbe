"""Scored pairs after Splink: fingerprints, vetoes, stored answers, explanations, and the
uncertain band sent to review. All SQL on the run's DuckDB connection."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from revline.leads.dedupe.config import LinkSpec, ProfileSpec
from revline.leads.dedupe.duck import create_table, scalar
from revline.leads.dedupe.engine import PAIRS_TABLE
from revline.leads.dedupe.explain import explanation_sql, veto_sql
from revline.leads.dedupe.prepare import RAW_TABLE_COLUMNS
from revline.leads.dedupe.review import REVIEW_FIELDS, PairLabel, ReviewPair


def label_table(con: duckdb.DuckDBPyConnection, name: str, labels: Sequence[PairLabel]) -> None:
    """Answers as a table (fp_a, fp_b, match, source) for joins."""
    create_table(con, name, {
        "fp_a": ("varchar", [lb.fp_a for lb in labels]),
        "fp_b": ("varchar", [lb.fp_b for lb in labels]),
        "match": ("boolean", [lb.match for lb in labels]),
        "source": ("varchar", [lb.source for lb in labels]),
    })


def decorate(
    con: duckdb.DuckDBPyConnection,
    profile: ProfileSpec,
    labels: Sequence[PairLabel],
    incremental: bool,
) -> tuple[int, int]:
    """Build `pairs` from Splink's scored pairs; returns (vetoed, decided by answers).

    `p` is the probability clustering uses: 1 or 0 when an answer decided the pair, 0 when a
    veto forbids it, else Splink's match probability.
    """
    label_table(con, "labels", labels)
    everyone = "(select unique_id, fp from keyed" + (
        " union all select unique_id, fp from existing)" if incremental else ")"
    )
    con.execute(f"""
        create or replace table pairs as
        select p.unique_id_l, p.unique_id_r, p.match_probability, p.match_weight,
               kl.fp as fp_l, kr.fp as fp_r,
               {veto_sql(profile)} as veto,
               {explanation_sql(profile)} as why,
               lb.match as label, lb.source as label_source
        from {PAIRS_TABLE} p
        join {everyone} kl on kl.unique_id = p.unique_id_l
        join {everyone} kr on kr.unique_id = p.unique_id_r
        left join labels lb
          on lb.fp_a = least(kl.fp, kr.fp) and lb.fp_b = greatest(kl.fp, kr.fp)
    """)
    con.execute(f"drop table {PAIRS_TABLE}")
    # A "same" answer links the two identities even where blocking never paired them.
    con.execute(f"""
        insert into pairs
        select a.unique_id, b.unique_id, 1.0, null, a.fp, b.fp, null,
               'labelled the same by ' || l.source, true, l.source
        from labels l
        join {everyone} a on a.fp = l.fp_a
        join {everyone} b on b.fp = l.fp_b
        where l.match and a.unique_id <> b.unique_id
          and (a.fp <> b.fp or a.unique_id < b.unique_id)
          and a.unique_id in (select unique_id from keyed)
          and not exists (
            select 1 from pairs q
            where (q.unique_id_l = a.unique_id and q.unique_id_r = b.unique_id)
               or (q.unique_id_l = b.unique_id and q.unique_id_r = a.unique_id))
    """)
    con.execute("""
        alter table pairs add column p double;
        update pairs set p = case when label then 1.0 when not label then 0.0
                                  when veto is not null then 0.0
                                  else match_probability end;
    """)
    _label_reasons(con)
    vetoed = scalar(con, "select count(*) from pairs where veto is not null and label is null")
    return vetoed, scalar(con, "select count(*) from pairs where label is not null")


def apply_labels(con: duckdb.DuckDBPyConnection, answers: Sequence[PairLabel]) -> None:
    """Decide pairs by fresh answers (and keep them with the run's labels)."""
    label_table(con, "_dd_new_labels", answers)
    con.execute("""
        update pairs set label = n.match, label_source = n.source,
               p = case when n.match then 1.0 else 0.0 end
        from _dd_new_labels n
        where n.fp_a = least(pairs.fp_l, pairs.fp_r)
          and n.fp_b = greatest(pairs.fp_l, pairs.fp_r)
    """)
    con.execute("insert into labels select * from _dd_new_labels")
    con.execute("drop table _dd_new_labels")
    _label_reasons(con)


def _label_reasons(con: duckdb.DuckDBPyConnection) -> None:
    """Say in the explanation when an answer (not the score) decided a pair."""
    con.execute("""
        update pairs set why = case when label then 'labelled the same by '
                                    else 'labelled different by ' end
                               || label_source || '; ' || coalesce(why, '')
        where label is not null and coalesce(why, '') not like 'labelled %'
    """)


def uncertain_where(link: LinkSpec, alias: str = "") -> str:
    """SQL filter: unanswered, unvetoed pairs in [uncertain low, threshold)."""
    lo, _ = link.uncertain
    a = f"{alias}." if alias else ""
    return (f"{a}veto is null and {a}label is null and {a}p >= {lo} "
            f"and {a}p < {link.threshold}")


def count_uncertain(con: duckdb.DuckDBPyConnection, link: LinkSpec) -> int:
    """How many pairs still wait for a decision."""
    return scalar(con, f"select count(*) from pairs where {uncertain_where(link)}")


def uncertain_pairs(
    con: duckdb.DuckDBPyConnection, link: LinkSpec, *, with_existing: bool,
    limit: int | None = None,
) -> list[ReviewPair]:
    """Unanswered pairs in the review band with both records' fields, most likely first."""
    lim = f"limit {int(limit)}" if limit is not None else ""
    fields = ", ".join(f"l.{f} as {f}_l, r.{f} as {f}_r" for f in REVIEW_FIELDS)
    cols = ", ".join(RAW_TABLE_COLUMNS)
    everyone = (
        f"(select {cols} from raw union all select {cols} from existing_all)"
        if with_existing else "raw"
    )
    rows = con.execute(f"""
        select p.fp_l, p.fp_r, p.unique_id_l, p.unique_id_r, p.p, p.match_weight, p.why,
               {fields}
        from pairs p
        join {everyone} l on l.record_id = p.unique_id_l
        join {everyone} r on r.record_id = p.unique_id_r
        where {uncertain_where(link, "p")}
        order by p.p desc, p.unique_id_l, p.unique_id_r {lim}
    """).fetchall()
    out = []
    for row in rows:
        values = row[7:]
        out.append(ReviewPair(
            fp_l=str(row[0]), fp_r=str(row[1]), record_id_l=str(row[2]),
            record_id_r=str(row[3]), match_probability=float(row[4]),
            match_weight=float(row[5] or 0.0), why=str(row[6] or ""),
            left={f: str(values[2 * i] or "") for i, f in enumerate(REVIEW_FIELDS)},
            right={f: str(values[2 * i + 1] or "") for i, f in enumerate(REVIEW_FIELDS)},
        ))
    return out
