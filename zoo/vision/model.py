"""DigitsCNN: a small convolutional network for 8x8 grey-level digit images (scikit-learn's digits)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

import core
import core.nn as nn
import core.nn.functional as F

ARCHITECTURE = "digits-cnn"


@dataclass(frozen=True)
class DigitsConfig:
    """What config.json holds besides "architecture": the layer sizes and the input scaling."""

    channels: tuple[int, int] = (16, 32)
    hidden: int = 64
    num_classes: int = 10
    image_size: int = 8
    input_max: float = 16.0  # pixel values of the digits data run 0..16; inputs are divided by this
    dropout: float = 0.1

    def to_json(self) -> dict:
        """The config.json dict, architecture name included."""
        return {"architecture": ARCHITECTURE, **{k: list(v) if isinstance(v, tuple) else v
                                                 for k, v in asdict(self).items()}}

    @classmethod
    def from_json(cls, config: dict) -> DigitsConfig:
        """Reads a config.json dict, refusing unknown keys and a different architecture."""
        if config.get("architecture") != ARCHITECTURE:
            raise ValueError(f"digits-cnn config: architecture is {config.get('architecture')!r}, "
                             f"expected {ARCHITECTURE!r}")
        fields = {k: v for k, v in config.items() if k != "architecture"}
        unknown = sorted(set(fields) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"digits-cnn config: unknown keys {unknown}")
        if "channels" in fields:
            fields["channels"] = tuple(fields["channels"])
        return cls(**fields)


class DigitsCNN(nn.Module):
    """conv3x3(1 -> c1) ReLU, maxpool 2, conv3x3(c1 -> c2) ReLU, flatten, linear -> hidden, ReLU, dropout, linear.

    Pooling before the second convolution keeps it on 4x4 maps: a quarter of the work for the same accuracy.

    >>> model = DigitsCNN(DigitsConfig()).eval()
    >>> model.predict(np.zeros((2, 8, 8))).shape
    (2,)
    """

    def __init__(self, config: DigitsConfig) -> None:
        super().__init__()
        self.config = config
        c1, c2 = config.channels
        side = config.image_size // 2
        self.conv1 = nn.Conv2d(1, c1, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(c2 * side * side, config.hidden)
        self.dropout = nn.Dropout(config.dropout)
        self.fc2 = nn.Linear(config.hidden, config.num_classes)

    def forward(self, x: core.Tensor) -> core.Tensor:
        """Logits (N, num_classes) for images (N, 1, H, W) already scaled to [0, 1]."""
        x = self.pool(F.relu(self.conv1(x)))
        x = F.relu(self.conv2(x))
        x = self.dropout(F.relu(self.fc1(self.flatten(x))))
        return self.fc2(x)

    def prepare(self, images: np.ndarray) -> core.Tensor:
        """Raw images (N, H, W), (N, H*W) or one (H, W), values 0..input_max, as a scaled (N, 1, H, W) tensor."""
        arr = np.asarray(images, dtype=np.float32)
        side = self.config.image_size
        if arr.shape == (side, side):
            arr = arr[None]
        elif arr.ndim == 2 and arr.shape[1] == side * side:
            arr = arr.reshape(-1, side, side)
        if arr.ndim != 3 or arr.shape[1:] != (side, side):
            raise ValueError(f"digits-cnn: images must have shape (N, {side}, {side}) or (N, {side * side}), "
                             f"got {np.asarray(images).shape}")
        return core.from_numpy(np.ascontiguousarray(arr[:, None] / self.config.input_max))

    @core.no_grad()
    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities (N, num_classes) as numpy float32."""
        return F.softmax(self(self.prepare(images)), dim=-1).numpy()

    @core.no_grad()
    def predict(self, images: np.ndarray) -> np.ndarray:
        """The predicted digit (int64) for each image; call eval() first (the hub's models come in eval mode).

        >>> model.predict(load_digits().images[:3])
        array([0, 1, 2])
        """
        return self(self.prepare(images)).argmax(dim=-1).numpy()
