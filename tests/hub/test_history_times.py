"""`zoohub history` times: true UTC whatever the database session's time zone, and what `--at` means."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.engine import make_url

import hub
from hub.access import database
from hub.cli import main
from registry.schema import AliasEvent
from registry.versions import get_model
from tests.hub.tiny_model import write_folder

UTC = timezone.utc


@pytest.fixture
def registry_far_from_utc(registry_url):
    """The test's registry; on PostgreSQL its sessions run in Asia/Kolkata (UTC+05:30), as on a server set up in
    India, so the server answers timestamps in that zone."""
    if registry_url.startswith("postgresql"):
        import psycopg
        url = make_url(registry_url)
        with psycopg.connect(registry_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
            conn.execute(f"ALTER DATABASE {url.database} SET timezone TO 'Asia/Kolkata'")
    return registry_url


def test_history_prints_true_utc_whatever_the_session_time_zone(registry_far_from_utc, tmp_path, capsys):
    hub.publish(write_folder(tmp_path / "m"), "test/utc", progress=False)
    before = datetime.now(UTC).replace(microsecond=0)
    hub.promote("test/utc@1", "production", reason="release")
    after = datetime.now(UTC)
    change = hub.history("test/utc")[0]
    assert change.at.utcoffset() == timedelta(0) and before <= change.at <= after
    capsys.readouterr()
    assert main(["history", "test/utc"]) == 0
    row = capsys.readouterr().out.splitlines()[1]
    printed = datetime.strptime(row[:23], "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)
    assert before <= printed <= after, row  # on PostgreSQL it was the Kolkata wall clock, labelled UTC


def test_history_at_an_empty_time_is_one_line_not_the_whole_history(tmp_path, capsys):
    # `--at ""` was taken as no --at at all and printed every move
    hub.publish(write_folder(tmp_path / "m"), "test/empty", progress=False)
    hub.promote("test/empty@1", "production")
    capsys.readouterr()
    for text in ("", "   "):
        assert main(["history", "test/empty", "--at", text]) == 2  # a malformed argument: exit status 2, as argparse
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err == ("zoohub: error: --at is empty: expected a date (2026-05-03 or "
                                                       "20260503) or an ISO time (2026-05-03T12:00)\n")


def test_a_day_as_20260503_or_2026_05_03_means_the_end_of_that_day_utc(tmp_path, capsys):
    # 20260503 meant midnight at the start of the day, 2026-05-03 meant 23:59:59 (missing its last second)
    for seed in (1, 2):
        hub.publish(write_folder(tmp_path / f"m{seed}", seed=seed), "test/day", progress=False)
    with database().write() as session:
        model = get_model(session, "test/day")
        first, second = model.versions
        session.add_all([
            AliasEvent(model_id=model.id, alias="production", from_version_id=None, to_version_id=first.id,
                       actor="alice", reason="late on the 3rd", at=datetime(2026, 5, 3, 23, 59, 59, 500000, UTC)),
            AliasEvent(model_id=model.id, alias="production", from_version_id=first.id, to_version_id=second.id,
                       actor="bob", reason="on the 4th", at=datetime(2026, 5, 4, tzinfo=UTC))])
    outputs = []
    for day in ("2026-05-03", "20260503"):
        assert main(["history", "test/day", "--at", day]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    assert "late on the 3rd" in outputs[0] and "on the 4th" not in outputs[0]
    assert main(["history", "test/day", "--at", "2026-05-02"]) == 0
    assert capsys.readouterr().out == "test/day: no alias has been set by 2026-05-02 23:59:59 UTC\n"
