"""Publishing and resolving versions, aliases and their history, at the registry level, on both backends."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from registry import db
from registry.aliases import alias_at, alias_history, set_alias
from registry.errors import AmbiguousReference, InvalidName, NotFound
from registry.schema import AliasEvent
from registry.versions import FileEntry, get_model, manifest_sha256, publish_version, resolve_version

A = FileEntry("model.safetensors", "a" * 64, 10)
B = FileEntry("model.safetensors", "b" * 64, 11)
CONFIG = FileEntry("config.json", "c" * 64, 2)


@pytest.fixture
def database(registry_url):
    database = db.Database(registry_url)
    yield database
    database.dispose()


def _publish(database, name, files):
    with database.write() as session:
        version, created = publish_version(session, name, files, config_json='{"architecture": "x"}')
        return version.version, created


def test_publish_same_manifest_returns_existing_version(database):
    assert _publish(database, "test/m", [CONFIG, A]) == (1, True)
    assert _publish(database, "test/m", [A, CONFIG]) == (1, False)
    assert _publish(database, "test/m", [CONFIG, B]) == (2, True)
    assert _publish(database, "test/m", [CONFIG, A]) == (1, False)
    assert _publish(database, "test/m", [CONFIG, FileEntry("w.safetensors", "b" * 64, 11)]) == (3, True)


def test_task_description_and_license_given_to_a_publish_update_an_existing_model(database):
    # they were dropped: the task always, description and license once the model had any
    def publish(files, **metadata):
        with database.write() as session:
            version, _ = publish_version(session, "test/m", files, config_json="{}", **metadata)
            model = version.model
            return version.version, model.task, model.description, model.license

    assert publish([CONFIG, A], description="first", license="MIT") == (1, "test", "first", "MIT")
    assert publish([CONFIG, B], task="vision", description="retrained", license="Apache-2.0") == \
        (2, "vision", "retrained", "Apache-2.0")
    assert publish([CONFIG, A], description="the first, described again") == \
        (1, "vision", "the first, described again", "Apache-2.0")  # same files: no new version, metadata set
    assert publish([CONFIG, B]) == (2, "vision", "the first, described again", "Apache-2.0")  # nothing given: kept
    assert publish([CONFIG, B], task="", description="", license="") == \
        (2, "vision", "the first, described again", "Apache-2.0")


def test_same_files_under_another_model_name_is_another_version(database):
    assert manifest_sha256("test/a", [A]) != manifest_sha256("test/b", [A])
    assert _publish(database, "test/a", [A]) == (1, True)
    assert _publish(database, "test/b", [A]) == (1, True)


@pytest.mark.parametrize("task, license, message", [
    ("Speech Recognition", "", "invalid task 'Speech Recognition'"),
    ("t" * 65, "", "invalid task"),  # over the 64-character column: PostgreSQL would refuse the row
    ("", "x" * 129, "the license must be one line of at most 128 characters"),
    ("", "MIT\nand more", "the license must be one line"),
])
def test_task_and_license_that_the_model_table_cannot_hold_are_refused_and_nothing_is_recorded(database, task,
                                                                                                license, message):
    with pytest.raises(InvalidName, match=message):
        with database.write() as session:
            publish_version(session, "test/m", [A], config_json="{}", task=task, license=license)
    with database.read() as session:
        assert get_model(session, "test/m") is None
    with database.write() as session:
        publish_version(session, "test/m", [A], config_json="{}", task="automatic-speech-recognition",
                        license="x" * 128)
    with database.read() as session:
        assert get_model(session, "test/m").task == "automatic-speech-recognition"


@pytest.mark.parametrize("path", ["../escape", "/etc/passwd", "a/../../b", "a//b", ".hidden", "we ird.json", "C:x"])
def test_publish_refuses_a_file_path_outside_the_version(database, path):
    with pytest.raises(InvalidName):
        _publish(database, "test/m", [FileEntry(path, "a" * 64, 1)])
    with database.read() as session:
        assert get_model(session, "test/m") is None


@pytest.mark.parametrize("name", ["../etc", "test", "a/b/c", "Test/M", "test/..", "test/-x", "test/a b", ""])
def test_publish_refuses_a_malformed_model_name(database, name):
    with pytest.raises(InvalidName):
        _publish(database, name, [A])


def test_resolve_by_number_alias_manifest_prefix_and_default(database):
    _publish(database, "test/m", [A])
    _publish(database, "test/m", [B])
    with database.write() as session:
        one = resolve_version(session, "test/m", version=1)
        assert resolve_version(session, "test/m").version == 2  # newest while no production alias
        set_alias(session, one, "production", actor="ann", reason="first")
    with database.read() as session:
        assert resolve_version(session, "test/m").version == 1
        assert resolve_version(session, "test/m", alias="production").version == 1
        assert resolve_version(session, "test/m", manifest_prefix=one.manifest_sha256[:8]).version == 1
        with pytest.raises(NotFound, match="has no version 5"):
            resolve_version(session, "test/m", version=5)
        with pytest.raises(NotFound, match="no alias 'staging'"):
            resolve_version(session, "test/m", alias="staging")
        with pytest.raises(NotFound, match="too short"):
            resolve_version(session, "test/m", manifest_prefix="ab")
        with pytest.raises(NotFound, match="did you mean 'test/m'"):
            resolve_version(session, "test/n")


def test_ambiguous_manifest_prefix_is_refused(database):
    _publish(database, "test/m", [A])
    _publish(database, "test/m", [B])
    with database.write() as session:  # two manifests sharing 6 digits would take ~2**24 publishes: forge them
        session.execute(text("UPDATE model_version SET manifest_sha256 = 'abcdef' || substr(manifest_sha256, 7)"))
    with database.read() as session, pytest.raises(AmbiguousReference, match="give more digits"):
        resolve_version(session, "test/m", manifest_prefix="abcdef")


def test_versions_and_alias_events_cannot_be_changed_after_they_are_written(database):
    _publish(database, "test/m", [A])
    with database.write() as session:
        set_alias(session, resolve_version(session, "test/m"), "production")
    for change in (lambda s: setattr(resolve_version(s, "test/m"), "config_json", "{}"),
                   lambda s: setattr(resolve_version(s, "test/m").files[0], "blob_sha256", "b" * 64),
                   lambda s: s.delete(s.scalar(select(AliasEvent))),
                   lambda s: setattr(s.scalar(select(AliasEvent)), "reason", "rewritten")):
        with pytest.raises(ValueError, match="immutable"), database.write() as session:
            change(session)
    with database.read() as session:
        assert resolve_version(session, "test/m").config_json == '{"architecture": "x"}'
        assert session.scalar(select(AliasEvent)).reason == ""


def test_every_alias_move_appends_one_event_forming_a_chain(database):
    for files in ([A], [B], [CONFIG]):
        _publish(database, "test/m", files)
    moves = [1, 3, 2]
    for number in moves:
        with database.write() as session:
            set_alias(session, resolve_version(session, "test/m", version=number), "production", reason=f"to {number}")
    with database.read() as session:
        model = get_model(session, "test/m")
        history = alias_history(session, model, "production")
        assert [(before, after) for _, before, after in history] == [(None, 1), (1, 3), (3, 2)]
        assert [event.reason for event, _, _ in history] == ["to 1", "to 3", "to 2"]
        assert session.scalar(select(AliasEvent.at).order_by(AliasEvent.id)).tzinfo is not None


def test_setting_an_alias_to_the_version_it_points_at_writes_nothing(database):
    _publish(database, "test/m", [A])
    with database.write() as session:
        first, moved = set_alias(session, resolve_version(session, "test/m"), "production", actor="ann", reason="v1")
        assert moved
    with database.write() as session:
        again, moved = set_alias(session, resolve_version(session, "test/m"), "production", actor="bob", reason="dup")
        assert not moved and (again.actor, again.reason) == ("ann", "v1")
    with database.read() as session:
        history = alias_history(session, get_model(session, "test/m"), "production")
        assert [(before, after, event.reason) for event, before, after in history] == [(None, 1, "v1")]


def test_alias_at_answers_what_was_in_production_then(database):
    _publish(database, "test/m", [A])
    _publish(database, "test/m", [B])
    with database.write() as session:
        set_alias(session, resolve_version(session, "test/m", version=1), "production")
    middle = datetime.now(timezone.utc)
    with database.write() as session:
        set_alias(session, resolve_version(session, "test/m", version=2), "production")
    with database.read() as session:
        model = get_model(session, "test/m")
        assert alias_at(session, model, "production", middle - timedelta(days=1)) is None
        assert alias_at(session, model, "production", middle) == 1
        assert alias_at(session, model, "production", datetime.now(timezone.utc)) == 2


def test_alias_names_are_checked(database):
    _publish(database, "test/m", [A])
    with database.write() as session, pytest.raises(InvalidName):
        set_alias(session, resolve_version(session, "test/m"), "../prod")


@pytest.mark.parametrize("field, value", [("reason", "first\nsecond"), ("reason", "tab\there"),
                                          ("reason", "\x1b[31mred"), ("reason", "del\x7f"), ("reason", "c1\x85"),
                                          ("reason", "line\u2028break"), ("actor", "ann\r"), ("actor", "x" * 129)])
def test_set_alias_refuses_control_characters_in_free_text_and_records_nothing(database, field, value):
    _publish(database, "test/m", [A])
    with pytest.raises(InvalidName, match=f"invalid {field}: "), database.write() as session:
        set_alias(session, resolve_version(session, "test/m"), "production", **{field: value})
    with database.read() as session:
        assert session.scalar(select(AliasEvent)) is None


def test_publish_refuses_control_characters_in_description_and_actor(database):
    for field in ("description", "created_by"):
        with pytest.raises(InvalidName, match="control character U\\+0000"), database.write() as session:
            publish_version(session, "test/m", [A], config_json="{}", **{field: "a\x00b"})
    with database.read() as session:
        assert get_model(session, "test/m") is None


@pytest.mark.parametrize("prefix", ["______", "%", "abcdef%", "a" * 65])
def test_resolve_refuses_a_manifest_prefix_that_is_not_hex_or_longer_than_a_sha256(database, prefix):
    _publish(database, "test/m", [A])
    with database.read() as session, pytest.raises(InvalidName, match="invalid manifest prefix"):
        resolve_version(session, "test/m", manifest_prefix=prefix)
