"""A study on a Dask cluster gives exactly the local result (same code path)."""

from __future__ import annotations

import numpy as np
import pytest

from labelmend.simulator import AnnotatorModel
from labelmend.simulator.study import run_study
from tests.conftest import require_module

pytestmark = pytest.mark.slow


def test_study_on_a_local_dask_cluster_matches_local_processes():
    distributed = require_module("distributed")
    rng = np.random.default_rng(0)
    n, k = 300, 4
    truth = rng.integers(k, size=n)
    probs = np.full((n, k), 0.1)
    probs[np.arange(n), truth] = 0.7
    model = AnnotatorModel.from_counts(rng.multinomial(40, probs))
    pred_probs = 0.6 * probs + 0.4 * rng.dirichlet(np.ones(k), size=n)
    options = {
        "pred_probs": pred_probs,
        "selectors": ["random", "oracle", "default"],
        "seeds": 3,
        "budget": 0.2,
        "batch_sizes": [None, 20],
    }
    seen = []
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        on_dask = run_study(
            model,
            scheduler=cluster.scheduler_address,
            progress=lambda done, total: seen.append((done, total)),
            **options,
        )
    local = run_study(model, n_workers=2, **options)
    assert seen[-1] == (18, 18)
    assert on_dask.results.equals(local.results)
    assert on_dask.runs.equals(local.runs)
