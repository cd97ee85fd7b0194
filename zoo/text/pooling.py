"""Token states (B, T, H) to one vector per sentence, as sentence-transformers' Pooling and Normalize do."""
from __future__ import annotations

import numpy as np


def mean_pool(hidden: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Mean of the token states where the mask is 1: (B, T, H), (B, T) -> (B, H) float32."""
    mask = attention_mask.astype(np.float32)[:, :, None]
    counts = np.maximum(mask.sum(axis=1), 1e-9)  # sentence-transformers' clamp; a row always has [CLS]
    return ((hidden * mask).sum(axis=1) / counts).astype(np.float32)


def max_pool(hidden: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Element-wise max over real tokens (padding set to -1e9 first, as sentence-transformers does)."""
    masked = np.where(attention_mask[:, :, None] > 0, hidden, np.float32(-1e9))
    return masked.max(axis=1).astype(np.float32)


def cls_pool(hidden: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """The state of the first token ([CLS])."""
    return np.ascontiguousarray(hidden[:, 0], dtype=np.float32)


POOLERS = {"mean": mean_pool, "max": max_pool, "cls": cls_pool}


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Rows scaled to unit L2 norm; a zero row stays zero (torch.nn.functional.normalize's eps)."""
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norms, eps)).astype(np.float32)
