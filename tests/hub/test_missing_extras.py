"""A command whose optional dependencies are not installed says which pip extra brings them, in one line."""
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Runs the CLI with some modules made unimportable (a None entry in sys.modules fails their import), as on a
# machine where `pip install zoohub` left out an extra.
RUNNER = ("import sys; blocked, args = sys.argv[1].split(','), sys.argv[2:]\n"
          "for name in blocked: sys.modules[name] = None\n"
          "from hub.cli import main\n"
          "raise SystemExit(main(args))")


def run_without(blocked, *args, home):
    env = {"PATH": "/usr/bin:/bin", "ZOOHUB_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-c", RUNNER, ",".join(blocked), *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)


@pytest.mark.parametrize("blocked, args, message", [
    (["fastapi"], ["serve", "--port", "1"],
     "zoohub: error: zoohub serve needs fastapi, which is not installed: pip install 'zoohub[server]'"),
    (["uvicorn"], ["serve"],
     "zoohub: error: zoohub serve needs uvicorn, which is not installed: pip install 'zoohub[server]'"),
    (["streamlit"], ["app"],
     "zoohub: error: zoohub app needs streamlit, which is not installed: pip install 'zoohub[app]'"),
])
def test_a_missing_extra_is_one_line_naming_the_extra(tmp_path, blocked, args, message):
    done = run_without(blocked, *args, home=tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() == message
    assert "Traceback" not in done.stderr


def test_loading_from_the_hugging_face_hub_without_its_extra_names_the_extra(monkeypatch, tmp_path):
    import hub
    from hub.errors import MissingExtra
    monkeypatch.setenv("ZOOHUB_HOME", str(tmp_path))
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(MissingExtra, match=r"^the Hugging Face bridge needs huggingface_hub, which is not installed: "
                                           r"pip install 'zoohub\[hf\]'$"):
        hub.load("hf://sentence-transformers/all-MiniLM-L6-v2")


def test_zoohub_serve_needs_no_multipart_parser(tmp_path, monkeypatch):
    # no route reads a form: requiring `multipart` only loaded python-multipart's deprecated shim, and any other
    # package named multipart would have satisfied it
    import requests

    import hub
    from hub import remote as remote_client
    from tests.hub.tiny_model import write_folder
    from tests.server.conftest import free_port
    home = tmp_path / "home"
    token = run_without([], "token", "create", "alice", home=home).stdout.strip()
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "ZOOHUB_HOME": str(home)}
    server = subprocess.Popen([sys.executable, "-c", RUNNER, "multipart,python_multipart", "serve", "--port",
                               str(port), "--rate", "0", "--log-level", "warning"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while server.poll() is None and time.monotonic() < deadline:
            try:
                if requests.get(url + "/api/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert server.poll() is None, server.communicate()[0]
        monkeypatch.setenv("ZOOHUB_HOME", str(tmp_path / "client"))
        monkeypatch.setenv("ZOOHUB_REMOTE", url)
        monkeypatch.setenv("ZOOHUB_TOKEN", token)
        monkeypatch.setattr(remote_client, "_clients", {})
        assert hub.publish(write_folder(tmp_path / "m"), "test/tiny", progress=False).ref == "test/tiny@1"
        assert hub.pull("test/tiny@1", progress=False).version == 1
    finally:
        server.terminate()
        server.wait(timeout=10)
