"""labelmend.repair.networks: any nn.Module trained from a DataLoader (CPU, seconds)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import require_module

torch = require_module("torch")

from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from labelmend.errors import InputError  # noqa: E402
from labelmend.repair import set_torch_threads  # noqa: E402
from labelmend.repair.networks import (  # noqa: E402
    NetworkClassifier,
    network_harm,
    output_layer,
    unlearn_network,
)

set_torch_threads(1)


def mlp(seed: int) -> nn.Module:
    generator = torch.Generator().manual_seed(seed)
    module = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3))
    with torch.no_grad():
        for param in module.parameters():
            param.copy_(torch.rand(param.shape, generator=generator) - 0.5)
    return module


@pytest.fixture(scope="module")
def blobs():
    """300 training rows (30 flipped labels), 300 clean validation rows, as tensors."""
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=3.0, size=(3, 4))
    true = rng.integers(3, size=600)
    features = torch.tensor(centres[true] + rng.normal(size=(600, 4)), dtype=torch.float32)
    labels = true.copy()
    flipped = rng.choice(300, size=30, replace=False)
    labels[flipped] = (labels[flipped] + 1) % 3
    train = TensorDataset(features[:300], torch.as_tensor(labels[:300]))
    network = NetworkClassifier(mlp(0), n_classes=3, epochs=40, learning_rate=1e-2)
    network.fit(
        DataLoader(train, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(0))
    )
    return {
        "network": network,
        "train": train,
        "is_error": labels[:300] != true[:300],
        "val": (features[300:], torch.as_tensor(true[300:])),
    }


def ordered(dataset):
    return DataLoader(dataset, batch_size=64)


def test_minibatch_training_learns_and_refitting_retrains_from_scratch(blobs):
    network = blobs["network"]
    val_x, val_y = blobs["val"]
    assert np.mean(network.predict(val_x) == val_y.numpy()) > 0.9
    again = network.clone().fit(
        DataLoader(
            blobs["train"], batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(0)
        )
    )
    np.testing.assert_allclose(again.predict_proba(val_x), network.predict_proba(val_x), atol=1e-6)


@pytest.mark.parametrize("method", ["fisher_votes", "ggn_votes", "default"])
def test_last_layer_scores_find_the_flipped_rows(blobs, method):
    network = blobs["network"]
    val_x, val_y = blobs["val"]
    wrong = network.predict(val_x) != val_y.numpy()
    failures = ordered(TensorDataset(val_x[wrong], val_y[wrong]))
    scores = network_harm(network, ordered(blobs["train"]), failures, method=method)
    assert scores.shape == (300,)
    top = np.argsort(-scores)[:30]
    assert blobs["is_error"][top].mean() >= 0.6  # 10% of the rows are flipped


@pytest.mark.parametrize("method", ["last_layer", "finetune"])
def test_unlearning_forgets_the_removed_labels_and_leaves_the_original(blobs, method):
    network = blobs["network"]
    features, labels = blobs["train"].tensors
    remove = blobs["is_error"]
    retained = DataLoader(TensorDataset(features[~remove], labels[~remove]), batch_size=32)
    before = network.predict_proba(features)
    repaired = unlearn_network(network, ordered(blobs["train"]), retained, remove, method=method)
    rows = np.flatnonzero(remove)
    given = labels.numpy()[rows]
    after = repaired.predict_proba(features)[rows, given].mean()
    assert after < before[rows, given].mean() - 0.05
    np.testing.assert_allclose(network.predict_proba(features), before)


def test_the_output_layer_view_is_the_body_s_features_and_the_last_layer(blobs):
    network = blobs["network"]
    inputs, labels = blobs["train"].tensors
    val_x, val_y = blobs["val"]
    head, [(features, given), (val_features, truth)] = output_layer(
        network, ordered(blobs["train"]), ordered(TensorDataset(val_x, val_y))
    )
    body = network.module[:-1]
    with torch.no_grad():
        np.testing.assert_allclose(features, body(inputs).double().numpy(), rtol=1e-6)
    assert given.tolist() == labels.tolist()
    assert truth.tolist() == val_y.tolist()
    # The head over the body's features is the network: the same predictions.
    assert head.predict(val_features).tolist() == network.predict(val_x).tolist()
    assert head.predict(features).tolist() == network.predict(inputs).tolist()


def test_a_device_that_is_not_here_is_refused_before_anything_moves():
    module = mlp(0)
    with pytest.raises(InputError, match=r"Device 'cuda:99' is not available: this machine has"):
        NetworkClassifier(module, n_classes=3, device="cuda:99")
    with pytest.raises(InputError, match="Unknown device 'gpu'"):
        NetworkClassifier(module, n_classes=3, device="gpu")
    assert NetworkClassifier(module, n_classes=3, device="cpu").device == torch.device("cpu")


def test_an_output_layer_of_the_wrong_size_is_refused():
    with pytest.raises(InputError, match="output layer has 3 outputs but there are 10 classes"):
        NetworkClassifier(mlp(0), n_classes=10)


@pytest.mark.parametrize(
    ("dataset", "message"),
    [
        (
            TensorDataset(torch.zeros(8, 4), torch.zeros(8, 1, dtype=torch.long)),
            r"labels of shape \(B,\)",
        ),
        (
            TensorDataset(torch.zeros(8, 5), torch.zeros(8, dtype=torch.long)),
            r"cannot take inputs of shape \(4, 5\)",
        ),
        (
            TensorDataset(torch.zeros(8, 4), torch.zeros(8), torch.zeros(8)),
            r"\(inputs, labels\) pairs",
        ),
        (
            TensorDataset(
                torch.zeros(8, 4).index_fill_(0, torch.tensor([6]), np.nan),
                torch.zeros(8, dtype=torch.long),
            ),
            r"NaN or infinite values in 1 of 4 rows",
        ),
        (
            TensorDataset(torch.zeros(8, 4), torch.tensor([0, 1, 2, 0, 3, 0, -1, 0])),
            r"labels outside \[0, 3\) .* found \[-1, 3\]",
        ),
        (  # were truncated to 0, 1, 1, 2 and trained on without a word
            TensorDataset(torch.zeros(8, 4), torch.tensor([0.0, 1.5, 1.0, 2.5] * 2)),
            r"^The DataLoader yields labels that are not whole numbers: found \[1\.5, 2\.5\] "
            r"in a batch; labels are class indices in \[0, 3\)\.$",
        ),
        (  # fit trained on nothing and returned; output_layer raised torch.cat's ValueError
            TensorDataset(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long)),
            r"^The DataLoader yields no batches; expected \(inputs, labels\) pairs\.$",
        ),
    ],
)
def test_a_loader_with_the_wrong_shapes_is_one_clear_error(dataset, message):
    network = NetworkClassifier(mlp(0), n_classes=3, epochs=1)
    with pytest.raises(InputError, match=message):
        network.fit(DataLoader(dataset, batch_size=4))
    with pytest.raises(InputError, match=message):
        output_layer(network, DataLoader(dataset, batch_size=4))


def test_whole_float_labels_are_class_indices():
    features = torch.tensor([[0.0, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, 0]] * 4)
    as_floats = TensorDataset(features, torch.tensor([0.0, 1.0, 2.0] * 4))
    network = NetworkClassifier(mlp(0), n_classes=3, epochs=1)
    _, [(_, labels)] = output_layer(network, DataLoader(as_floats, batch_size=5))
    assert labels.tolist() == [0, 1, 2] * 4


def test_the_hand_written_last_layer_curvature_is_curvlinops_ggn(blobs):
    """Our Gauss–Newton of the output layer (torch.func, float64) against a well-kept
    library's (curvlinops, on the float32 network): the curvature every last-layer score
    and benchmarks/repair_curvature.py's "ours" rows rest on."""
    curvlinops = require_module("curvlinops")
    network = blobs["network"]
    loader = ordered(blobs["train"])
    features, labels = network.penultimate(loader)
    ours = network.head().curvature(features, labels, "ggn")  # (P, P), Σ over rows
    last = network.module[-1]
    ggn = curvlinops.GGNLinearOperator(
        network.module, nn.CrossEntropyLoss(reduction="sum"), [last.weight, last.bias], loader
    )
    theirs = ggn @ torch.eye(ours.shape[0])
    np.testing.assert_allclose(ours.numpy(), theirs.double().numpy(), rtol=1e-3, atol=1e-4)
