"""hub.reproduce and `zoohub reproduce` end to end on a small catalog model: runs, verdicts, reports, exit codes."""
from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
from sqlalchemy import select

import hub
from hub.access import database
from hub.commands import reproduce as reproduce_command
from registry.schema import EvalRun, Reproduction
from zoo.benchmarks import BENCHMARKS


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="zoohub")
    reproduce_command.register(parser.add_subparsers())
    args = parser.parse_args(["reproduce", *argv])
    return args.run(args)


def test_claims_reproduce_and_runs_store_the_environment(lookup):
    report = hub.reproduce(lookup.NAME)
    verdicts = {(r.benchmark, r.metric): r.verdict for r in report.results}
    assert verdicts == {("lookup-exact", "max_abs_error"): "reproduced", ("lookup-exact", "rows_exact"): "reproduced",
                        ("lookup-exact", "repeatable"): "reproduced", ("lookup-paper", "error"): "inconclusive"}
    check = next(r for r in report.results if r.metric == "repeatable")
    assert (check.claimed, check.source) == (1.0, "the same lookup twice gives the same rows")
    assert report.ok
    unrunnable = next(r for r in report.results if not r.runnable)
    assert unrunnable.reason == "the paper's data is not available offline" and unrunnable.measured is None
    with database().read() as session:
        runs = session.scalars(select(EvalRun).order_by(EvalRun.id)).all()
        assert [r.status for r in runs] == ["succeeded", "succeeded", "succeeded", "failed"]
        env = json.loads(runs[0].env_json)
        assert env["manifest_sha256"] == report.manifest_sha256
        assert env["data_sha256"] == runs[0].data_sha256 == BENCHMARKS["lookup-exact"].data_sha256
        assert env["settings"] == {"scale": 1} and json.loads(runs[0].preprocess_json) == {"scale": 1}
        assert {"python", "numpy", "core", "cpu", "git_commit"} <= set(env)
        assert runs[3].log.startswith("not run: the paper's data")
        assert len(session.scalars(select(Reproduction)).all()) == 4


def test_reports_are_written_in_markdown_and_json(lookup):
    report = hub.reproduce(lookup.NAME)
    doc = json.loads(report.json_path.read_text())
    assert doc["ok"] is True and doc["ref"] == f"{lookup.NAME}@1"
    assert [r["verdict"] for r in doc["results"]] == ["reproduced", "reproduced", "reproduced", "inconclusive"]
    text = report.markdown_path.read_text()
    assert "| lookup-exact | max_abs_error | 0 | 0 |" in text and "## Environment" in text
    assert report.markdown_path.parent.name == "reports"


def test_info_shows_the_latest_verdicts(lookup):
    hub.reproduce(lookup.NAME)
    verdicts = {v.benchmark: v.verdict for v in hub.info(lookup.NAME).verdicts}
    assert verdicts["lookup-exact:max_abs_error"] == "reproduced"
    assert verdicts["lookup-paper:error"] == "inconclusive"


def test_perturbed_weights_fail_with_exit_1_and_a_readable_reason(lookup, tmp_path, capsys):
    assert cli(lookup.NAME) == 0  # imports the catalog version as @1, which reproduces
    damaged = lookup.TABLE.copy()
    damaged[2, 1] += 0.25
    info = hub.publish(lookup.write_folder(tmp_path / "damaged", damaged), lookup.NAME)
    assert info.ref == f"{lookup.NAME}@2"
    capsys.readouterr()
    assert cli(info.ref) == 1
    out = capsys.readouterr().out
    assert "not_reproduced" in out
    assert ("lookup-exact:max_abs_error not_reproduced: measured 0.25, claimed 0: 0.25 worse, "
            "beyond the tolerance") in out
    assert '"row": 2' in out


def test_missing_data_is_inconclusive_with_the_reason_and_fails(lookup, tmp_path, capsys):
    (tmp_path / "data" / "lookup-data" / "expected.npy").unlink()
    assert cli(lookup.NAME) == 1
    report_line = [line for line in capsys.readouterr().out.splitlines() if "max_abs_error inconclusive" in line]
    assert report_line and "dataset lookup-data not found" in report_line[0]


def test_modified_data_is_refused_by_its_hash(lookup, tmp_path):
    np.save(tmp_path / "data" / "lookup-data" / "expected.npy", lookup.TABLE + 1)
    result = hub.reproduce(lookup.NAME).results[0]
    assert result.verdict == "inconclusive" and "has sha256" in result.reason


def test_one_benchmark_and_json_output(lookup, capsys):
    assert cli(lookup.NAME, "--benchmark", "lookup-exact", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["metric"] for r in doc["results"]] == ["max_abs_error", "rows_exact", "repeatable"]
    assert doc["results"][0]["tolerance"] == pytest.approx(1e-6)


def test_unknown_benchmark_is_one_clear_line(lookup, capsys):
    assert cli(lookup.NAME, "--benchmark", "nope") == 1
    err = capsys.readouterr().err
    assert err.strip() == "zoohub reproduce: error: text/lookup-test has no benchmark 'nope' (it has: lookup-exact)"


def test_ref_and_all_are_exclusive(lookup, capsys):
    from hub.cli import main
    assert main(["reproduce"]) == 2 and main(["reproduce", lookup.NAME, "--all"]) == 2


def test_zoohub_cli_has_reproduce_and_embed():
    from hub.cli import build_parser
    args = build_parser().parse_args(["reproduce", "text/minilm-l6", "--benchmark", "minilm-ref-64", "--json"])
    assert args.run is reproduce_command.run and args.benchmark == "minilm-ref-64" and args.json
    assert build_parser().parse_args(["embed", "text/minilm-l6", "a", "b"]).sentences == ["a", "b"]


@pytest.mark.parametrize("where, value, message", [
    ("claim", float("nan"), "the claim 'the table as written' for text/lookup-test on lookup-exact:max_abs_error: "
                            "value must be a finite number, got nan"),
    ("claim", float("inf"), "the claim 'the table as written' for text/lookup-test on lookup-exact:max_abs_error: "
                            "value must be a finite number, got inf"),
    ("abs_tol", float("nan"), "benchmark lookup-exact, metric max_abs_error: abs_tol must be a finite number >= 0, "
                              "got nan"),
    ("rel_tol", float("inf"), "benchmark lookup-exact, metric max_abs_error: rel_tol must be a finite number >= 0, "
                              "got inf"),
])
def test_a_nan_or_infinite_claim_or_tolerance_is_one_line_and_nothing_is_measured(lookup, monkeypatch, capsys, where,
                                                                                    value, message):
    # a NaN claim was a raw IntegrityError on SQLite; a NaN tolerance judged every claim not reproduced, an infinite
    # one reproduced anything
    from dataclasses import replace

    from zoo.catalog import CATALOG
    entry = CATALOG[lookup.NAME]
    bench = BENCHMARKS["lookup-exact"]
    if where == "claim":
        monkeypatch.setitem(CATALOG, lookup.NAME, replace(entry, claims=(replace(entry.claims[0], value=value),
                                                                         *entry.claims[1:])))
    else:
        metrics = (replace(bench.metrics[0], **{where: value}), *bench.metrics[1:])
        monkeypatch.setitem(BENCHMARKS, "lookup-exact", replace(bench, metrics=metrics))
    assert cli(lookup.NAME) == 1
    err = capsys.readouterr().err
    assert err == f"zoohub reproduce: error: {message}\n"
    with database().read() as session:
        assert session.scalars(select(EvalRun)).all() == [] and session.scalars(select(Reproduction)).all() == []


def test_a_benchmark_failing_with_a_message_over_several_lines_is_recorded_with_a_one_line_reason(lookup,
                                                                                                   monkeypatch):
    from dataclasses import replace

    def fails(model, data, settings):
        raise ValueError("row 2 differs\n  expected 0.7\x1b[0m\r\n  got 0.95")
    monkeypatch.setitem(BENCHMARKS, "lookup-exact", replace(BENCHMARKS["lookup-exact"], runner=fails))
    report = hub.reproduce(lookup.NAME)
    failed = [r for r in report.results if r.runnable]
    assert [r.verdict for r in failed] == ["inconclusive"] * 3
    one_line = "the benchmark did not finish: ValueError: row 2 differs expected 0.7 [0m got 0.95"
    assert {r.reason for r in failed} == {one_line}
    with database().read() as session:
        assert one_line in {r.reason for r in session.scalars(select(Reproduction))}
