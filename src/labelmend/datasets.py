"""Demo data that ships with the dependencies: scikit-learn's digits with injected noise.

No download: the 1,797 8×8 digit images come inside scikit-learn. Out-of-fold
predicted probabilities come from :mod:`labelmend.fitting`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from labelmend._validation import RandomState, check_random_state
from labelmend.errors import InputError
from labelmend.fitting import out_of_fold_probs


@dataclass(frozen=True)
class NoisyDataset:
    """A labelled dataset with known noise.

    Attributes
    ----------
    features : (N, D) float
    labels : (N,) int, the noisy given labels
    true_labels : (N,) int
    classes : list of K class names
    pred_probs : (N, K) float, out-of-fold probabilities of a model trained on ``labels``
    """

    features: npt.NDArray[np.float64]
    labels: npt.NDArray[np.intp]
    true_labels: npt.NDArray[np.intp]
    classes: list[str]
    pred_probs: npt.NDArray[np.float64]

    @property
    def is_error(self) -> npt.NDArray[np.bool_]:
        """(N,) True where the given label is wrong."""
        return self.labels != self.true_labels


def flip_labels(
    labels: npt.NDArray[np.intp],
    n_classes: int,
    noise_rate: float,
    *,
    random_state: RandomState = None,
) -> npt.NDArray[np.intp]:
    """Relabel a ``noise_rate`` fraction of samples, chosen at random, as another random class.

    >>> flip_labels(np.zeros(10, dtype=int), 2, 0.3, random_state=0).sum()
    np.int64(3)
    """
    if not 0.0 <= noise_rate < 1.0:
        raise InputError(f"noise_rate must lie in [0, 1). Got {noise_rate}.")
    rng = check_random_state(random_state)
    noisy = labels.copy()
    flip = rng.choice(labels.size, size=round(noise_rate * labels.size), replace=False)
    noisy[flip] = (labels[flip] + rng.integers(1, n_classes, size=flip.size)) % n_classes
    return noisy


def noisy_digits(*, noise_rate: float = 0.1, random_state: RandomState = 0) -> NoisyDataset:
    """scikit-learn's digits (1,797 × 64) with ``noise_rate`` of labels flipped at random.

    >>> data = noisy_digits(noise_rate=0.1, random_state=0)
    >>> data.pred_probs.shape, int(data.is_error.sum())
    ((1797, 10), 180)
    """
    from sklearn.datasets import load_digits

    rng = check_random_state(random_state)
    digits = load_digits()
    true = digits.target.astype(np.intp)
    labels = flip_labels(true, 10, noise_rate, random_state=rng)
    probs = out_of_fold_probs(digits.data, labels, random_state=rng)
    classes = [str(d) for d in range(10)]
    return NoisyDataset(digits.data.astype(np.float64), labels, true, classes, probs)
