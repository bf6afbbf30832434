"""Any torch network trained with a DataLoader: minibatch training, identification and
unlearning through its last layer.

:class:`NetworkClassifier` wraps an ``nn.Module`` whose last ``nn.Linear`` maps
penultimate features (B, H) to logits (B, K). Identification and unlearning reuse the
head machinery on that layer: the penultimate features of every training row are a
fixed (N, H) matrix, the last layer is a :class:`~labelmend.repair.models.TorchClassifier`
over it, and its gradients and curvature (a last-layer Laplace / Gauss–Newton, exact for
that layer) score rows. ``unlearn_network`` then either moves only the last
layer (``last_layer``: no pass over the body after the features are read) or fine-tunes
the whole network on the retained rows for a few epochs (``finetune``).

Glossary: N training rows, K classes, H penultimate width; a loader yields
``(inputs, labels)`` batches, labels (B,) ints in [0, K).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from labelmend._validation import check_choice
from labelmend.errors import InputError
from labelmend.fitting import DEFAULT_FOLDS
from labelmend.repair.identify import XY, find_harmful_examples, rank_average
from labelmend.repair.models import TorchClassifier, resolve_device
from labelmend.repair.unlearning import unlearn

#: Whole-network fine-tuning epochs of ``unlearn_network(method="finetune")``.
FINETUNE_EPOCHS = 2
#: ``network_harm``'s default: the rank average of these scores. The votes use the output
#: layer's exact Gauss–Newton matrix, not the heads' diagonal Fisher: identification AUC
#: 0.986 ± 0.006 against 0.971 ± 0.016 on the digits CNN, 0.975 against 0.963 on the MLP
#: (benchmarks/repair_curvature.py, 5 seeds; docs/repair.md).
NETWORK_DEFAULT = ("p_error", "ggn_votes")
#: Methods of :func:`unlearn_network`.
NETWORK_UNLEARN_METHODS = ("last_layer", "finetune", "retrain")


def last_linear(module: nn.Module) -> nn.Linear:
    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise InputError("The network needs an nn.Linear output layer (none found).")
    return linears[-1]


class NetworkClassifier:
    """An ``nn.Module`` classifier trained by minibatches from a DataLoader.

    Parameters
    ----------
    module : nn.Module
        Maps an input batch to logits (B, K); its last ``nn.Linear`` is the output layer.
    n_classes : int
        K.
    epochs, learning_rate, weight_decay : minibatch training with torch's Adam
    device : str or torch.device
        ``cpu`` (default), ``cuda``, ``cuda:N`` or ``mps``; an :class:`InputError` when it
        is not available here. The module moves there once; each batch is moved there as
        it is read (a no-op for data already on it) and only results come back.

    :meth:`fit` always starts from the parameters the module had when wrapped, so
    refitting is retraining from scratch.

    Examples
    --------
    >>> from torch.utils.data import DataLoader, TensorDataset
    >>> X = torch.tensor([[0.0, 1.0], [1.0, 0.0]] * 20); y = torch.tensor([1, 0] * 20)
    >>> _ = torch.manual_seed(0)  # the module's initial parameters
    >>> net = NetworkClassifier(nn.Sequential(nn.Linear(2, 2)), n_classes=2, epochs=30)
    >>> net.fit(DataLoader(TensorDataset(X, y), batch_size=8)).predict(X[:2]).tolist()
    [1, 0]
    """

    def __init__(
        self,
        module: nn.Module,
        *,
        n_classes: int,
        epochs: int = 20,
        learning_rate: float = 1e-2,
        weight_decay: float = 1e-4,
        device: str | torch.device = "cpu",
    ) -> None:
        out = last_linear(module).out_features
        if out != n_classes:
            raise InputError(
                f"The network's output layer has {out} outputs but there are {n_classes} classes."
            )
        self.device = resolve_device(device)
        self.module = module.to(self.device)
        self.n_classes = n_classes
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.initial_state = copy.deepcopy(module.state_dict())

    def clone(self) -> NetworkClassifier:
        """An independent copy (current parameters; the same initial state)."""
        twin = copy.copy(self)
        twin.module = copy.deepcopy(self.module)
        return twin

    def _batches(self, loader: Iterable[Any]) -> Iterable[tuple[torch.Tensor, torch.Tensor]]:
        empty = True
        for batch in loader:
            empty = False
            if not isinstance(batch, list | tuple) or len(batch) != 2:
                size = f" of {len(batch)}" if hasattr(batch, "__len__") else ""
                raise InputError(
                    f"The DataLoader must yield (inputs, labels) pairs; got {type(batch).__name__}"
                    f"{size}."
                )
            inputs, labels = batch
            labels = torch.as_tensor(labels)
            if labels.ndim != 1 or len(labels) != len(inputs):
                raise InputError(
                    f"Each batch needs labels of shape (B,) for B inputs; got labels "
                    f"{tuple(labels.shape)} for inputs {tuple(inputs.shape)}."
                )
            if labels.is_floating_point() and bool((labels != labels.round()).any()):
                raise InputError(_fractional_labels(labels, self.n_classes))
            inputs = inputs.to(self.device)
            labels = labels.to(self.device, dtype=torch.int64)
            outside = (labels < 0) | (labels >= self.n_classes)
            not_finite = ~torch.isfinite(inputs.reshape(len(inputs), -1)).all(dim=1)
            if bool(outside.any() | not_finite.any()):  # one sync per batch
                raise InputError(_bad_batch(labels, outside, not_finite, self.n_classes))
            yield inputs, labels
        if empty:  # training on nothing, or no rows to score, is a mistake upstream
            raise InputError("The DataLoader yields no batches; expected (inputs, labels) pairs.")

    def _logits(self, inputs: torch.Tensor) -> torch.Tensor:
        try:
            logits = self.module(inputs)
        except RuntimeError as exc:
            first_line = (str(exc).strip().splitlines() or [""])[0]
            raise InputError(
                f"The network cannot take inputs of shape {tuple(inputs.shape)}: {first_line}"
            ) from exc
        if logits.ndim != 2 or logits.shape[1] != self.n_classes:
            raise InputError(
                f"The network must output (B, {self.n_classes}) logits; got "
                f"{tuple(logits.shape)} for inputs {tuple(inputs.shape)}."
            )
        return logits

    def train_epochs(self, loader: Iterable[Any], epochs: int) -> NetworkClassifier:
        """Continue training for ``epochs`` passes over ``loader``. Returns self."""
        optimizer = torch.optim.Adam(
            self.module.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
        )
        self.module.train()
        for _ in range(epochs):
            for inputs, labels in self._batches(loader):
                optimizer.zero_grad()
                nn.functional.cross_entropy(self._logits(inputs), labels).backward()
                optimizer.step()
        self.module.eval()
        return self

    def fit(self, loader: Iterable[Any]) -> NetworkClassifier:
        """Train from the initial parameters for ``epochs``. Returns self."""
        self.module.load_state_dict(self.initial_state)
        return self.train_epochs(loader, self.epochs)

    def predict_proba(self, inputs: Any) -> npt.NDArray[np.float64]:
        """(N, K) class probabilities of a tensor of inputs or a loader's inputs."""
        with torch.no_grad():
            if isinstance(inputs, torch.Tensor):
                return torch.softmax(self._logits(inputs.to(self.device)), 1).double().cpu().numpy()
            parts = [torch.softmax(self._logits(x), 1) for x, _ in self._batches(inputs)]
        return torch.cat(parts).double().cpu().numpy()

    def predict(self, inputs: Any) -> npt.NDArray[np.intp]:
        """(N,) predicted classes."""
        return self.predict_proba(inputs).argmax(axis=1).astype(np.intp)

    def penultimate(self, loader: Iterable[Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, H) float64 inputs of the output layer and (N,) labels, in loader order."""
        captured: list[torch.Tensor] = []
        layer = last_linear(self.module)
        hook = layer.register_forward_hook(lambda _m, args, _out: captured.append(args[0]))
        labels = []
        try:
            with torch.no_grad():
                for inputs, batch_labels in self._batches(loader):
                    self._logits(inputs)
                    labels.append(batch_labels)
        finally:
            hook.remove()
        return torch.cat(captured).double().cpu(), torch.cat(labels).cpu()

    def head(self) -> TorchClassifier:
        """The output layer as a :class:`TorchClassifier` over penultimate features, its
        objective's weight decay matching Adam's per-step L2 (``weight_decay``)."""
        layer = copy.deepcopy(last_linear(self.module)).double().cpu()
        return TorchClassifier(layer, n_classes=self.n_classes, weight_decay=self.weight_decay)

    def set_head(self, head: TorchClassifier) -> NetworkClassifier:
        """Copy a head's parameters into the output layer. Returns self."""
        layer = last_linear(self.module)
        with torch.no_grad():
            for name, param in layer.named_parameters():
                param.copy_(dict(head.module.named_parameters())[name].to(param))
        return self


def _fractional_labels(labels: torch.Tensor, n_classes: int) -> str:
    """The one-line message for float labels that are not whole numbers (NaN among them),
    which a cast to integers would silently truncate."""
    found = sorted({float(v) for v in labels[labels != labels.round()].cpu()})[:5]
    return (
        f"The DataLoader yields labels that are not whole numbers: found {found} in a batch; "
        f"labels are class indices in [0, {n_classes})."
    )


def _bad_batch(
    labels: torch.Tensor, outside: torch.Tensor, not_finite: torch.Tensor, n_classes: int
) -> str:
    """The one-line message for a batch with labels outside [0, K) or non-finite inputs."""
    if outside.any():
        found = sorted({int(v) for v in labels[outside].cpu()})[:5]
        return (
            f"The DataLoader yields labels outside [0, {n_classes}) for the network's "
            f"{n_classes} classes; found {found} in a batch."
        )
    return (
        f"The DataLoader yields inputs with NaN or infinite values in {int(not_finite.sum())} "
        f"of {len(labels)} rows of a batch."
    )


class _FoldNetwork:
    """A fresh copy of a network that fits and predicts on flattened numpy rows (for
    :func:`labelmend.fitting.out_of_fold_probs`)."""

    def __init__(
        self, network: NetworkClassifier, shape: tuple[int, ...], batch_size: int, seed: int
    ) -> None:
        self.network = network.clone()
        self.shape = shape
        self.batch_size = batch_size
        self.seed = seed

    def _inputs(self, rows: npt.NDArray[np.float64]) -> torch.Tensor:
        return torch.as_tensor(rows, dtype=torch.float32).reshape(-1, *self.shape)

    def fit(self, rows: npt.NDArray[np.float64], labels: npt.NDArray[np.intp]) -> _FoldNetwork:
        from torch.utils.data import DataLoader, TensorDataset

        device = self.network.device  # on the device once: no per-batch host copies
        dataset = TensorDataset(self._inputs(rows).to(device), torch.as_tensor(labels).to(device))
        generator = torch.Generator().manual_seed(self.seed)
        self.network.fit(
            DataLoader(dataset, batch_size=self.batch_size, shuffle=True, generator=generator)
        )
        return self

    def predict_proba(self, rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return self.network.predict_proba(self._inputs(rows))


def network_out_of_fold_probs(
    network: NetworkClassifier,
    inputs: torch.Tensor,
    labels: Any,
    *,
    n_folds: int = DEFAULT_FOLDS,
    batch_size: int = 64,
    random_state: int = 0,
) -> npt.NDArray[np.float64]:
    """(N, K) out-of-fold probabilities of copies of ``network`` trained from its initial
    parameters without each fold — :func:`labelmend.fitting.out_of_fold_probs` (stratified)
    with this network; inputs (N, ...) any shape the network takes.

    Examples
    --------
    >>> X = torch.tensor([[0.0, 1.0], [1.0, 0.0]] * 10); y = torch.tensor([1, 0] * 10)
    >>> _ = torch.manual_seed(0)  # the module's initial parameters
    >>> net = NetworkClassifier(nn.Sequential(nn.Linear(2, 2)), n_classes=2, epochs=20)
    >>> probs = network_out_of_fold_probs(net, X, y, n_folds=2)  # net itself is not trained
    >>> probs.shape, bool(np.allclose(probs.sum(axis=1), 1.0)), probs.argmax(axis=1)[:2].tolist()
    ((20, 2), True, [1, 0])
    """
    from labelmend import fitting

    rows = inputs.reshape(len(inputs), -1).double().numpy()
    shape = tuple(inputs.shape[1:])
    return fitting.out_of_fold_probs(
        rows,
        np.asarray(labels),
        model=lambda: _FoldNetwork(network, shape, batch_size, random_state),
        n_folds=n_folds,
        n_classes=network.n_classes,
        random_state=random_state,
    )


def output_layer(
    network: NetworkClassifier, *loaders: Iterable[Any]
) -> tuple[TorchClassifier, list[XY]]:
    """The network seen through its output layer: that layer as a head, and each
    loader's rows as (penultimate features (N, H) float64, labels (N,)) numpy arrays in
    loader order (the forward passes on the network's device).

    What :func:`network_harm` and :func:`unlearn_network` work on, and how a network's
    failures are typed (:func:`~labelmend.repair.failures.analyze_failures`: the
    ``features`` embedding is then the penultimate features, fine-tuning moves the
    output layer) or repaired by the heads' pipeline with the body frozen.

    Examples
    --------
    >>> from torch.utils.data import DataLoader, TensorDataset
    >>> net = NetworkClassifier(nn.Sequential(nn.Linear(2, 5), nn.Tanh(), nn.Linear(5, 2)),
    ...                         n_classes=2)
    >>> rows = DataLoader(TensorDataset(torch.zeros(7, 2), torch.zeros(7, dtype=torch.long)))
    >>> head, [(features, labels)] = output_layer(net, rows)
    >>> features.shape, labels.shape, head.n_params  # 5 × 2 weights + 2 biases
    ((7, 5), (7,), 12)
    """
    sets: list[XY] = []
    for loader in loaders:
        features, labels = network.penultimate(loader)
        sets.append((features.numpy(), labels.numpy()))
    return network.head(), sets


def network_harm(
    network: NetworkClassifier,
    train: Iterable[Any],
    failures: Iterable[Any],
    *,
    pred_probs: npt.NDArray[np.float64] | None = None,
    method: str = "default",
) -> npt.NDArray[np.float64]:
    """(N,) harm score of each training row (loader order), from the output layer.

    ``train`` must iterate in a fixed order (``shuffle=False``). Methods as in
    :func:`~labelmend.repair.identify.find_harmful_examples`, on the last layer over
    penultimate features, except ``default``: the rank average of ``p_error`` and
    ``ggn_votes`` (:data:`NETWORK_DEFAULT`). ``default`` and ``p_error`` take
    ``pred_probs`` (out-of-fold probabilities, e.g. from :func:`network_out_of_fold_probs`;
    otherwise copies of the output layer are trained on the penultimate features).

    Examples
    --------
    >>> from torch.utils.data import DataLoader, TensorDataset
    >>> X = torch.tensor([[0.0, 1.0], [1.0, 0.0]] * 10); y = torch.tensor([1, 0] * 10)
    >>> y[0] = 0  # one wrong label
    >>> _ = torch.manual_seed(0)  # the module's initial parameters
    >>> net = NetworkClassifier(nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2)),
    ...                         n_classes=2, epochs=20)
    >>> train = DataLoader(TensorDataset(X, y), batch_size=8)  # a fixed order
    >>> net = net.fit(train)
    >>> probs = network_out_of_fold_probs(net, X, y, n_folds=2)
    >>> failures = DataLoader(TensorDataset(X[:1], torch.tensor([1])))  # row 0, truly 1
    >>> scores = network_harm(net, train, failures, pred_probs=probs)
    >>> scores.shape, int(scores.argmax())
    ((20,), 0)
    """
    head, (rows, failing) = output_layer(network, train, failures)
    if method != "default":
        return find_harmful_examples(head, rows, failing, method=method, pred_probs=pred_probs)
    return rank_average(
        *(
            find_harmful_examples(head, rows, failing, method=part, pred_probs=pred_probs)
            for part in NETWORK_DEFAULT
        )
    )


def unlearn_network(
    network: NetworkClassifier,
    train: Iterable[Any],
    retained: Iterable[Any],
    remove: Any,
    *,
    method: str = "finetune",
) -> NetworkClassifier:
    """A copy of ``network`` that has forgotten the ``remove`` rows of ``train``.

    Parameters
    ----------
    network : trained on ``train``; left unchanged
    train : loader over the training rows in a fixed order (``remove`` indexes it)
    retained : loader over the training rows without the removed ones (shuffled is fine)
    remove : (k,) row indices or (N,) boolean mask
    method : ``last_layer`` — the output layer alone, refitted on the retained rows'
        penultimate features by warm-started L-BFGS (the heads' ``finetune``; a Newton
        step with the layer's Gauss–Newton curvature overshot: Adam leaves the layer far
        from the minimum of the penalised objective, 0.83 test accuracy on the CNN
        benchmark against 0.93 before); ``finetune`` — :data:`FINETUNE_EPOCHS` epochs of
        the whole network on ``retained``; ``retrain`` — from scratch on ``retained``

    Examples
    --------
    >>> from torch.utils.data import DataLoader, TensorDataset
    >>> X = torch.tensor([[0.0, 1.0], [1.0, 0.0]] * 10); y = torch.tensor([1, 0] * 10)
    >>> y[:3] = 0  # three wrong labels
    >>> rows = DataLoader(TensorDataset(X, y), batch_size=8)
    >>> _ = torch.manual_seed(0)  # the module's initial parameters
    >>> net = NetworkClassifier(nn.Sequential(nn.Linear(2, 2)), n_classes=2, epochs=20).fit(rows)
    >>> kept = DataLoader(TensorDataset(X[3:], y[3:]), batch_size=8, shuffle=True)
    >>> unlearn_network(net, rows, kept, [0, 1, 2], method="last_layer").predict(X[:2]).tolist()
    [1, 0]
    """
    check_choice("method", method, NETWORK_UNLEARN_METHODS)
    copy_ = network.clone()
    if method == "retrain":
        return copy_.fit(retained)
    if method == "finetune":
        return copy_.train_epochs(retained, FINETUNE_EPOCHS)
    head, (rows,) = output_layer(network, train)
    return copy_.set_head(unlearn(head, rows, remove))
