"""Trains vision/digits-cnn from scratch on core and prints its test accuracy and the training time.

    python scripts/demo_digits.py [--seed 0] [--threads 2] [--epochs 12] [--out folder]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zoo.vision import recipe  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Runs the recipe with the given seed, threads and epochs; optionally saves the weights."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=recipe.EPOCHS)
    parser.add_argument("--out", type=Path, help="also write model.safetensors into this folder")
    args = parser.parse_args(argv)

    def progress(done: int, total: int) -> None:
        print(f"\repoch {done}/{total}", end="", flush=True)

    result = recipe.train(seed=args.seed, threads=args.threads, epochs=args.epochs, progress=progress)
    print()
    print(f"digits-cnn: test accuracy {result.test_accuracy:.4f} on {result.test_size} held-out images, "
          f"trained in {result.seconds:.1f} s (seed {result.seed}, {result.threads} threads, {result.epochs} epochs)")
    if args.out:
        import core
        args.out.mkdir(parents=True, exist_ok=True)
        core.io.save(result.model, args.out / "model.safetensors")
        print(f"weights written to {args.out / 'model.safetensors'}")
    return 0 if result.test_accuracy >= 0.97 else 1


if __name__ == "__main__":
    sys.exit(main())
