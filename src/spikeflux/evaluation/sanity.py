r"""Sanity checks of explanation methods (Adebayo et al. 2018).

Cascading model-parameter randomisation
    The weight matrices are re-drawn from the model's own initialisation, output layer first,
    then downwards (``randomised_layers`` = 1, 2, ..., L); after each step the same points are
    explained again for the same class, and each map is compared with the original map by the
    Spearman rank correlation of :math:`|A|` and of :math:`A` over all cells. A method whose
    maps do not change when the weights it claims to explain are destroyed fails the check.
Input recency
    Each map against the trivial map :math:`x_i[t]\\, \\alpha^{t^*-t}` (the input spikes weighted by
    the synaptic decay, no weights at all): a high correlation says the map is mostly input and
    recency, which is what survives randomisation.
Class sensitivity
    The map of the predicted class against the map of the runner-up class, both of the logit
    (no contrast: a contrast map of the runner-up is the exact negative of the winner's). A
    method whose two maps are the same ranking does not explain the class.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from scipy import stats as _st

from ..snn import LIFNetwork


def randomised(net: LIFNetwork, layers: int, seed: int = 0) -> LIFNetwork:
    """A copy of ``net`` with its last ``layers`` weight matrices (output first) re-drawn from
    the initial distribution :math:`\\mathcal N(0, s^2 / n_\\text{in})` (``s`` = ``weight_scale``);
    recurrent weights of a re-drawn layer are re-drawn too."""
    if not 0 <= layers <= net.n_layers:
        raise ValueError(f"layers={layers} must be between 0 and the network's {net.n_layers} weight layers")
    out = copy.deepcopy(net)
    gen = torch.Generator().manual_seed(int(seed))
    scale = float(net.config.get("weight_scale", 0.2))
    with torch.no_grad():
        for l in range(net.n_layers - layers, net.n_layers):
            w = out.weights[l]
            w.copy_(torch.randn(w.shape, generator=gen, dtype=torch.float64).to(w) * scale / np.sqrt(w.shape[1]))
            if len(out.recurrent_weights) and l < net.n_layers - 1:
                v = out.recurrent_weights[l]
                v.copy_(torch.randn(v.shape, generator=gen, dtype=torch.float64).to(v) * scale / np.sqrt(v.shape[1]))
    return out


def spearman(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per map pair ``(P, ...)``: Spearman correlation of the absolute values, of the signed
    values, and of the absolute values on the *support* (the cells where either map is non-zero:
    with spike input most cells of a map are exactly zero for every weight setting, and those
    shared zeros alone make the plain correlation high). NaN where a map is constant."""
    ab, sg, sup = (np.full(len(A), np.nan) for _ in range(3))
    for p, (a, b) in enumerate(zip(A, B)):
        a, b = a.ravel(), b.ravel()
        if np.ptp(np.abs(a)) > 0 and np.ptp(np.abs(b)) > 0:
            ab[p] = _st.spearmanr(np.abs(a), np.abs(b)).statistic
        if np.ptp(a) > 0 and np.ptp(b) > 0:
            sg[p] = _st.spearmanr(a, b).statistic
        on = (a != 0) | (b != 0)
        if on.sum() > 2 and np.ptp(np.abs(a[on])) > 0 and np.ptp(np.abs(b[on])) > 0:
            sup[p] = _st.spearmanr(np.abs(a[on]), np.abs(b[on])).statistic
    return ab, sg, sup


def input_recency(X: np.ndarray, window: int, decay: float) -> np.ndarray:
    """``(P, n_in, window)``: the trivial map :math:`x_i[t]\\, d^{\\,t^*-t}`, the input spikes
    weighted by their recency (no model at all), to compare methods' maps with."""
    lag = np.arange(window)[::-1]
    return np.transpose(X[:, -window:], (0, 2, 1)) * decay ** lag


def cascading(net: LIFNetwork, X: np.ndarray, A: np.ndarray, targets: np.ndarray, explain_fn, seed: int = 0) -> list:
    """Rows ``randomised_layers, spearman_abs, spearman_signed, n`` (means over points) of the
    cascading randomisation; ``explain_fn(net, X, targets) -> (P, n_in, W)`` explains with the
    method under test."""
    rows = []
    for k in range(1, net.n_layers + 1):
        Ak = explain_fn(randomised(net, k, seed=seed * 100 + k), X, targets)
        ab, sg, sup = spearman(A, Ak)
        rows.append(dict(check="cascading", randomised_layers=k, spearman_abs=_mean(ab), spearman_signed=_mean(sg),
                         spearman_abs_support=_mean(sup), n=int(np.isfinite(sg).sum())))
    ab, sg, sup = spearman(A, input_recency(X, A.shape[-1], net.alpha))
    rows.append(dict(check="input-recency", randomised_layers=0, spearman_abs=_mean(ab), spearman_signed=_mean(sg),
                     spearman_abs_support=_mean(sup), n=int(np.isfinite(sg).sum())))
    return rows


def class_sensitivity(net: LIFNetwork, X: np.ndarray, clean: np.ndarray, explain_fn) -> dict:
    """The logit map of the predicted class against that of the runner-up class (mean Spearman)."""
    with torch.no_grad():
        U = net(torch.as_tensor(X, dtype=net.dtype, device=net.device)).output[:, -1].cpu().numpy()
    U[np.arange(len(U)), clean] = -np.inf
    runner = U.argmax(1)
    ab, sg, sup = spearman(explain_fn(net, X, clean), explain_fn(net, X, runner))
    return dict(check="class", randomised_layers=0, spearman_abs=_mean(ab), spearman_signed=_mean(sg),
                spearman_abs_support=_mean(sup), n=int(np.isfinite(sg).sum()))


def _mean(v: np.ndarray) -> float:
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else np.nan
