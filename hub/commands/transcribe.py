"""`zoohub transcribe REF FILE`: speech to text with a speech model of the registry.

    zoohub transcribe speech/base meeting.wav --beam-size 5 --json
"""
from __future__ import annotations

import argparse
import json
import sys

from hub.errors import UsageError


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `transcribe` command to the zoohub CLI's subparsers."""
    p = subparsers.add_parser("transcribe", help="transcribe an audio file with a speech model",
                              description="Transcribe an audio file (wav, flac, ogg, mp3; any rate, stereo mixed "
                                          "down) with a speech model, e.g. `zoohub transcribe speech/base a.wav`.")
    p.add_argument("ref", metavar="REF", help="model reference: speech/base, speech/base@3, speech/base:production")
    p.add_argument("file", metavar="FILE", help="audio file")
    p.add_argument("--beam-size", type=int, default=5, help="beam size; 1 decodes greedily (default 5)")
    p.add_argument("--language", default=None, help="language code (en, de, ...); detected when not given")
    p.add_argument("--without-timestamps", action="store_true", help="decode without timestamp tokens")
    p.add_argument("--json", action="store_true", help="print text, language and segments as JSON")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Load the model, transcribe, print the text (or JSON); one-line errors for bad input, exit code 1 (2 for an
    argument out of range)."""
    import hub
    if args.beam_size < 1:
        raise UsageError(f"--beam-size must be at least 1, got {args.beam_size}")
    model = hub.load(args.ref)
    if not hasattr(model, "transcribe"):
        print(f"zoohub: error: {args.ref} is not a speech model (it has no transcribe)", file=sys.stderr)
        return 1
    try:
        result = model.transcribe(args.file, language=args.language, beam_size=args.beam_size,
                                  without_timestamps=args.without_timestamps)
    except (ValueError, FileNotFoundError) as exc:
        print(f"zoohub: error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        for seg in result.segments if not args.without_timestamps else []:
            print(f"[{seg.start:7.2f} -> {seg.end:7.2f}] {seg.text.strip()}")
        if args.without_timestamps or not result.segments:
            print(result.text)
    return 0
