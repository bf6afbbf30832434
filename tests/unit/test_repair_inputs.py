"""repair_model's arguments are checked before any model is trained."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import require_module

require_module("torch")

from labelmend.errors import InputError  # noqa: E402
from labelmend.repair import relabel_queue, repair_model  # noqa: E402

RNG = np.random.default_rng(0)
X = np.r_[RNG.normal(0, 1, (40, 2)), RNG.normal(3, 1, (40, 2))]
Y = np.r_[np.zeros(40, int), np.ones(40, int)]


@pytest.mark.parametrize(
    ("train", "options", "message"),
    [
        # KeyError: 1 (the labels were looked up as train[1] first).
        ({"X": X, "y": Y}, {}, r"^train must be a pair \(features, labels\)\. Got dict\.$"),
        # TypeError ("'<' not supported between instances of 'float' and 'str'"), after
        # the model was trained.
        (
            (X, Y),
            {"heldout_fraction": "0.3"},
            r"^heldout_fraction must lie in \(0, 1\)\. Got '0\.3'\.$",
        ),
        # The same, and only after the training examples had been scored.
        ((X, Y), {"shrink": "1"}, r"^shrink must lie in \(0, 2\]\. Got '1'\.$"),
        ((X, Y), {"shrink": 3.0}, r"^shrink must lie in \(0, 2\]\. Got 3\.0\.$"),
    ],
)
def test_arguments_are_refused_before_any_stage_starts(train, options, message):
    stages: list[str] = []
    with pytest.raises(InputError, match=message):
        repair_model(
            train, (X, Y), progress=lambda stage, done, total: stages.append(stage), **options
        )
    assert stages == []


def test_relabel_queue_refuses_scores_that_are_not_numbers():
    # numpy's ValueError ("could not convert string to float: 'a'").
    with pytest.raises(
        InputError, match=r"^scores must be numbers of shape \(N,\)\. Got dtype <U1\.$"
    ) as raised:
        relabel_queue(["a", "b", "c"], [0, 1, 1])
    assert raised.value.inputs == ("scores",)
