"""What reproduce records: papers, benchmarks, claims, eval runs with their environment, verdicts."""
import json
import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from registry import db
from registry.errors import ArgumentTypeError, InvalidArgument, InvalidName
from registry.evaluations import (add_claim, claims_of, decide, latest_verdicts, record_eval_run,
                                  record_reproduction, upsert_benchmark, upsert_paper)
from registry.schema import Reproduction
from registry.versions import FileEntry, get_model, publish_version

NOW = datetime(2026, 11, 30, tzinfo=timezone.utc)
ENV = {"python": "3.11.7", "numpy": "2.1", "isa": "avx2", "cpu": "test cpu", "git": "abc123"}


@pytest.fixture
def database(registry_url):
    database = db.Database(registry_url)
    with database.write() as session:
        publish_version(session, "text/m", [FileEntry("model.safetensors", "a" * 64, 1)], config_json="{}")
    yield database
    database.dispose()


def _bench(session, metric="mean_cosine"):
    return upsert_benchmark(session, task="text", dataset="ref-64", metric=metric, higher_is_better=True,
                            dataset_sha256="d" * 64)


def _run(session, bench, value, status="succeeded"):
    version = get_model(session, "text/m").versions[0]
    return record_eval_run(session, version, bench, value=value, status=status, started_at=NOW, finished_at=NOW,
                           env=ENV, data_sha256="d" * 64, preprocess={"batch": 32}, seed=0, eval_code_ref="zoo@abc")


@pytest.mark.parametrize("measured, claimed, abs_tol, rel_tol, verdict", [
    (0.995, 1.0, 0.01, 0.0, "reproduced"),
    (0.98, 1.0, 0.01, 0.0, "not_reproduced"),
    (10.4, 10.0, 0.0, 0.05, "reproduced"),
    (10.6, 10.0, 0.0, 0.05, "not_reproduced"),
    (10.6, 10.0, 0.1, 0.05, "reproduced"),
    (None, 1.0, 0.01, 0.0, "inconclusive"),
    (float("nan"), 1.0, 0.01, 0.0, "inconclusive"),
])
def test_verdict_rule(measured, claimed, abs_tol, rel_tol, verdict):
    assert decide(measured, claimed, abs_tol, rel_tol)[1] == verdict


def test_upserts_are_idempotent(database):
    with database.write() as session:
        first = _bench(session).id
        paper = upsert_paper(session, "1908.10084", "Sentence-BERT")
        model = get_model(session, "text/m")
        claim = add_claim(session, model, _bench(session), 1.0, source="reference run", paper=paper, location="T2")
    with database.write() as session:
        assert _bench(session).id == first
        assert upsert_paper(session, "1908.10084", "Sentence-BERT").url == "https://arxiv.org/abs/1908.10084"
        again = add_claim(session, get_model(session, "text/m"), _bench(session), 0.99, source="reference run")
        assert again.id == claim.id and again.value == 0.99
        assert len(claims_of(session, get_model(session, "text/m"))) == 1


def test_eval_run_keeps_its_environment_and_settings(database):
    with database.write() as session:
        run = _run(session, _bench(session), 0.999)
    with database.read() as session:
        from registry.schema import EvalRun
        stored = session.get(EvalRun, run.id)
        assert json.loads(stored.env_json) == ENV and json.loads(stored.preprocess_json) == {"batch": 32}
        assert stored.started_at == NOW


def test_latest_verdicts_give_the_newest_reproduction_per_claim(database):
    with database.write() as session:
        model = get_model(session, "text/m")
        mean, low = _bench(session), _bench(session, "min_cosine")
        c_mean = add_claim(session, model, mean, 1.0, source="reference run")
        c_low = add_claim(session, model, low, 1.0, source="paper", runnable=False, reason="data not offline")
        record_reproduction(session, c_mean, _run(session, mean, 0.90), abs_tol=0.01, rel_tol=0.0)
        record_reproduction(session, c_mean, _run(session, mean, 0.999), abs_tol=0.01, rel_tol=0.0)
        record_reproduction(session, c_low, _run(session, low, None, status="failed"), abs_tol=0.01, rel_tol=0.0)
    with database.read() as session:
        verdicts = latest_verdicts(session, get_model(session, "text/m").versions[0])
    assert [(v.benchmark, v.verdict) for v in verdicts] == [("ref-64:mean_cosine", "reproduced"),
                                                            ("ref-64:min_cosine", "inconclusive")]
    assert verdicts[0].measured == 0.999 and abs(verdicts[0].delta + 0.001) < 1e-12
    assert verdicts[1].reason == "data not offline"


def test_a_claim_without_its_source_or_reason_is_refused(database):
    with database.write() as session:
        model, bench = get_model(session, "text/m"), _bench(session)
        with pytest.raises(ValueError, match="needs a source"):
            add_claim(session, model, bench, 1.0, source="")
        with pytest.raises(ValueError, match="why it cannot be run"):
            add_claim(session, model, bench, 1.0, source="paper", runnable=False)
        with pytest.raises(ValueError, match="finite value"):
            _run(session, bench, None)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_a_nan_or_infinite_claim_is_refused_naming_the_claim_and_nothing_is_stored(database, value):
    # SQLite stored NaN as NULL and failed with a raw IntegrityError; PostgreSQL stored it
    with pytest.raises(InvalidArgument, match=rf"^the claim 'paper, Table 2' for text/m on ref-64:mean_cosine: value "
                                              rf"must be a finite number, got {value!r}$"):
        with database.write() as session:
            add_claim(session, get_model(session, "text/m"), _bench(session), value, source="paper, Table 2")
    with pytest.raises(ArgumentTypeError, match="value must be a number, not str"):
        with database.write() as session:
            add_claim(session, get_model(session, "text/m"), _bench(session), "0.9", source="paper, Table 2")
    with database.read() as session:
        assert claims_of(session, get_model(session, "text/m")) == []


@pytest.mark.parametrize("args, error, message", [
    ((1.0, 1.0, float("nan"), 0.0), ValueError, "decide: abs_tol must be a finite number >= 0, got nan"),
    ((5.0, 1.0, float("inf"), 0.0), ValueError, "decide: abs_tol must be a finite number >= 0, got inf"),
    ((1.0, 1.0, 0.01, float("nan")), ValueError, "decide: rel_tol must be a finite number >= 0, got nan"),
    ((1.0, 1.0, -0.01, 0.0), ValueError, "decide: abs_tol must be a finite number >= 0, got -0.01"),
    ((1.0, float("nan"), 0.01, 0.0), ValueError, "decide: claimed must be a finite number, got nan"),
    ((1.0, float("-inf"), 0.01, 0.0), ValueError, "decide: claimed must be a finite number, got -inf"),
    ((1.0, 1.0, "0.01", 0.0), TypeError, "decide: abs_tol must be a number, not str"),
    (("1.0", 1.0, 0.01, 0.0), TypeError, "decide: measured must be a number or None, not str"),
])
def test_decide_refuses_a_nan_or_infinite_tolerance_or_claim_naming_the_argument(args, error, message):
    # a NaN tolerance judged every claim not reproduced, an infinite one reproduced anything
    with pytest.raises(error, match=f"^{message}$"):
        decide(*args)


@pytest.mark.parametrize("field, value, label", [
    ("source", "paper\nTable 2", "claim source"), ("source", "\x1b[31mpaper", "claim source"),
    ("reason", "data\tnot offline", "reason of the claim 'paper'"),
    ("location", "Table\u20282", "location of the claim 'paper'"),
])
def test_a_claim_with_a_control_character_in_its_free_text_is_refused_and_nothing_is_stored(database, field, value,
                                                                                           label):
    fields = {"source": "paper", "runnable": False, "reason": "data not offline", field: value}
    with pytest.raises(InvalidName, match=f"^invalid {re.escape(label)}: it has the control character U\\+"):
        with database.write() as session:
            add_claim(session, get_model(session, "text/m"), _bench(session), 1.0, **fields)
    with database.read() as session:
        assert claims_of(session, get_model(session, "text/m")) == []


@pytest.mark.parametrize("reason", ["first\nsecond", "del\x7f", "c1\x85", "nul\x00"])
def test_a_verdict_reason_with_a_control_character_is_refused_and_nothing_is_stored(database, reason):
    with pytest.raises(InvalidName, match=r"^invalid reason of the verdict: it has the control character U\+"):
        with database.write() as session:
            bench = _bench(session)
            claim = add_claim(session, get_model(session, "text/m"), bench, 1.0, source="reference run")
            record_reproduction(session, claim, _run(session, bench, 0.9), abs_tol=0.01, rel_tol=0.0, reason=reason)
    with database.read() as session:
        assert session.scalar(select(Reproduction)) is None
