"""Synthetic noisy-label data for benchmarks: float32 probabilities built in place.

The model is right about the true class on most rows; 10% of the given labels are
flipped to a random other class.
"""

from __future__ import annotations

import numpy as np


def noisy_dataset(
    n_samples: int, n_classes: int, *, noise_rate: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(labels, pred_probs, true_labels)``; pred_probs is (N, K) float32.

    Rows are filled block by block so that making the data needs no N×K temporaries
    (peak memory measured after this call is the scorer's own).
    """
    rng = np.random.default_rng(seed)
    true = rng.integers(n_classes, size=n_samples)
    labels = true.copy()
    flip = rng.random(n_samples) < noise_rate
    labels[flip] = (true[flip] + rng.integers(1, n_classes, size=flip.sum())) % n_classes
    probs = np.empty((n_samples, n_classes), dtype=np.float32)
    step = max(1, 2**22 // n_classes)
    for start in range(0, n_samples, step):
        stop = min(start + step, n_samples)
        block = rng.standard_normal((stop - start, n_classes), dtype=np.float32)
        block[np.arange(stop - start), true[start:stop]] += 4.0
        block -= block.max(axis=1, keepdims=True)
        np.exp(block, out=block)
        block /= block.sum(axis=1, keepdims=True)
        probs[start:stop] = block
    return labels, probs, true
