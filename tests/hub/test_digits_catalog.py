"""vision/digits-cnn, the catalog's first model: `import hub; hub.load('vision/digits-cnn')` on a fresh ZOOHUB_HOME
imports it (our recipe trains it; no external weights), publishes it and loads it, opening no socket."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import hub

ROOT = Path(__file__).resolve().parents[2]

FRESH_LOAD_WITHOUT_NETWORK = textwrap.dedent("""
    import socket

    class NoNetwork(socket.socket):
        def __init__(self, *args, **kwargs):
            raise AssertionError("a socket was opened")

    socket.socket = NoNetwork
    socket.create_connection = NoNetwork
    exec("import hub; m = hub.load('vision/digits-cnn')")
    print(type(m).__name__, m.training)
""")


def test_digits_cnn_loads_on_a_fresh_home_with_no_network(_isolated_home):
    assert not any(_isolated_home.iterdir())
    env = {k: v for k, v in os.environ.items() if k != "ZOOHUB_DB_URL"}
    result = subprocess.run([sys.executable, "-c", FRESH_LOAD_WITHOUT_NETWORK], capture_output=True, text=True,
                            cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, timeout=1200)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["DigitsCNN", "False"]
    info = hub.info("vision/digits-cnn")
    assert info.version == 1 and info.source == "catalog:vision/digits-cnn"
    assert {"config.json", "model.safetensors", "README.md"} <= {f.path for f in info.files}
    assert hub.verify().ok
    from sklearn.datasets import load_digits
    digits = load_digits()
    predicted = hub.load("vision/digits-cnn").predict(digits.images[:200])  # from the registry this time
    assert (predicted == digits.target[:200]).mean() > 0.9


def test_the_model_card_is_the_same_for_runs_that_differ_only_in_their_timing():
    # the card carried the training time, so two imports (say, two processes pulling at once) made two versions
    # of the same weights: @1, @2, @3
    from dataclasses import replace

    from zoo.vision import catalog
    from zoo.vision.model import DigitsCNN, DigitsConfig
    run = catalog.recipe.TrainResult(DigitsCNN(DigitsConfig()), 0.97, 4.2, 8.1, 0, 2, 30, 359)
    assert catalog.model_card(run) == catalog.model_card(replace(run, seconds=9.9, cpu_seconds=17.3))
