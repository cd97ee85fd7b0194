"""Whisper on core against faster-whisper (CTranslate2 float32) with the same thread count.

    python bench/whisper.py --model speech/base --threads 2
    python bench/whisper.py --model speech/tiny.en --threads 2 --engines ours --clips 5

Each engine runs in its own subprocess (so peak memory, ru_maxrss, is its own) over data/speech-dev: the
30 clips greedy without timestamps and with beam 5 and timestamps, the 84 s long-form clip in the same two
modes, and one 30 s encoder window (best of 3). Settings are those of the stored references: language en,
temperature 0 only, no previous-text prompt, no VAD. Prints a markdown table (wall time, real-time factor,
WER, peak memory) and, with --json, the raw numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEV = Path(os.environ.get("ZOOHUB_SPEECH_DEV", ROOT / "tests" / "data" / "speech-dev"))
MODES = ("greedy", "beam5_ts")


def _model_folder(name: str) -> Path:
    """Our converted folder for a catalog name, made once under $ZOOHUB_HOME/bench."""
    from zoo.speech import catalog
    home = Path(os.environ.get("ZOOHUB_HOME", Path.home() / ".cache" / "zoohub"))
    dest = home / "bench" / name.replace("/", "_")
    if not (dest / "config.json").is_file():
        source = catalog.BASE if name == "speech/base" else catalog.TINY_EN
        catalog.materialize_source(source, name, dest)
    return dest


def _ct2_folder(name: str, work: Path) -> Path:
    """A CTranslate2 model folder for faster-whisper: the package folder, or the base parts joined in work."""
    from zoo.importers.ctranslate2 import concatenate_parts
    from zoo.speech import catalog
    source = catalog.BASE if name == "speech/base" else catalog.TINY_EN
    if len(source.model_parts) == 1:
        return catalog.locate(source, source.model_parts[0]).parent
    folder = work / "ct2"
    folder.mkdir(exist_ok=True)
    concatenate_parts([catalog.locate(source, k) for k in source.model_parts], folder / "model.bin")
    for key in (source.config, source.tokenizer, source.vocabulary):
        (folder / key[2]).symlink_to(catalog.locate(source, key))
    return folder


def _clips(limit: int | None) -> tuple[list[dict], dict]:
    manifest = json.loads((DEV / "manifest.json").read_text())
    items = manifest["items"][:limit] if limit else manifest["items"]
    return items, manifest["longform"]


def _worker(engine: str, name: str, threads: int, limit: int | None, work: Path) -> dict:
    """Runs inside the subprocess: every measurement of one engine."""
    import numpy as np

    from zoo.speech.audio import load_audio
    from zoo.speech.mel import N_FRAMES, N_SAMPLES, log_mel_spectrogram, pad_or_trim
    from zoo.speech.wer import wer
    items, longform = _clips(limit)
    if engine == "ours":
        from zoo.speech.recognizer import SpeechRecognizer
        asr = SpeechRecognizer.from_folder(_model_folder(name))

        def run(path: Path, beam: int, no_ts: bool) -> str:
            return asr.transcribe(path, language="en", beam_size=beam, without_timestamps=no_ts,
                                  temperatures=(0.0,)).text

        mel = pad_or_trim(log_mel_spectrogram(load_audio(DEV / items[0]["file"]), padding=N_SAMPLES))

        def encode() -> None:
            asr.network.encode(mel)
    elif engine == "faster-whisper":
        from faster_whisper import WhisperModel
        model = WhisperModel(str(_ct2_folder(name, work)), device="cpu", compute_type="float32", cpu_threads=threads)

        def run(path: Path, beam: int, no_ts: bool) -> str:
            segments, _ = model.transcribe(str(path), language="en", beam_size=beam, without_timestamps=no_ts,
                                           temperature=0.0, condition_on_previous_text=False, vad_filter=False)
            return "".join(s.text for s in segments).strip()

        import ctranslate2
        features = model.feature_extractor(np.zeros(N_SAMPLES, dtype=np.float32))[:, :N_FRAMES]
        window = ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None], dtype=np.float32))

        def encode() -> None:
            model.model.encode(window, to_cpu=True)
    else:
        raise SystemExit(f"unknown engine {engine!r}")
    out: dict = {"engine": engine, "model": name, "threads": threads}
    encode()  # warm-up
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        encode()
        times.append(time.perf_counter() - t0)
    out["encoder_window_s"] = min(times)
    audio_s = sum(len(load_audio(DEV / i["file"])) for i in items) / 16000
    for mode in MODES:
        beam, no_ts = (1, True) if mode == "greedy" else (5, False)
        t0 = time.perf_counter()
        hyps = [run(DEV / i["file"], beam, no_ts) for i in items]
        wall = time.perf_counter() - t0
        out[f"clips_{mode}"] = {"wall_s": wall, "rtf": wall / audio_s, "audio_s": audio_s,
                                "wer": wer([i["text"] for i in items], hyps)}
        t0 = time.perf_counter()
        hyp = run(DEV / longform["file"], beam, no_ts)
        wall = time.perf_counter() - t0
        out[f"longform_{mode}"] = {"wall_s": wall, "rtf": wall / longform["duration_s"],
                                   "audio_s": longform["duration_s"], "wer": wer(longform["text"], hyp)}
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _spawn(engine: str, args: argparse.Namespace) -> dict:
    env = dict(os.environ, ZOOHUB_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads),
               OPENBLAS_NUM_THREADS="1", PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", engine, "--model", args.model,
           "--threads", str(args.threads)] + (["--clips", str(args.clips)] if args.clips else [])
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{engine} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def table(results: list[dict]) -> str:
    rows = ["| engine | encoder 30 s window | clips greedy | clips beam 5 + ts | long-form greedy | "
            "long-form beam 5 + ts | peak RSS |", "|---|---|---|---|---|---|---|"]
    for r in results:
        cells = [r["engine"], f"{r['encoder_window_s'] * 1000:.0f} ms"]
        for key in ("clips_greedy", "clips_beam5_ts", "longform_greedy", "longform_beam5_ts"):
            m = r[key]
            cells.append(f"{m['wall_s']:.1f} s (RTF {m['rtf']:.3f}, WER {100 * m['wer']:.2f} %)")
        cells.append(f"{r['peak_rss_mb']:.0f} MB")
        rows.append("| " + " | ".join(cells) + " |")
    if len(results) == 2:
        ours, ref = results
        ratio = [ours[k]["wall_s"] / ref[k]["wall_s"] for k in ("clips_greedy", "clips_beam5_ts",
                                                               "longform_greedy", "longform_beam5_ts")]
        rows.append(f"| ours / {ref['engine']} | {ours['encoder_window_s'] / ref['encoder_window_s']:.2f}x | "
                    + " | ".join(f"{x:.2f}x" for x in ratio)
                    + f" | {ours['peak_rss_mb'] / ref['peak_rss_mb']:.2f}x |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="speech/base", choices=["speech/base", "speech/tiny.en"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--engines", default="ours,faster-whisper")
    parser.add_argument("--clips", type=int, default=None, help="only the first N dev clips")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        with tempfile.TemporaryDirectory() as work:
            print(json.dumps(_worker(args.worker, args.model, args.threads, args.clips, Path(work))))
        return 0
    results = [_spawn(engine, args) for engine in args.engines.split(",")]
    print(f"{args.model}, {args.threads} threads, data/speech-dev ({results[0]['clips_greedy']['audio_s']:.1f} s of "
          f"clips, long-form {results[0]['longform_greedy']['audio_s']:.1f} s)\n")
    print(table(results))
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
