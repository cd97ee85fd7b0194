"""The kernels let other Python threads run while they work, and the thread pool is the only set of threads core adds.

GIL check: a worker thread runs one long call while the main thread keeps taking time stamps. A call that releases
the GIL leaves the main thread running throughout, so some of its stamps fall in the middle third of the call; a call
that holds the GIL stops the main thread for all of it (Python only switches threads between bytecodes; the switch
interval is cut to 0.1 ms for the check, so the main thread cannot hold on for long before the call starts). The
control case, a long `sorted` of floats, proves the check can tell the two apart. Each call runs 10 ms or more.
"""
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import core
import core.nn.functional as F
from core._C import _kernels

ROOT = Path(__file__).resolve().parents[2]


def main_thread_ran_during(call) -> bool:
    """Run `call` on a worker thread; True when the main thread ran Python in the middle third of the call."""
    span = {}

    def worker():
        span["start"] = time.perf_counter()
        call()
        span["end"] = time.perf_counter()

    stamps = []
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    try:
        thread = threading.Thread(target=worker)
        thread.start()
        while thread.is_alive():
            stamps.append(time.perf_counter())
        thread.join()
    finally:
        sys.setswitchinterval(interval)
    start, end = span["start"], span["end"]
    third = (end - start) / 3
    return any(start + third < t < end - third for t in stamps)


def _big(*shape):
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


def _linear_in_eval():
    layer = core.nn.Linear(1024, 1024).eval()
    x = core.tensor(_big(3072, 1024))
    return lambda: layer(x)


def _tensors(*shapes):
    return [core.tensor(_big(*s)) for s in shapes]


CALLS = {
    "sgemm kernel": lambda: (lambda a: lambda: _kernels.sgemm(a, a))(_big(1536, 1536)),
    "Tensor @": lambda: (lambda a: lambda: a @ a)(*_tensors((1536, 1536))),
    "bmm": lambda: (lambda a: lambda: core.bmm(a, a))(*_tensors((8, 768, 768))),
    "Linear (packed)": _linear_in_eval,
    "softmax": lambda: (lambda x: lambda: F.softmax(x, dim=-1))(*_tensors((8000, 1500))),
    "layer_norm": lambda: (lambda x: lambda: F.layer_norm(x, (512,)))(*_tensors((30000, 512))),
    "gelu": lambda: (lambda x: lambda: F.gelu(x))(*_tensors((6000, 2048))),
    "attention": lambda: (lambda q: lambda: F.scaled_dot_product_attention(q, q, q))(*_tensors((1, 8, 1500, 64))),
    "add": lambda: (lambda a: lambda: a + a)(*_tensors((6000, 4096))),
    "sum": lambda: (lambda a: lambda: a.sum(dim=1))(*_tensors((8000, 4096))),
    "conv2d": lambda: (lambda x, w: lambda: F.conv2d(x, w, padding=1))(*_tensors((8, 64, 64, 64), (64, 64, 3, 3))),
}


@pytest.fixture
def one_thread():
    before = core.get_num_threads()
    core.set_num_threads(1)  # the main thread keeps the other core
    yield
    core.set_num_threads(before)


@pytest.mark.parametrize("name", list(CALLS))
def test_kernel_releases_the_gil(name, one_thread):
    call = CALLS[name]()
    call()  # packs weights, warms caches
    assert main_thread_ran_during(call), f"{name} held the GIL"


def test_the_gil_check_sees_a_call_that_holds_the_gil():
    values = [random.random() for _ in range(1_500_000)]
    assert not main_thread_ran_during(lambda: sorted(values))


def run_python(code: str, **popen) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("ZOOHUB_NUM_THREADS", None)
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, **popen)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_pool_defaults_to_the_cpus_the_process_may_use():
    cpus = sorted(os.sched_getaffinity(0))
    code = "import core; print(core.get_num_threads())"
    assert run_python(code) == str(len(cpus))
    assert run_python(code, preexec_fn=lambda: os.sched_setaffinity(0, cpus[:1])) == "1"


def test_core_adds_only_its_pool_threads_and_no_openmp_or_blas_runtime():
    code = (
        "import os, numpy as np\n"
        "def threads(): return len(os.listdir('/proc/self/task'))\n"
        "def libs(): return {l.split()[-1] for l in open('/proc/self/maps') if '.so' in l}\n"
        "a = np.ones((300, 300), np.float32); a @ a\n"
        "before, before_libs = threads(), libs()\n"
        "import core\n"
        "from core._C import _kernels as K\n"
        "counts = []\n"
        "for n in (3, 1, 2):\n"
        "    core.set_num_threads(n); K.sgemm(a, a); (core.tensor(a) @ core.tensor(a)).sum()\n"
        "    counts.append(threads() - before)\n"
        "new = sorted(os.path.basename(p) for p in libs() - before_libs)\n"
        "print(counts, [n for n in new if any(r in n for r in ('gomp', 'iomp', 'omp', 'blas', 'mkl'))])\n"
    )
    # n threads are the caller plus n - 1 pool workers; nothing else starts threads or loads a threading runtime.
    assert run_python(code) == "[2, 0, 1] []"
