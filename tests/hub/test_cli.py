"""The zoohub CLI: each command end to end, one-line errors without tracebacks, command modules plug in."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hub import cli
from hub.cli import main
from tests.hub.tiny_model import write_folder

ROOT = Path(__file__).resolve().parents[2]


def _zoohub(*args: str) -> subprocess.CompletedProcess:
    # a timeout, so a command that starts serving instead of refusing its arguments fails rather than hangs
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


class _SpeechModel:
    def transcribe(self, path, **options):
        from zoo.speech.audio import load_audio
        load_audio(path)


@pytest.mark.parametrize("args, message", [
    (["info", "nope/model"], "zoohub: error: unknown model 'nope/model'"),
    (["info", "../etc"], "zoohub: error: malformed reference '../etc'"),
    (["publish", "/nonexistent/folder", "test/x"], "zoohub: error: /nonexistent/folder: not a folder"),
    (["promote", "test/x@1", "Production!"], "zoohub: error: invalid alias 'Production!'"),
    (["publish", "/nonexistent/folder", "test/x", "--task", "Speech Recognition"],
     "zoohub: error: invalid task 'Speech Recognition'"),
    (["publish", "/nonexistent/folder", "test/x", "--license", "x" * 200],
     "zoohub: error: publish test/x: the license must be one line of at most 128 characters"),
    (["info", "test/x@sha256:" + "a" * 65], "zoohub: error: malformed reference 'test/x@sha256:" + "a" * 65 + "': "
                                              "invalid manifest prefix: 65 hex digits, but a sha256 has 64"),
    (["promote", "test/x@1", "production", "--reason", "ok\x1b[2J"],
     "zoohub: error: invalid reason: it has the control character U+001B at character 3; give one line"),
    (["promote", "test/x@1", "production", "--reason", "two\nlines"],
     "zoohub: error: invalid reason: it has the control character U+000A at character 4"),
    (["publish", "/nonexistent/folder", "test/x", "--description", "a\tb"],
     "zoohub: error: invalid description: it has the control character U+0009 at character 2"),
])
def test_user_mistakes_print_one_line_and_exit_1(args, message):
    result = _zoohub(*args)
    assert result.returncode == 1
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize("args, message", [
    (["transcribe", "speech/base", "a.wav", "--beam-size", "0"],
     "zoohub: error: --beam-size must be at least 1, got 0"),
    (["embed", "text/minilm-l6", "hello", "--batch-size", "0"],
     "zoohub: error: --batch-size must be at least 1, got 0"),
    (["reproduce"], "zoohub: error: reproduce: give a model reference or --all (not both)"),
    (["reproduce", "--all", "--benchmark", "x"], "zoohub: error: reproduce: --benchmark needs one model reference"),
    (["history", "test/x", "--at", "3 May"], "zoohub: error: --at '3 May': expected a date"),
    (["serve", "--max-upload", "-5"], "zoohub: error: the upload limit must be at least 1 byte, got -5"),
    (["serve", "--rate", "-1"], "zoohub: error: the request rate must be a number >= 0 (0 = no limit), got -1.0"),
    (["serve", "--rate", "nan"], "zoohub: error: the request rate must be a number >= 0"),
    (["serve", "--burst", "0"], "zoohub: error: the burst must be at least 1 request, got 0"),
    (["serve", "--port", "70000"], "zoohub: error: --port 70000: expected 1..65535"),
    (["app", "--port", "0"], "zoohub: error: --port 0: the app needs a fixed port"),
    (["app", "--port", "99999"], "zoohub: error: --port 99999: expected 1..65535"),
])
def test_arguments_out_of_range_print_one_line_and_exit_2_as_argparse_does(args, message):
    result = _zoohub(*args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize("args, usage, error", [
    (["list", "--bogus"], "zoohub list [-h] [--task TASK] [--query QUERY] [--json]", "unrecognized arguments: --bogus"),
    (["list", "extra"], "zoohub list [-h] [--task TASK] [--query QUERY] [--json]", "unrecognized arguments: extra"),
    (["db", "status", "--bogus"], "zoohub db status [-h]", "unrecognized arguments: --bogus"),
    (["db", "--bogus"], "zoohub db [-h] ACTION ...", "unrecognized arguments: --bogus"),
    (["--nope"], "zoohub [-h] [--version] COMMAND ...", "unrecognized arguments: --nope"),
    (["--nope", "list"], "zoohub [-h] [--version] COMMAND ...", "unrecognized arguments: --nope"),
    ([], "zoohub [-h] [--version] COMMAND ...", "the following arguments are required: COMMAND"),
    (["db"], "zoohub db [-h] ACTION ...", "the following arguments are required: ACTION"),
])
def test_an_unknown_argument_is_reported_by_the_command_it_follows_with_its_usage(args, usage, error, capsys):
    # `zoohub list --bogus` printed the usage of `zoohub`, and `zoohub --nope` said only that COMMAND is required
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    prog = usage.split(" [")[0]
    assert capsys.readouterr() == ("", f"usage: {usage}\n{prog}: error: {error}\n")


@pytest.mark.parametrize("url, message", [
    ("nonsense", "zoohub: error: ZOOHUB_DB_URL='nonsense' is not a database URL"),
    ("postgresql+psycopg://nobody@127.0.0.1:1/zoohub", "zoohub: error: cannot use the registry database at"),
])
def test_unusable_database_url_is_one_line(url, message, monkeypatch):
    monkeypatch.setenv("ZOOHUB_DB_URL", url)
    result = _zoohub("list")
    assert result.returncode == 1 and result.stderr.startswith(message) and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["list"], ["db", "status"], ["db", "upgrade"]])
@pytest.mark.parametrize("url, message", [
    ("postgresql+psycopg://nobody@127.0.0.1:1/zoohub", "at postgresql+psycopg://nobody@127.0.0.1:1/zoohub: connection"),
    ("http://example.org/zoohub", "cannot use the database URL http://example.org/zoohub: Can't load plugin"),
    ("mysql://me@127.0.0.1:1/zoohub", "cannot use the database URL mysql://me@127.0.0.1:1/zoohub: No module named"),
    ("sqlite:///{not_a_database}", "cannot use the registry database at sqlite:///"),
])
def test_database_that_cannot_be_used_is_one_line_for_every_command(command, url, message, monkeypatch, tmp_path):
    not_a_database = tmp_path / "notes.txt"
    not_a_database.write_text("these are notes, not a registry\n" * 10)
    monkeypatch.setenv("ZOOHUB_DB_URL", url.format(not_a_database=not_a_database))
    result = _zoohub(*command)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("zoohub: error: ") and message in result.stderr and result.stderr.count("\n") == 1
    assert not_a_database.read_text() == "these are notes, not a registry\n" * 10


def test_zoohub_home_that_is_a_file_is_one_line(monkeypatch, tmp_path):
    (tmp_path / "home").write_text("")
    monkeypatch.setenv("ZOOHUB_HOME", str(tmp_path / "home"))
    result = _zoohub("list")
    assert result.returncode == 1 and result.stderr.startswith(f"zoohub: error: ZOOHUB_HOME='{tmp_path / 'home'}' "
                                                               f"cannot hold the registry: File exists")


def test_publish_list_info_promote_history_verify(tmp_path, capsys):
    folder = write_folder(tmp_path / "m")
    assert main(["publish", str(folder), "test/cli", "--description", "a tiny map", "--license", "MIT"]) == 0
    assert "published test/cli@1 (manifest sha256:" in capsys.readouterr().out
    assert main(["publish", str(folder), "test/cli"]) == 0
    assert "test/cli@1 already holds these files" in capsys.readouterr().out
    assert main(["promote", "test/cli@1", "production", "--reason", "first release"]) == 0
    assert capsys.readouterr().out.strip() == "test/cli:production -> version 1 (was unset)"

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "test/cli" in out and "production@1" in out and "(not pulled)" in out  # test/tiny from the catalog
    assert main(["list", "--json", "--query", "tiny map"]) == 0
    assert [m["name"] for m in json.loads(capsys.readouterr().out)] == ["test/cli"]

    assert main(["info", "test/cli:production", "--card"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("test/cli@1  (test, MIT)") and "model.safetensors" in out and "# tiny" in out
    assert main(["info", "test/cli", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["architecture"] == "test-tiny-linear"

    assert main(["history", "test/cli"]) == 0
    out = capsys.readouterr().out
    assert "production" in out and "first release" in out
    assert main(["history", "test/cli", "--at", "2000-01-01"]) == 0
    assert "no alias has been set" in capsys.readouterr().out

    assert main(["verify"]) == 0
    assert "checked 3 files" in capsys.readouterr().out and True
    assert main(["pull", "test/cli@1"]) == 0
    assert "test/cli@1 ready: 3 files in" in capsys.readouterr().out


def test_publish_of_an_existing_model_sets_the_task_description_and_license_given(tmp_path, capsys):
    # they were accepted and silently dropped once the model existed
    folder = write_folder(tmp_path / "m")
    assert main(["publish", str(folder), "test/meta", "--description", "first", "--license", "MIT"]) == 0
    assert main(["publish", str(folder), "test/meta", "--description", "a demo map, retold",
                 "--license", "Apache-2.0"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("; no new version, the model's description, license "
                                                             "updated")
    assert main(["publish", str(write_folder(tmp_path / "m2", seed=2)), "test/meta", "--task", "vision"]) == 0
    assert "published test/meta@2" in capsys.readouterr().out
    assert main(["info", "test/meta@1"]) == 0
    assert capsys.readouterr().out.startswith("test/meta@1  (vision, Apache-2.0)")
    assert main(["list", "--json", "--query", "demo map"]) == 0
    assert [(m["name"], m["task"]) for m in json.loads(capsys.readouterr().out)] == [("test/meta", "vision")]
    assert main(["publish", str(folder), "test/meta"]) == 0  # nothing given: nothing changes
    assert capsys.readouterr().out.endswith("; nothing new\n")
    assert main(["info", "test/meta", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["task"], info["description"], info["license"]) == ("vision", "a demo map, retold", "Apache-2.0")


def test_promote_to_the_version_the_alias_points_at_says_so_and_adds_no_history(tmp_path, capsys):
    import hub
    assert main(["publish", str(write_folder(tmp_path / "m")), "test/cli"]) == 0
    assert main(["promote", "test/cli@1", "production", "--reason", "first release"]) == 0
    capsys.readouterr()
    assert main(["promote", "test/cli@1", "production", "--reason", "again"]) == 0
    assert capsys.readouterr().out.strip() == "test/cli:production already points to version 1; nothing changed"
    change = hub.promote("test/cli@1", "production", reason="once more")
    assert not change.moved and (change.from_version, change.to_version, change.reason) == (1, 1, "first release")
    assert [(c.from_version, c.to_version, c.reason) for c in hub.history("test/cli")] == [(None, 1, "first release")]


def test_control_characters_in_actor_are_refused_and_ordinary_unicode_is_kept(tmp_path, capsys, monkeypatch):
    import hub
    folder = write_folder(tmp_path / "m")
    monkeypatch.setenv("ZOOHUB_ACTOR", "ann\x07")
    assert main(["publish", str(folder), "test/cli"]) == 1
    assert capsys.readouterr().err == ("zoohub: error: invalid $ZOOHUB_ACTOR: it has the control character U+0007 at "
                                       "character 4; give one line of plain text (no tabs, newlines or escape "
                                       "sequences)\n")
    monkeypatch.setenv("ZOOHUB_ACTOR", "Zoë Ström")
    assert main(["publish", str(folder), "test/cli", "--description", "Modèle — très petit 🎉"]) == 0
    assert main(["promote", "test/cli@1", "production", "--reason", "größer, schneller — 速い"]) == 0
    change, = hub.history("test/cli")
    assert (change.actor, change.reason) == ("Zoë Ström", "größer, schneller — 速い")
    assert hub.info("test/cli@1").description == "Modèle — très petit 🎉"


def test_version_prints_the_package_version_and_the_core_commit_and_exits_0():
    import re

    import core
    import hub
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^version = "([^"]+)"$', pyproject, re.MULTILINE)[1] == hub.__version__
    commit = core.backend_info()["git_commit"]
    assert commit
    result = _zoohub("--version")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout == f"zoohub {hub.__version__} (core built from git {commit})\n"


def test_db_status_and_upgrade(capsys):
    assert main(["db", "status"]) == 0
    assert "empty (created on first use)" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "status"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_db_status_of_someone_elses_database_says_it_is_not_a_registry(tmp_path, monkeypatch, capsys):
    # it said "empty (created on first use)", though zoohub refuses to use a database holding other tables
    import sqlite3
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    monkeypatch.setenv("ZOOHUB_DB_URL", f"sqlite:///{path}")
    assert main(["db", "status"]) == 0
    out = capsys.readouterr().out
    assert "not a zoohub registry (it has other tables: invoices)" in out and "created on first use" not in out
    assert main(["list"]) == 1
    assert "not a zoohub registry" in capsys.readouterr().err


def test_every_command_module_registers_its_command():
    parser = cli.build_parser()
    for argv in (["list"], ["reproduce", "--all"], ["transcribe", "speech/base", "a.wav"], ["embed", "t/m", "s"],
                 ["app"], ["serve"], ["db", "upgrade"]):
        assert parser.parse_args(argv).command == argv[0]


def test_every_command_sets_the_run_function_main_calls():
    parser = cli.build_parser()
    for argv in (["list"], ["info", "t/m"], ["pull", "t/m"], ["publish", "f", "t/m"], ["promote", "t/m@1", "a"],
                 ["history", "t/m"], ["verify"], ["gc"], ["reproduce", "--all"], ["transcribe", "t/m", "a.wav"],
                 ["embed", "t/m", "s"], ["app"], ["db", "status"], ["serve"], ["token", "list"],
                 ["export", "t/m", "d"], ["push-hf", "t/m", "o/r"]):
        assert callable(getattr(parser.parse_args(argv), "run", None)), argv


def test_transcribe_a_missing_file_is_one_line(capsys, monkeypatch):
    monkeypatch.setattr("hub.load", lambda ref: _SpeechModel())
    assert main(["transcribe", "speech/base", "/nonexistent/a.wav"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("zoohub: error: /nonexistent/a.wav: no such file") and err.count("\n") == 1


def test_console_script_is_declared():
    assert 'zoohub = "hub.cli:main"' in (ROOT / "pyproject.toml").read_text()


def test_arguments_that_are_not_utf8_are_one_line_before_anything_runs(monkeypatch, capsys):
    # bytes that are not UTF-8 reach Python as surrogates; stored, they made SQLAlchemy raise a traceback
    for argv in (["embed", "text/minilm-l6", "caf\udce9"], ["promote", "vision/x@1", "staging", "--reason", "\udcff"],
                 ["list", "--query", "caf\udce9"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("zoohub: error: argument ") and "is not valid UTF-8 text" in err
        assert err.count("\n") == 1
    monkeypatch.setenv("ZOOHUB_ACTOR", "\udcff")
    assert main(["list"]) == 2
    assert capsys.readouterr().err == "zoohub: error: $ZOOHUB_ACTOR is not valid UTF-8 text\n"


def test_app_with_a_bad_or_busy_port_is_one_line_before_streamlit_starts(capsys):
    import socket
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        busy = held.getsockname()[1]
        cases = {("--address", "999.1.1.1"): "cannot serve on 999.1.1.1:8501: unknown host",
                 ("--port", str(busy)): f"cannot serve on 127.0.0.1:{busy}: Address already in use (another zoohub "
                                        "app? choose one with --port)"}
        for args, message in cases.items():
            assert main(["app", *args]) == 1  # returns: Streamlit was never exec'd
            err = capsys.readouterr().err
            assert err.startswith("zoohub: error: ") and message in err and err.count("\n") == 1
