"""`zoohub embed REF "sentence" ...`: sentence vectors, or with two or more sentences their cosine matrix."""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from hub.errors import UsageError


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `embed` command to the zoohub CLI."""
    parser = subparsers.add_parser(
        "embed", help="embed sentences with a text model; two or more: their cosine similarity matrix",
        description="Embed sentences with a text model (e.g. text/minilm-l6). One sentence prints its vector; "
                    "two or more print their cosine similarity matrix (add --vectors for the vectors).")
    parser.add_argument("ref", help="model reference, e.g. text/minilm-l6 or text/minilm-l6@1")
    parser.add_argument("sentences", nargs="+", help="the sentences (quote each one)")
    parser.add_argument("--vectors", action="store_true", help="print the vectors even for several sentences")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--batch-size", type=int, default=32, help="sentences per forward pass (default 32)")
    parser.set_defaults(run=run)
    return parser


def cosine_matrix(vectors: np.ndarray) -> np.ndarray:
    """Pairwise cosine similarity of the rows (rows of zero norm give 0)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.maximum(norms, 1e-12)
    return unit @ unit.T


def format_matrix(sentences: list[str], matrix: np.ndarray, width: int = 40) -> str:
    """The cosine matrix as a table: one row per sentence (numbered, shortened), columns by number."""
    labels = [s if len(s) <= width else s[:width - 1] + "…" for s in sentences]
    label_width = max(len(lab) for lab in labels) + 5
    header = " " * label_width + "".join(f"{j + 1:>8}" for j in range(len(sentences)))
    rows = [f"{i + 1:>3}  {labels[i]:<{label_width - 5}}" + "".join(f"{v:8.4f}" for v in row)
            for i, row in enumerate(matrix)]
    return "\n".join([header, *rows])


def format_vectors(vectors: np.ndarray) -> str:
    """One line per vector, space-separated, 6 decimals."""
    return "\n".join(" ".join(f"{v:.6f}" for v in row) for row in vectors)


def run(args: argparse.Namespace) -> int:
    """Load the model, embed, print; returns the exit status."""
    import hub

    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, got {args.batch_size}")
    model = hub.load(args.ref)
    if not callable(getattr(model, "encode", None)):
        print(f"zoohub embed: error: {args.ref} is not a text embedding model (it has no encode())", file=sys.stderr)
        return 1
    vectors = np.asarray(model.encode(args.sentences, batch_size=args.batch_size), dtype=np.float32)
    show_matrix = len(args.sentences) >= 2 and not args.vectors
    if args.json:
        doc = {"ref": args.ref, "sentences": args.sentences}
        if show_matrix:
            doc["cosine"] = np.round(cosine_matrix(vectors), 6).tolist()
        else:
            doc["vectors"] = vectors.tolist()
        print(json.dumps(doc))
    elif show_matrix:
        print(format_matrix(args.sentences, cosine_matrix(vectors)))
    else:
        print(format_vectors(vectors))
    return 0
