"""Papers, benchmarks, claims, evaluation runs and reproduction verdicts: what `zoohub reproduce` records.

A claim is a number a source states for a model on a benchmark (a paper's table, or a reference
implementation run on our data). An eval_run is one measurement of a version on a benchmark, with the
environment it ran in. A reproduction compares the two:
    reproduced  <=>  |measured - claimed| <= abs_tol + rel_tol * |claimed|
and is `inconclusive` when there is no measurement (the claim cannot be run here, or the run failed).
"""
from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from registry.errors import ArgumentTypeError, InvalidArgument
from registry.names import check_line
from registry.schema import RUN_STATUSES, Benchmark, Claim, EvalRun, Model, ModelVersion, Paper, Reproduction


def _insert(session: Session):
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def finite_number(what: str, value: object, *, at_least: float | None = None) -> float:
    """value as a float when it is a finite real number (and >= at_least); else ArgumentTypeError (not a number) or
    InvalidArgument (NaN, infinite, too small), naming `what`.

    >>> finite_number("abs_tol", float("nan"), at_least=0.0)
    Traceback (most recent call last):
    registry.errors.InvalidArgument: abs_tol must be a finite number >= 0, got nan
    """
    bound = "" if at_least is None else f" >= {at_least:g}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{what} must be a number, not {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number) or (at_least is not None and number < at_least):
        raise InvalidArgument(f"{what} must be a finite number{bound}, got {value!r}")
    return number


def check_tolerance(what: str, abs_tol: object, rel_tol: object) -> tuple[float, float]:
    """(abs_tol, rel_tol) as floats when both are finite and >= 0, else the error naming `what` and the argument."""
    return (finite_number(f"{what}: abs_tol", abs_tol, at_least=0.0),
            finite_number(f"{what}: rel_tol", rel_tol, at_least=0.0))


def upsert_paper(session: Session, arxiv_id: str, title: str, url: str = "") -> Paper:
    """The paper with this arXiv id, created if new (title and url updated if they changed)."""
    url = url or f"https://arxiv.org/abs/{arxiv_id}"
    session.execute(_insert(session)(Paper).values(arxiv_id=arxiv_id, title=title, url=url)
                    .on_conflict_do_nothing(index_elements=["arxiv_id"]))
    paper = session.scalar(select(Paper).where(Paper.arxiv_id == arxiv_id))
    paper.title, paper.url = title, url
    return paper


def upsert_benchmark(session: Session, *, task: str, dataset: str, metric: str, higher_is_better: bool,
                     split: str = "", dataset_sha256: str = "") -> Benchmark:
    """The benchmark (task, dataset, split, metric), created if new; dataset_sha256 and direction updated.

    >>> bench = upsert_benchmark(session, task="text", dataset="minilm-ref-64", metric="mean_cosine",
    ...                          higher_is_better=True, dataset_sha256="227ace…")
    """
    key = dict(task=task, dataset=dataset, split=split, metric=metric)
    session.execute(_insert(session)(Benchmark).values(**key, higher_is_better=higher_is_better,
                                                       dataset_sha256=dataset_sha256)
                    .on_conflict_do_nothing(index_elements=list(key)))
    bench = session.scalar(select(Benchmark).filter_by(**key))
    bench.higher_is_better = higher_is_better
    if dataset_sha256:
        bench.dataset_sha256 = dataset_sha256
    return bench


def add_claim(session: Session, model: Model, benchmark: Benchmark, value: float, *, source: str,
              paper: Paper | None = None, location: str = "", runnable: bool = True, reason: str = "") -> Claim:
    """The claim of `source` for (model, benchmark), created or updated to these values; source, location and reason
    are one line each (shown in a row of the verdict table)."""
    if not source:
        raise ValueError("a claim needs a source: the paper and table, or the reference implementation and settings")
    check_line("claim source", source)
    if not runnable and not reason:
        raise ValueError(f"claim {source!r}: say why it cannot be run here (reason=...)")
    check_line(f"location of the claim {source!r}", location)
    check_line(f"reason of the claim {source!r}", reason)
    value = finite_number(f"the claim {source!r} for {model.full_name} on {benchmark.dataset}:{benchmark.metric}: "
                          f"value", value)
    key = dict(model_id=model.id, benchmark_id=benchmark.id, source=source)
    fields = dict(value=value, paper_id=paper.id if paper else None, location=location, runnable=runnable,
                  reason=reason)
    session.execute(_insert(session)(Claim).values(**key, **fields).on_conflict_do_nothing(index_elements=list(key)))
    claim = session.scalar(select(Claim).filter_by(**key))
    for name, value_ in fields.items():
        setattr(claim, name, value_)
    session.flush()
    return claim


def claims_of(session: Session, model: Model) -> list[Claim]:
    """Every claim about a model, oldest first."""
    return list(session.scalars(select(Claim).where(Claim.model_id == model.id).order_by(Claim.id)))


def record_eval_run(session: Session, version: ModelVersion, benchmark: Benchmark, *, value: float | None,
                    status: str, started_at: datetime, finished_at: datetime, env: dict, eval_code_ref: str = "",
                    data_sha256: str = "", preprocess: dict | None = None, seed: int | None = None,
                    log: str = "") -> EvalRun:
    """Store one measurement of a version on a benchmark with the environment it ran in (env -> env_json)."""
    if status not in RUN_STATUSES:
        raise ValueError(f"eval run status {status!r}: expected one of {', '.join(RUN_STATUSES)}")
    if status == "succeeded" and (value is None or not math.isfinite(value)):
        raise ValueError(f"a succeeded eval run needs a finite value, got {value!r}")
    run = EvalRun(version_id=version.id, benchmark_id=benchmark.id, value=value, status=status,
                  started_at=started_at, finished_at=finished_at, env_json=json.dumps(env, sort_keys=True),
                  eval_code_ref=eval_code_ref, data_sha256=data_sha256,
                  preprocess_json=json.dumps(preprocess or {}, sort_keys=True), seed=seed, log=log)
    session.add(run)
    session.flush()
    return run


def decide(measured: float | None, claimed: float, abs_tol: float, rel_tol: float) -> tuple[float | None, str]:
    """(delta, verdict) by the rule |measured - claimed| <= abs_tol + rel_tol * |claimed|.

    No measurement (None, NaN or infinite: the run failed) is inconclusive. A claimed value or a tolerance that is
    not a finite number (tolerances also >= 0) is refused: NaN would make every comparison false, and an infinite
    tolerance would reproduce anything.

    >>> decide(0.995, 1.0, 0.01, 0.0)
    (-0.0050000000000000044, 'reproduced')
    """
    claimed = finite_number("decide: claimed", claimed)
    abs_tol, rel_tol = check_tolerance("decide", abs_tol, rel_tol)
    if measured is not None and (isinstance(measured, bool) or not isinstance(measured, numbers.Real)):
        raise ArgumentTypeError(f"decide: measured must be a number or None, not {type(measured).__name__}")
    if measured is None or not math.isfinite(measured):
        return None, "inconclusive"
    delta = measured - claimed
    return delta, "reproduced" if abs(delta) <= abs_tol + rel_tol * abs(claimed) else "not_reproduced"


def record_reproduction(session: Session, claim: Claim, eval_run: EvalRun | None, abs_tol: float, rel_tol: float,
                        reason: str = "") -> Reproduction:
    """Compare a claim with a run (None: the claim could not be run) and store the verdict; the reason is one line."""
    check_line("reason of the verdict", reason)
    if eval_run is None:
        raise ValueError("record_reproduction needs the eval run it judges; record a failed run for one that "
                         "could not finish")
    if eval_run.benchmark_id != claim.benchmark_id:
        raise ValueError(f"claim {claim.id} is about benchmark {claim.benchmark_id}, the run measured "
                         f"{eval_run.benchmark_id}")
    measured = eval_run.value if eval_run.status == "succeeded" and claim.runnable else None
    delta, verdict = decide(measured, claim.value, abs_tol, rel_tol)
    if verdict == "inconclusive" and not reason:
        reason = claim.reason or f"the eval run {eval_run.status}"
    row = Reproduction(claim_id=claim.id, eval_run_id=eval_run.id, abs_tol=abs_tol, rel_tol=rel_tol, delta=delta,
                       verdict=verdict, reason=reason)
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class Verdict:
    """The latest verdict of one claim on one version."""

    benchmark: str  # "dataset/split:metric"
    claimed: float
    measured: float | None
    delta: float | None
    abs_tol: float
    rel_tol: float
    verdict: str
    source: str
    reason: str
    at: datetime


def latest_verdicts(session: Session, version: ModelVersion) -> list[Verdict]:
    """For each claim on the version's model, its newest reproduction against a run of this version."""
    newest = (select(Reproduction.claim_id, func.max(Reproduction.id).label("id"))
              .join(EvalRun, Reproduction.eval_run_id == EvalRun.id)
              .where(EvalRun.version_id == version.id).group_by(Reproduction.claim_id).subquery())
    rows = session.execute(select(Reproduction, Claim, Benchmark, EvalRun)
                           .join(newest, newest.c.id == Reproduction.id)
                           .join(Claim, Claim.id == Reproduction.claim_id)
                           .join(Benchmark, Benchmark.id == Claim.benchmark_id)
                           .join(EvalRun, EvalRun.id == Reproduction.eval_run_id)
                           .order_by(Benchmark.dataset, Benchmark.metric, Claim.id))
    out = []
    for rep, claim, bench, run in rows:
        split = f"/{bench.split}" if bench.split else ""
        out.append(Verdict(benchmark=f"{bench.dataset}{split}:{bench.metric}", claimed=claim.value, measured=run.value,
                           delta=rep.delta, abs_tol=rep.abs_tol, rel_tol=rep.rel_tol, verdict=rep.verdict,
                           source=claim.source, reason=rep.reason, at=rep.at))
    return out
