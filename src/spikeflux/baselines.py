r"""Non-spiking baselines for a per-step classification task (the ADL task's context).

Three models on exactly the splits the spiking networks use (``spikeflux.tasks.adl_splits``):

- **linear**: multinomial logistic regression (scikit-learn) on the features :math:`\phi[t]`;
- **boosting**: gradient-boosted trees (scikit-learn ``HistGradientBoostingClassifier``) on
  :math:`\phi[t]`;
- **GRU**: a one-layer gated recurrent unit (torch) reading the spikes :math:`x[t]` directly,
  trained like the SNNs (streams of ``window``-step windows, the state carried and detached
  between batches, per-step NLL, Adam, early stopping on the validation loss).

The features are the current sensor state and a short history: per sensor channel
:math:`i` (the bias channel left out) the state :math:`x_i[t]` and exponential moving
averages

.. math::

    z^\tau_i[t] = a_\tau z^\tau_i[t-1] + (1 - a_\tau) x_i[t], \qquad a_\tau = e^{-1/\tau},
    \qquad z^\tau_i[-1] = 0,

for every :math:`\tau` in ``taus`` (in steps; the ADL models' synaptic time constant is 10
steps). Like the SNN's state, every split starts from zero history. The tree and linear
models are trained on every ``stride``-th training step (neighbouring seconds are nearly
identical); scores always use every test step.
"""

from __future__ import annotations

import copy
import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .training import arrange_streams, balanced_accuracy_ci, series_streams

#: history time constants of the features, in steps
HISTORY_TAUS = (10.0, 100.0)


def _check_xy(name: str, x, y=None) -> None:
    if not isinstance(x, np.ndarray) or x.ndim != 2:
        raise ValueError(f"{name}: x must be a 2-D array (steps, channels), got {getattr(x, 'shape', type(x))}")
    if y is not None and (not isinstance(y, np.ndarray) or y.shape != (len(x),)):
        raise ValueError(f"{name}: y must be a 1-D array of {len(x)} labels, got {getattr(y, 'shape', type(y))}")


def history_features(x: np.ndarray, taus=HISTORY_TAUS, bias_channel: int | None = 0) -> np.ndarray:
    r""":math:`\phi[t] = (x_i[t], z^{\tau_1}_i[t], \dots)` over the sensor channels, ``(T, n * (1 + len(taus)))``."""
    from scipy.signal import lfilter

    _check_xy("history_features", x)
    if any(not tau > 0 for tau in taus):
        raise ValueError(f"taus must be positive, got {taus}")
    keep = [i for i in range(x.shape[1]) if i != bias_channel]
    s = x[:, keep].astype(np.float64)
    parts = [s]
    for tau in taus:
        a = math.exp(-1.0 / tau)
        parts.append(lfilter([1.0 - a], [1.0, -a], s, axis=0))  # z[t] = a z[t-1] + (1 - a) x[t]
    return np.concatenate(parts, 1).astype(np.float32)


def fit_linear(x: np.ndarray, y: np.ndarray, *, seed: int = 0, stride: int = 1, taus=HISTORY_TAUS):
    """Logistic regression (standardised features) on every ``stride``-th step; a scikit-learn pipeline."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    _check_xy("fit_linear", x, y)
    phi = history_features(x, taus)[::stride]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, random_state=seed))
    return model.fit(phi, y[::stride])


def fit_boosting(x: np.ndarray, y: np.ndarray, *, seed: int = 0, stride: int = 1, taus=HISTORY_TAUS,
                 max_iter: int = 100, l2_regularization: float = 1.0):
    """``HistGradientBoostingClassifier`` (``max_iter`` rounds, no early stopping) on every ``stride``-th step.

    ``l2_regularization`` = 1: without it the Newton steps of the rare ADL classes diverge (on
    three days of ADL the training accuracy fell from 0.98 after 20 rounds to 0.54 after 100).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    _check_xy("fit_boosting", x, y)
    phi = history_features(x, taus)[::stride]
    model = HistGradientBoostingClassifier(max_iter=max_iter, early_stopping=False, l2_regularization=l2_regularization,
                                           random_state=seed)
    return model.fit(phi, y[::stride])


def predict_features(model, x: np.ndarray, taus=HISTORY_TAUS) -> np.ndarray:
    """Class predictions of a feature model for every step of ``x`` (history from zero at step 0)."""
    return model.predict(history_features(x, taus))


class GRUClassifier(nn.Module):
    r"""One GRU layer and a linear readout: :math:`h[t] = \mathrm{GRU}(x[t], h[t-1])`, logits :math:`W h[t] + b`.

    ``x`` ``(batch, T, n_in)`` -> logits ``(batch, T, n_out)`` and the last state ``(1, batch, hidden)``.
    """

    def __init__(self, n_in: int, hidden: int, n_out: int, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.gru = nn.GRU(n_in, hidden, batch_first=True)
        self.readout = nn.Linear(hidden, n_out)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None):
        out, h = self.gru(x, h)
        return self.readout(out), h

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def fit_gru(train_xy, val_xy, n_classes: int, *, hidden: int = 24, lr: float = 1e-2, batch_size: int = 32,
            window: int = 900, max_epochs: int = 10, patience: int = 3, seed: int = 0) -> tuple[GRUClassifier, dict]:
    """Train a :class:`GRUClassifier` with the SNNs' protocol (:func:`spikeflux.training.train`).

    Returns the network (best validation weights restored) and a history dict
    (``train_loss``, ``val_loss``, ``epoch_seconds``, ``best_epoch``).
    """
    for name, xy in (("train", train_xy), ("val", val_xy)):
        _check_xy(f"fit_gru {name}", *xy[:2])
    torch.manual_seed(seed)
    xb, yb, _ = arrange_streams(*train_xy[:2], window, batch_size)
    vxb, vyb, _ = arrange_streams(*val_xy[:2], window, batch_size)
    net = GRUClassifier(xb.shape[-1], hidden, n_classes, seed=seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    hist = dict(train_loss=[], val_loss=[], epoch_seconds=[], best_epoch=-1)
    best, best_state, bad = math.inf, copy.deepcopy(net.state_dict()), 0

    def loss_of(xw, yw, h):
        out, h = net(torch.as_tensor(xw, dtype=torch.float32), h)
        return F.cross_entropy(out.flatten(0, 1), torch.as_tensor(yw).flatten()), h

    for epoch in range(max_epochs):
        t0, h, losses = time.perf_counter(), None, []
        for xw, yw in zip(xb, yb):
            loss, h = loss_of(xw, yw, h)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            h = h.detach()
            losses.append(float(loss.detach()))
        with torch.no_grad():
            h, val = None, []
            for xw, yw in zip(vxb, vyb):
                loss, h = loss_of(xw, yw, h)
                val.append(float(loss))
        hist["train_loss"].append(float(np.mean(losses)))
        hist["val_loss"].append(float(np.mean(val)))
        hist["epoch_seconds"].append(time.perf_counter() - t0)
        if hist["val_loss"][-1] < best:
            best, best_state, bad, hist["best_epoch"] = hist["val_loss"][-1], copy.deepcopy(net.state_dict()), 0, epoch
        else:
            bad += 1
            if bad >= patience:
                break
    net.load_state_dict(best_state)
    return net, hist


def predict_gru(net: GRUClassifier, x: np.ndarray, n_streams: int = 64, burn_in: int = 0) -> np.ndarray:
    """Class predictions for every step of ``x``, as :func:`spikeflux.training.predict_series` runs an SNN:
    ``n_streams`` contiguous pieces in parallel, each from a zero state ``burn_in`` steps before
    its first step (as far as ``x`` reaches back)."""
    _check_xy("predict_gru", x)
    T = len(x)
    n_streams = max(1, min(n_streams, T))
    # each stream starts at column 0 and is zero-padded on the right (a GRU's state drifts on zero
    # input, so left padding would change it; right padding comes after every output kept)
    xs, first, piece = series_streams(x, n_streams, burn_in, pad_left=False, dtype=np.float32)
    with torch.no_grad():
        pred = net(torch.as_tensor(xs))[0].argmax(-1).numpy()
    return np.concatenate([pred[k, f:f + piece] for k, f in enumerate(first)])[:T]


def scores(y_by_split: dict, pred_by_split: dict, n_classes: int, block: int = 900, seed: int = 0) -> list[dict]:
    """Balanced accuracy with the SNNs' block-bootstrap interval per named test span."""
    rows = []
    for name, y in y_by_split.items():
        ba, lo, hi = balanced_accuracy_ci(y, pred_by_split[name], n_classes, block=block, seed=seed)
        rows.append(dict(subject=name, balanced_accuracy=ba, ci_low=lo, ci_high=hi, test_steps=len(y)))
    return rows


def adl_baselines(splits: dict, n_classes: int, *, seed: int = 0, stride: int = 10, gru_hidden: int = 24,
                  gru_epochs: int = 10, gru_patience: int = 3, progress: bool = False) -> list[dict]:
    """Train the three baselines on ``splits`` (:func:`spikeflux.tasks.adl_splits`) and score them.

    Returns tidy rows ``model, subject ("A+B", "A", "B"), balanced_accuracy, ci_low, ci_high,
    test_steps, size, train_seconds, train_cpu_seconds`` (``size``: the model's parameters, in
    words; the seconds include predicting the test spans; the CPU time of this process is what a
    loaded machine does not inflate). The scikit-learn models run single-threaded.
    """
    from tqdm import tqdm

    from threadpoolctl import threadpool_limits

    x_tr, y_tr = splits["train"]
    tests = dict(splits["test_by_subject"])  # A+B: the subjects' predictions concatenated (as splits["test"])
    truth = {"A+B": splits["test"][1], **{k: y for k, (_, y) in tests.items()}}

    def predict_all(predict):
        preds = {k: predict(x) for k, (x, _) in tests.items()}
        return {"A+B": np.concatenate(list(preds.values())), **preds}

    rows = []
    bar = tqdm(total=3, desc="baselines", disable=not progress)
    for name, fit in (("linear", fit_linear), ("boosting", fit_boosting)):
        t0, c0 = time.perf_counter(), time.process_time()
        with threadpool_limits(limits=1):  # OpenMP/BLAS threads spin badly on a shared, busy machine
            model = fit(x_tr, y_tr, seed=seed, stride=stride)
            preds = predict_all(lambda x: predict_features(model, x))
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        if name == "linear":
            coef = model[-1].coef_
            size = f"{coef.size + model[-1].intercept_.size:,} weights"
        else:
            size = f"{model.n_iter_} rounds x {model.n_trees_per_iteration_} trees"
        rows += [dict(model=name, **r, size=size, train_seconds=seconds, train_cpu_seconds=cpu)
                 for r in scores(truth, preds, n_classes, seed=seed)]
        bar.update()
    t0, c0 = time.perf_counter(), time.process_time()
    net, hist = fit_gru(splits["train"], splits["val"], n_classes, hidden=gru_hidden, max_epochs=gru_epochs,
                        patience=gru_patience, seed=seed)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    preds = predict_all(lambda x: predict_gru(net, x))
    rows += [dict(model=f"GRU({gru_hidden})", **r, size=f"{net.n_parameters:,} weights", train_seconds=seconds,
                  train_cpu_seconds=cpu, epochs=len(hist["val_loss"]), best_epoch=hist["best_epoch"] + 1)
             for r in scores(truth, preds, n_classes, seed=seed)]
    bar.update()
    bar.close()
    return rows
