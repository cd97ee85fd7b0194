"""A command whose optional dependencies are not installed says which pip extra brings them, in one line."""
import subprocess
import sys
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
