"""The training recipe of vision/digits-cnn: scikit-learn's digits, a fixed split, AdamW, a cosine schedule.

>>> result = train(seed=0, threads=2)
>>> result.test_accuracy >= 0.97
True

Reproducibility: the split is fixed (SPLIT_SEED, stratified, independent of the training seed); `seed`
seeds core's generator (initialisation, dropout) and the numpy generator that shuffles batches. Two runs
with the same seed and thread count give bit-identical weights.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import core
import core.nn.functional as F
from zoo.vision.model import DigitsCNN, DigitsConfig

SPLIT_SEED = 0
TEST_FRACTION = 0.2
EPOCHS = 12
BATCH_SIZE = 32
LR = 1e-2
WEIGHT_DECAY = 1e-2

Progress = Callable[[int, int], None]


@dataclass
class DigitsData:
    """The digits split: images (N, 8, 8) float32 with values 0..16, labels int64."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


@dataclass
class TrainResult:
    """A trained model with what the run measured."""

    model: DigitsCNN
    test_accuracy: float
    seconds: float  # wall-clock training time
    cpu_seconds: float  # CPU time of the process over training (all threads): >= wall time on an idle machine
    seed: int
    threads: int
    epochs: int
    test_size: int
    losses: list[float] = field(default_factory=list)  # mean training loss of each epoch


def load_data() -> DigitsData:
    """scikit-learn's 1797 digits, split per class: 20% of each class for test, the rest for training."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images.astype(np.float32)
    labels = digits.target.astype(np.int64)
    rng = np.random.default_rng(SPLIT_SEED)
    test = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        test[rng.permutation(idx)[:round(len(idx) * TEST_FRACTION)]] = True
    return DigitsData(images[~test], labels[~test], images[test], labels[test])


def set_threads(threads: int) -> None:
    """Sizes core's kernel thread pool (results are bit-identical only for the same count).

    A build of core without the thread pool (`core.set_num_threads` absent) runs every kernel on one thread;
    there the count is only recorded with the result.
    """
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    setter = getattr(core, "set_num_threads", None)
    if setter is not None:
        setter(threads)


def evaluate(model: DigitsCNN, images: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 accuracy of the model (put in eval mode) on images and labels."""
    model.eval()
    return float(np.mean(model.predict(images) == labels))


def train(seed: int = 0, threads: int = 2, epochs: int = EPOCHS, config: DigitsConfig | None = None,
          data: DigitsData | None = None, progress: Progress | None = None) -> TrainResult:
    """Trains DigitsCNN from scratch with AdamW and cosine annealing; returns the model in eval mode.

    progress(epochs_done, epochs) is called after every epoch.
    """
    set_threads(threads)
    data = data or load_data()
    config = config or DigitsConfig()
    start, cpu_start = time.perf_counter(), time.process_time()
    core.manual_seed(seed)
    shuffle = np.random.default_rng(seed)
    model = DigitsCNN(config)
    x_all = model.prepare(data.train_images)
    y_all = data.train_labels
    opt = core.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    steps_per_epoch = -(-len(y_all) // BATCH_SIZE)
    sched = core.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch)
    losses = []
    for epoch in range(epochs):
        model.train()
        order = shuffle.permutation(len(y_all))
        total = 0.0
        for b in range(steps_per_epoch):
            idx = order[b * BATCH_SIZE:(b + 1) * BATCH_SIZE]
            x = x_all[core.from_numpy(idx)]
            y = core.from_numpy(y_all[idx])
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        losses.append(total / len(y_all))
        if progress:
            progress(epoch + 1, epochs)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    accuracy = evaluate(model, data.test_images, data.test_labels)
    return TrainResult(model, accuracy, seconds, cpu_seconds, seed, threads, epochs, len(data.test_labels),
                       losses)
