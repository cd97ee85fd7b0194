"""`hub.reproduce(ref)`: run a model's benchmarks, compare with every claim, record runs and verdicts.

For each benchmark of the model (its catalog entry's list, plus any benchmark a claim names) the benchmark's
data is hash-checked and its code run on the loaded version; one `eval_run` per metric is stored with the
environment (Python, numpy, core's build and ISA, CPU model, git commit, the version's manifest hash, the data
hash, the settings), and one `reproduction` row per claim with the verdict

    reproduced  <=>  |measured - claimed| <= abs_tol + rel_tol * |claimed|

(tolerances come from the benchmark's metric). A claim that cannot be run here (data not available offline)
or whose run failed is `inconclusive`, with the reason. A report in Markdown and JSON is written under
$ZOOHUB_HOME/reports/.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hub.access import database
from hub.errors import HubError, ModelNotFound, user_errors
from hub.loading import ready_version
from registry.db import zoohub_home
from registry.evaluations import add_claim, check_tolerance, decide, record_eval_run, record_reproduction, \
    upsert_benchmark, upsert_paper
from registry.names import one_line
from registry.schema import Claim as ClaimRow
from registry.versions import get_model, resolve_version

REPO_ROOT = Path(__file__).resolve().parents[1]
# Direction of metrics that claims name but no benchmark of ours defines (claims we cannot run here).
LOWER_IS_BETTER = ("wer", "cer", "loss", "error")


@dataclass(frozen=True)
class ClaimResult:
    """One claim judged against one measurement."""

    benchmark: str
    metric: str
    source: str  # where the claim comes from: a paper's table, or the reference engine and its settings
    claimed: float
    measured: float | None
    abs_tol: float
    rel_tol: float
    delta: float | None  # measured - claimed
    verdict: str  # reproduced / not_reproduced / inconclusive
    reason: str
    higher_is_better: bool
    runnable: bool
    eval_run_id: int | None = None

    @property
    def tolerance(self) -> float:
        """abs_tol + rel_tol * |claimed|: the largest |delta| that still reproduces."""
        return self.abs_tol + self.rel_tol * abs(self.claimed)


@dataclass(frozen=True)
class ReproduceReport:
    """What `hub.reproduce` found for one version: a result per claim, the environment, the report files."""

    ref: str
    manifest_sha256: str
    results: tuple[ClaimResult, ...]
    env: dict
    started_at: datetime
    seconds: float
    details: dict = field(default_factory=dict)  # benchmark name -> details of its run (or its error)
    markdown_path: Path | None = None
    json_path: Path | None = None

    @property
    def ok(self) -> bool:
        """True when every runnable claim reproduced (claims that cannot run here do not count)."""
        return all(r.verdict == "reproduced" for r in self.results if r.runnable)

    def to_dict(self) -> dict:
        doc = asdict(self)
        doc["started_at"] = self.started_at.isoformat()
        doc["ok"] = self.ok
        doc["markdown_path"] = str(self.markdown_path) if self.markdown_path else None
        doc["json_path"] = str(self.json_path) if self.json_path else None
        for row, result in zip(doc["results"], self.results):
            row["tolerance"] = result.tolerance
        return doc


def judge(measured: float | None, claimed: float, abs_tol: float, rel_tol: float,
          higher_is_better: bool) -> tuple[float | None, str, str]:
    """(delta, verdict, reason) by the rule |measured - claimed| <= abs_tol + rel_tol * |claimed|.

    >>> judge(0.97, 1.0, 1e-4, 0.0, True)[1:]
    ('not_reproduced', 'measured 0.97, claimed 1: 0.03 worse, beyond the tolerance 0.0001')
    """
    delta, verdict = decide(measured, claimed, abs_tol, rel_tol)
    tolerance = abs_tol + rel_tol * abs(claimed)
    if delta is None:
        return None, verdict, "no measurement"
    better = delta > 0 if higher_is_better else delta < 0
    direction = "better" if better else "worse"
    if verdict == "reproduced":
        return delta, verdict, f"within the tolerance {tolerance:.3g}"
    return delta, verdict, (f"measured {measured:.6g}, claimed {claimed:.6g}: {abs(delta):.3g} {direction}, "
                            f"beyond the tolerance {tolerance:.3g}")


def cpu_model() -> str:
    """The CPU's marketing name (/proc/cpuinfo on Linux, else what platform reports)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str:
    """The commit of the zoohub checkout running this, with "-dirty" when it has local changes; "" outside git."""
    try:
        head = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return head + ("-dirty" if dirty else "")


def core_build() -> dict:
    """core's build and the ISA its kernels run with (backend_info), and the override in force if any."""
    import core
    backend_info = getattr(core, "backend_info", None) or core._C._kernels.backend_info
    build = {str(key): value for key, value in dict(backend_info()).items()}
    build["isa_override"] = os.environ.get("ZOOHUB_CPU_ISA", "")
    return build


def environment() -> dict:
    """Where a measurement ran: Python, numpy, core's build and ISA, CPU, OS, git commit.

    >>> sorted(hub.reproduce.environment())
    ['core', 'cpu', 'cpu_count', 'git_commit', 'numpy', 'platform', 'python']
    """
    import numpy
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "numpy": numpy.__version__,
        "core": core_build(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "git_commit": git_commit(),
    }


def _direction(metric: str) -> bool:
    return not any(word in metric.lower() for word in LOWER_IS_BETTER)


def claims_to_judge(entry, benchmarks: dict) -> list:
    """The catalog entry's claims, plus the checks its benchmarks expect of every model (metric.expected)."""
    from zoo.catalog import Claim
    claims = list(entry.claims)
    claimed = {(c.benchmark, c.metric) for c in claims}
    for name in entry.benchmarks:
        for metric in benchmarks[name].metrics if name in benchmarks else ():
            if metric.expected is not None and (name, metric.name) not in claimed:
                claims.append(Claim(name, metric.name, metric.expected, metric.expected_source))
    return claims


def _sync_claims(session, entry, model_row, benchmarks: dict) -> list[tuple[Any, Any]]:
    """Store the claims to judge (papers, benchmarks, claims); returns (claim row id, catalog claim) pairs."""
    pairs = []
    papers = {p.arxiv_id: p for p in entry.papers}
    for claim in claims_to_judge(entry, benchmarks):
        bench = benchmarks.get(claim.benchmark)
        if bench is not None:
            metric = bench.metric(claim.metric)
            row = upsert_benchmark(session, task=bench.task, dataset=bench.name, split=bench.split,
                                   metric=metric.name, higher_is_better=metric.higher_is_better,
                                   dataset_sha256=bench.data_sha256)
        else:
            row = upsert_benchmark(session, task=entry.task, dataset=claim.benchmark, metric=claim.metric,
                                   higher_is_better=_direction(claim.metric))
        paper = None
        if claim.paper:
            known = papers.get(claim.paper)
            paper = upsert_paper(session, claim.paper, known.title if known else claim.paper)
        runnable = claim.runnable and bench is not None
        reason = claim.reason or ("" if bench is not None else f"no benchmark named {claim.benchmark!r} in zoohub")
        row = add_claim(session, model_row, row, claim.value, source=claim.source, paper=paper,
                        location=claim.source if claim.paper else "", runnable=runnable, reason=reason)
        pairs.append((row.id, claim))
    return pairs


def _run_benchmark(bench, model, settings) -> tuple[dict | None, dict, str, datetime, datetime]:
    started = datetime.now(timezone.utc)
    try:
        measurement = bench.run(model, settings)
        return measurement.values, measurement.details, "", started, datetime.now(timezone.utc)
    except Exception as exc:  # noqa: BLE001 -- a failing benchmark is recorded as a failed run, not a crash
        log = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
        return None, {"error": f"{type(exc).__name__}: {exc}"}, log, started, datetime.now(timezone.utc)


@user_errors
def reproduce(ref: str, benchmark: str | None = None, *, settings: dict | None = None,
              progress: bool | None = None, on_step: Callable[[str], None] | None = None) -> ReproduceReport:
    """Re-run the benchmarks of a model version, judge each claim, store runs and verdicts, write reports.

    benchmark: run only this one; settings: overrides of the benchmark's settings (e.g. {"batch_size": 1});
    on_step: called with each benchmark's name before it runs (the CLI's progress bar).

    >>> report = hub.reproduce("text/minilm-l6")
    >>> [(r.metric, r.verdict) for r in report.results]
    [('mean_cosine', 'reproduced'), ('min_cosine', 'reproduced')]
    """
    import hub
    from zoo.benchmarks import load_benchmarks
    from zoo.catalog import entries

    t0 = time.perf_counter()
    started_at = datetime.now(timezone.utc)
    info = ready_version(ref, progress)
    catalog = entries()
    entry = catalog.get(info.name)
    if entry is None:
        raise ModelNotFound(f"{info.name} has no catalog entry, so zoohub knows no claims or benchmarks for it")
    known = load_benchmarks()
    wanted = list(dict.fromkeys([*entry.benchmarks, *(c.benchmark for c in entry.claims if c.benchmark in known)]))
    if benchmark is not None:
        if benchmark not in wanted:
            raise HubError(f"{info.name} has no benchmark {benchmark!r} (it has: {', '.join(wanted) or 'none'})")
        wanted = [benchmark]
    missing_code = [name for name in wanted if name not in known]
    if missing_code:
        raise HubError(f"{info.name} lists benchmark(s) {', '.join(missing_code)} that zoohub does not define")
    for name in wanted:  # a NaN or infinite tolerance would judge every claim wrongly: refuse before running
        for metric in known[name].metrics:
            check_tolerance(f"benchmark {name}, metric {metric.name}", metric.abs_tol, metric.rel_tol)

    env = environment()
    db = database()
    with db.write() as session:
        model_row = get_model(session, info.name)
        pairs = _sync_claims(session, entry, model_row, known)
    model = hub.load(info.ref, progress=progress)

    results: list[ClaimResult] = []
    details: dict = {}
    for name in wanted:
        bench = known[name]
        if on_step:
            on_step(name)
        merged = bench.merged_settings(settings)
        values, run_details, log, started, finished = _run_benchmark(bench, model, settings)
        details[name] = run_details
        with db.write() as session:
            version = resolve_version(session, info.name, version=info.version)
            runs = {}
            for metric in bench.metrics:
                bench_row = upsert_benchmark(session, task=bench.task, dataset=bench.name, split=bench.split,
                                             metric=metric.name, higher_is_better=metric.higher_is_better,
                                             dataset_sha256=bench.data_sha256)
                value = values.get(metric.name) if values else None
                runs[metric.name] = record_eval_run(
                    session, version, bench_row, value=value, status="succeeded" if values else "failed",
                    started_at=started, finished_at=finished,
                    env={**env, "manifest_sha256": info.manifest_sha256, "data_sha256": bench.data_sha256,
                         "settings": merged},
                    eval_code_ref=f"{bench.runner.__module__}.{bench.runner.__qualname__}@{env['git_commit']}",
                    data_sha256=bench.data_sha256, preprocess=merged, seed=merged.get("seed"), log=log)
            for claim_id, claim in pairs:
                if claim.benchmark != name:
                    continue
                claim_row = session.get(ClaimRow, claim_id)
                metric = bench.metric(claim.metric)
                run = runs[claim.metric]
                _, verdict, reason = judge(run.value if values else None, claim.value, metric.abs_tol,
                                           metric.rel_tol, metric.higher_is_better)
                reason = _failure_reason(run_details) if values is None else _with_hint(reason, verdict, run_details)
                rep = record_reproduction(session, claim_row, run, metric.abs_tol, metric.rel_tol, reason=reason)
                results.append(ClaimResult(
                    benchmark=name, metric=claim.metric, source=claim.source, claimed=claim.value,
                    measured=run.value if values else None, abs_tol=metric.abs_tol, rel_tol=metric.rel_tol,
                    delta=rep.delta, verdict=rep.verdict, reason=rep.reason,
                    higher_is_better=metric.higher_is_better, runnable=True, eval_run_id=run.id))
    if benchmark is None:
        results.extend(_unrunnable(db, info, pairs, env))

    report = ReproduceReport(ref=info.ref, manifest_sha256=info.manifest_sha256, results=tuple(results), env=env,
                             started_at=started_at, seconds=time.perf_counter() - t0, details=details)
    return write_reports(report)


def _failure_reason(details: dict) -> str:
    """The error a benchmark raised, on the one line a verdict's reason keeps."""
    return one_line(f"the benchmark did not finish: {details.get('error', 'unknown error')}")


def _with_hint(reason: str, verdict: str, details: dict) -> str:
    """A not-reproduced reason names the worst item when the benchmark reports one (on one line: a transcript may
    hold any character)."""
    worst = details.get("worst") or details.get("clips_with_errors") or details.get("differing")
    if verdict != "not_reproduced" or not worst:
        return reason
    return one_line(f"{reason}; worst: {json.dumps(worst[0], ensure_ascii=False)[:200]}")


def _unrunnable(db, info, pairs, env) -> Iterable[ClaimResult]:
    """Claims that cannot run here: a failed run saying why, and an inconclusive verdict with the reason."""
    now = datetime.now(timezone.utc)
    with db.write() as session:
        version = resolve_version(session, info.name, version=info.version)
        for claim_id, claim in pairs:
            claim_row = session.get(ClaimRow, claim_id)
            if claim_row.runnable:
                continue
            run = record_eval_run(session, version, claim_row.benchmark, value=None, status="failed", started_at=now,
                                  finished_at=now, env={**env, "manifest_sha256": info.manifest_sha256},
                                  log=f"not run: {claim_row.reason}")
            rep = record_reproduction(session, claim_row, run, 0.0, 0.0, reason=claim_row.reason)
            yield ClaimResult(benchmark=claim.benchmark, metric=claim.metric, source=claim.source,
                              claimed=claim.value, measured=None, abs_tol=0.0, rel_tol=0.0, delta=None,
                              verdict=rep.verdict, reason=claim_row.reason,
                              higher_is_better=claim_row.benchmark.higher_is_better, runnable=False,
                              eval_run_id=run.id)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g}"


def markdown(report: ReproduceReport) -> str:
    """The report as Markdown: the table of claims, then the environment."""
    lines = [f"# Reproduction of {report.ref}", "",
             f"- manifest: `{report.manifest_sha256}`", f"- started: {report.started_at.isoformat()}",
             f"- took: {report.seconds:.1f} s",
             f"- result: {'every runnable claim reproduced' if report.ok else 'NOT every runnable claim reproduced'}",
             "", "| benchmark | metric | claimed | measured | tolerance | delta | verdict | source | reason |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in report.results:
        lines.append(f"| {r.benchmark} | {r.metric} | {_fmt(r.claimed)} | {_fmt(r.measured)} | {r.tolerance:.3g} | "
                     f"{_fmt(r.delta)} | {r.verdict} | {r.source} | {r.reason.replace('|', '/')} |")
    lines += ["", "## Environment", "", "```json", json.dumps(report.env, indent=2, sort_keys=True), "```", ""]
    return "\n".join(lines)


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_reports(report: ReproduceReport) -> ReproduceReport:
    """Write <name>@<version>-<UTC time>.md and .json under $ZOOHUB_HOME/reports/ and return the report with them."""
    from dataclasses import replace
    folder = zoohub_home() / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{report.ref.replace('/', '_')}-{report.started_at.strftime('%Y%m%dT%H%M%S%fZ')}"
    report = replace(report, markdown_path=folder / f"{stem}.md", json_path=folder / f"{stem}.json")
    _write_atomic(report.markdown_path, markdown(report))
    _write_atomic(report.json_path, json.dumps(report.to_dict(), indent=2, default=str) + "\n")
    return report


def catalog_models() -> list[str]:
    """Every catalog model, for `zoohub reproduce --all`."""
    from zoo.catalog import entries
    return sorted(entries())
