"""Whisper on core against faster-whisper (CTranslate2 float32) and PyTorch eager, with the same thread count.

    python bench/whisper.py --model speech/base --threads 2
    python bench/whisper.py --model speech/tiny.en --threads 2 --engines ours --clips 5

Each engine runs in its own subprocess (so peak memory, ru_maxrss, is its own) over data/speech-dev: the
30 clips greedy without timestamps and with beam 5 and timestamps, the 84 s long-form clip in the same two
modes, and one 30 s encoder window (best of 3). Settings are those of the stored references: language en,
temperature 0 only, no previous-text prompt, no VAD. The `torch` engine is transformers'
WhisperForConditionalGeneration on our converted weights (bench/whisper_transformers.py), timed on the
encoder window and the clips greedy only (`generate`, language en, no timestamps). faster-whisper and
torch + transformers are benchmark-only installs; an engine whose package is missing is skipped with a note.
Prints a markdown table (wall time, real-time factor, WER, peak memory), how many clips each engine decodes
greedily to exactly our tokens, and, with --json, the raw numbers.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEV = Path(os.environ.get("ZOOHUB_SPEECH_DEV", ROOT / "tests" / "data" / "speech-dev"))
MODES = ("greedy", "beam5_ts")
Run = Callable[[Path, int, bool], tuple[str, list[int]]]  # (audio, beam size, no timestamps) -> text, text tokens


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


def _ours(name: str, threads: int, work: Path, mel: np.ndarray) -> tuple[Run, Callable[[], None]]:
    from zoo.speech.recognizer import SpeechRecognizer
    asr = SpeechRecognizer.from_folder(_model_folder(name))
    eot = asr.config["eot_id"]

    def run(path: Path, beam: int, no_ts: bool) -> tuple[str, list[int]]:
        result = asr.transcribe(path, language="en", beam_size=beam, without_timestamps=no_ts, temperatures=(0.0,))
        return result.text, [t for s in result.segments for t in s.tokens if t < eot]

    return run, lambda: asr.network.encode(mel)


def _faster_whisper(name: str, threads: int, work: Path, mel: np.ndarray) -> tuple[Run, Callable[[], None]]:
    import ctranslate2
    from faster_whisper import WhisperModel

    from zoo.speech.mel import N_FRAMES, N_SAMPLES
    model = WhisperModel(str(_ct2_folder(name, work)), device="cpu", compute_type="float32", cpu_threads=threads)
    eot = model.hf_tokenizer.token_to_id("<|endoftext|>")

    def run(path: Path, beam: int, no_ts: bool) -> tuple[str, list[int]]:
        segments, _ = model.transcribe(str(path), language="en", beam_size=beam, without_timestamps=no_ts,
                                       temperature=0.0, condition_on_previous_text=False, vad_filter=False)
        segments = list(segments)
        return "".join(s.text for s in segments).strip(), [t for s in segments for t in s.tokens if t < eot]

    features = model.feature_extractor(np.zeros(N_SAMPLES, dtype=np.float32))[:, :N_FRAMES]
    window = ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None], dtype=np.float32))
    return run, lambda: model.model.encode(window, to_cpu=True)


def _torch(name: str, threads: int, work: Path, mel: np.ndarray) -> tuple[Run, Callable[[], None]]:
    import torch
    import transformers

    from bench.whisper_transformers import greedy_tokens, whisper_from_folder
    from zoo.speech.audio import load_audio
    from zoo.speech.mel import N_SAMPLES, log_mel_spectrogram, pad_or_trim
    from zoo.speech.tokenizer import WhisperTokenizer
    torch.set_num_threads(threads)
    transformers.logging.set_verbosity_error()  # its notes on generation arguments, once per clip
    folder = _model_folder(name)
    config = json.loads((folder / "config.json").read_text())
    model, tokenizer = whisper_from_folder(folder), WhisperTokenizer.from_folder(folder)

    def run(path: Path, beam: int, no_ts: bool) -> tuple[str, list[int]]:
        if beam != 1 or not no_ts:
            raise ValueError("the torch engine runs greedy decoding without timestamps only")
        features = pad_or_trim(log_mel_spectrogram(load_audio(path), config["n_mels"], padding=N_SAMPLES))
        tokens = greedy_tokens(model, features, config)
        return tokenizer.decode(tokens).strip(), tokens

    window = torch.from_numpy(np.ascontiguousarray(mel, dtype=np.float32))[None]

    def encode() -> None:
        with torch.inference_mode():
            model.model.encoder(window)

    return run, encode


# engine -> (set-up, the decoding modes it runs, whether it runs the long-form clip)
ENGINES = {"ours": (_ours, MODES, True), "faster-whisper": (_faster_whisper, MODES, True),
           "torch": (_torch, ("greedy",), False)}
REQUIRES = {"faster-whisper": "faster_whisper", "torch": "transformers"}


def _worker(engine: str, name: str, threads: int, limit: int | None, work: Path) -> dict:
    """Runs inside the subprocess: every measurement of one engine."""
    from zoo.speech.audio import load_audio
    from zoo.speech.mel import N_SAMPLES, log_mel_spectrogram, pad_or_trim
    from zoo.speech.wer import wer
    if engine not in ENGINES:
        raise SystemExit(f"unknown engine {engine!r} (known: {', '.join(ENGINES)})")
    setup, modes, longform_too = ENGINES[engine]
    items, longform = _clips(limit)
    mel = pad_or_trim(log_mel_spectrogram(load_audio(DEV / items[0]["file"]), padding=N_SAMPLES))
    run, encode = setup(name, threads, work, mel)
    out: dict = {"engine": engine, "model": name, "threads": threads}
    encode()  # warm-up
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        encode()
        times.append(time.perf_counter() - t0)
    out["encoder_window_s"] = min(times)
    audio_s = sum(len(load_audio(DEV / i["file"])) for i in items) / 16000
    for mode in modes:
        beam, no_ts = (1, True) if mode == "greedy" else (5, False)
        t0 = time.perf_counter()
        runs = [run(DEV / i["file"], beam, no_ts) for i in items]
        wall = time.perf_counter() - t0
        out[f"clips_{mode}"] = {"wall_s": wall, "rtf": wall / audio_s, "audio_s": audio_s,
                                "wer": wer([i["text"] for i in items], [text for text, _ in runs]),
                                "tokens": [tokens for _, tokens in runs]}
        if not longform_too:
            continue
        t0 = time.perf_counter()
        hyp, _ = run(DEV / longform["file"], beam, no_ts)
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


COLUMNS = ("clips_greedy", "clips_beam5_ts", "longform_greedy", "longform_beam5_ts")


def table(results: list[dict]) -> str:
    """The markdown table: one row per engine, then ours / each other engine (time and peak memory)."""
    rows = ["| engine | encoder 30 s window | clips greedy | clips beam 5 + ts | long-form greedy | "
            "long-form beam 5 + ts | peak RSS |", "|---|---|---|---|---|---|---|"]
    for r in results:
        cells = [r["engine"], f"{r['encoder_window_s'] * 1000:.0f} ms"]
        for key in COLUMNS:
            m = r.get(key)
            cells.append(f"{m['wall_s']:.1f} s (RTF {m['rtf']:.3f}, WER {100 * m['wer']:.2f} %)" if m else "not run")
        cells.append(f"{r['peak_rss_mb']:.0f} MB")
        rows.append("| " + " | ".join(cells) + " |")
    ours = next((r for r in results if r["engine"] == "ours"), None)
    for ref in (r for r in results if ours is not None and r is not ours):
        ratios = [f"{ours[k]['wall_s'] / ref[k]['wall_s']:.2f}x" if k in ref and k in ours else "" for k in COLUMNS]
        rows.append(f"| ours / {ref['engine']} | {ours['encoder_window_s'] / ref['encoder_window_s']:.2f}x | "
                    + " | ".join(ratios) + f" | {ours['peak_rss_mb'] / ref['peak_rss_mb']:.2f}x |")
    return "\n".join(rows)


def token_parity(results: list[dict]) -> str:
    """How many clips each other engine decodes greedily to exactly our text tokens."""
    ours = next((r for r in results if r["engine"] == "ours"), None)
    if ours is None:
        return ""
    lines = []
    for ref in (r for r in results if r is not ours):
        same = sum(a == b for a, b in zip(ours["clips_greedy"]["tokens"], ref["clips_greedy"]["tokens"]))
        lines.append(f"{ref['engine']}: greedy tokens identical to ours on {same} of "
                     f"{len(ours['clips_greedy']['tokens'])} clips")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="speech/base", choices=["speech/base", "speech/tiny.en"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--engines", default="ours,faster-whisper,torch", help=f"comma-separated: {', '.join(ENGINES)}")
    parser.add_argument("--clips", type=int, default=None, help="only the first N dev clips")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        with tempfile.TemporaryDirectory() as work:
            print(json.dumps(_worker(args.worker, args.model, args.threads, args.clips, Path(work))))
        return 0
    engines = args.engines.split(",")
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        parser.error(f"unknown engine(s) {', '.join(unknown)}; known: {', '.join(ENGINES)}")
    results = []
    for engine in engines:
        module = REQUIRES.get(engine)
        if module and importlib.util.find_spec(module) is None:
            print(f"skipping {engine}: the {module} package is not installed (benchmark only: "
                  f"pip install {module.replace('_', '-')})", file=sys.stderr)
            continue
        results.append(_spawn(engine, args))
    if not results:
        raise SystemExit("no engine could run")
    clips = results[0]["clips_greedy"]["audio_s"]
    longform = next((r["longform_greedy"]["audio_s"] for r in results if "longform_greedy" in r), None)
    print(f"{args.model}, {args.threads} threads, data/speech-dev ({clips:.1f} s of clips"
          + (f", long-form {longform:.1f} s)\n" if longform else ")\n"))
    print(table(results))
    print(token_parity(results))
    if args.json:
        for r in results:
            r["clips_greedy"].pop("tokens")
            r.get("clips_beam5_ts", {}).pop("tokens", None)
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
