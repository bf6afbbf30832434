"""The noise model's own clipping equals cleanlab's (whose helper is private there)."""

from __future__ import annotations

import numpy as np
from cleanlab.internal.util import clip_noise_rates

from labelmend.cleaner.noise import _clip_noise_rates


def test_clip_noise_rates_equals_cleanlabs():
    rng = np.random.default_rng(0)
    for k in (2, 3, 10):
        for _ in range(20):
            matrix = rng.normal(0.2, 0.6, size=(k, k))
            np.testing.assert_allclose(_clip_noise_rates(matrix), clip_noise_rates(matrix.copy()))
