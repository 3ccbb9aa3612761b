r"""Exact Shapley values of input features: method ``shapley-exact``, and the feature machinery of the
model-agnostic baselines (:mod:`spikeflux.explain.agnostic`).

**Features.** A feature map ``features`` is an integer array ``(n_in, window)`` naming the
feature of every cell :math:`(i, t)` of the explained window (``-1``: never removed, e.g. the
bias channel); the ``n`` features are ``0..n-1``. Removing a feature sets its cells to 0 (no
spike); the input before the window is the true input, so every coalition starts the window
from the true carried state. :func:`default_features` groups each non-bias channel's most
recent steps into segments.

**Value function.** For a coalition :math:`C \subseteq \{0..n-1\}` of kept features,

.. math::

    v(C) = \sum_j w_j\, U^L_j[t^*]\big(x \text{ with the features outside } C \text{ removed}\big),

the explained quantity of the request (:attr:`~.request.Request.weights`: the logit
:math:`U^L_c[t^*]` without a contrast). :func:`coalition_values` evaluates it in batched forward
passes started from the carried state at the first step any feature touches (earlier cells
never change).

**Shapley values.** All :math:`2^n` coalitions are evaluated (``shapley-exact``) and

.. math::

    \phi_i = \sum_{C \not\ni i} \frac{|C|!\,(n - |C| - 1)!}{n!}\,\bigl(v(C \cup \{i\}) - v(C)\bigr),

the unique attribution with efficiency (:math:`\sum_i \phi_i = v(\text{all}) - v(\emptyset)`),
symmetry, the null-player property and linearity (Shapley 1953). Each cell gets its feature's
value divided by the feature's cell count, so the map sums to :math:`v(\text{all}) - v(\emptyset)`;
``info["feature_values"]`` ``(K, n)`` holds the :math:`\phi_i`. Cost: :math:`2^n` forward passes
of the window per target (16 features: 65 536), so ``n`` is capped at :data:`MAX_EXACT`.

Options (``shapley-exact``): ``features`` (array ``(n_in, window)``, default
:func:`default_features`), ``max_features`` (16) and ``segment`` (steps per segment, default
``ceil(window / segments)``) for the default map, ``bias_channel`` (0: never removed; ``None``),
``batch_rows`` (coalitions per forward pass of the Captum baselines, default from :data:`PASS_BYTES`).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..snn import LIFNetwork, SNNState
from ..chunking import map_chunks, rows_within
from .registry import register_method
from .request import Attribution, Request

#: Most features ``shapley-exact`` enumerates (2^20 forward passes per target).
MAX_EXACT = 20

#: Memory budget (bytes) of one batched forward pass over coalitions (inputs and recorded spikes).
PASS_BYTES = 2 ** 28

FEATURE_OPTIONS = {"features": None, "max_features": 16, "segment": None, "bias_channel": 0}


def default_features(n_in: int, window: int, max_features: int = 16, bias_channel: int | None = 0,
                     segment: int | None = None) -> Tensor:
    """The default feature map ``(n_in, window)``: the most recent segments of every non-bias channel.

    Each channel other than ``bias_channel`` gets ``m = max_features // channels`` features (at
    least 1): the segments of ``segment`` steps ending at :math:`t^*` (default
    ``ceil(window / m)``, so the segments cover the window), numbered channel by channel, the
    most recent first. Cells older than the ``m`` segments and the bias channel are ``-1``.
    """
    channels = [i for i in range(n_in) if i != bias_channel]
    if not channels:
        raise ValueError(f"default features: no channel to remove (n_in={n_in}, bias_channel={bias_channel})")
    if isinstance(max_features, bool) or not isinstance(max_features, int) or max_features < 1:
        raise ValueError(f"max_features must be a positive int, got {max_features!r}")
    m = min(max(1, max_features // len(channels)), window)
    if segment is None:
        segment = math.ceil(window / m)
    if isinstance(segment, bool) or not isinstance(segment, int) or segment < 1:
        raise ValueError(f"segment must be a positive int or None, got {segment!r}")
    m = min(m, math.ceil(window / segment))  # no empty segments
    ids = torch.full((n_in, window), -1, dtype=torch.long)
    age = torch.arange(window - 1, -1, -1)  # t* - t: 0 at the explained step
    seg = age // segment  # 0 = most recent
    for c, i in enumerate(channels):
        ids[i] = torch.where(seg < m, c * m + seg, -1)
    return ids


def check_features(features, n_in: int, window: int) -> tuple[Tensor, int]:
    """``(ids, n)``: a validated feature map ``(n_in, window)`` of ints in ``-1..n-1``, every id used."""
    ids = torch.as_tensor(features)
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise ValueError(f"features: expected an integer array of feature ids, got dtype {ids.dtype}")
    ids = ids.long().cpu()
    if ids.shape != (n_in, window):
        raise ValueError(f"features: expected shape (n_in={n_in}, window={window}), got {tuple(ids.shape)}")
    if bool((ids < -1).any()):
        raise ValueError("features: ids must be -1 (never removed) or 0..n-1")
    n = int(ids.max()) + 1
    if n < 1:
        raise ValueError("features: no feature (every cell is -1)")
    missing = sorted(set(range(n)) - set(ids[ids >= 0].unique().tolist()))
    if missing:
        raise ValueError(f"features: ids must be 0..n-1 without gaps; feature(s) {missing[:5]} have no cell")
    return ids, n


def feature_map(request: Request, n_in: int, opts: dict) -> tuple[Tensor, int]:
    """The request's feature map from the options (:data:`FEATURE_OPTIONS`) and its feature count."""
    if opts["features"] is None:
        ids = default_features(n_in, request.window, opts["max_features"], opts["bias_channel"], opts["segment"])
        return ids, int(ids.max()) + 1
    return check_features(opts["features"], n_in, request.window)


class CoalitionGame:
    r"""The value function :math:`v(C)` of every target of a request (module docstring).

    ``values(z, rows)``: ``z`` ``(M, n)`` keep-indicators (1 = the feature is kept, 0 = removed;
    fractional values scale the cells, as Captum's interpolations never do here), ``rows``
    ``(M,)`` the target each row belongs to; returns ``(M,)`` values. The window is simulated
    from step ``first`` of the window (the earliest step any feature touches) with the true
    carried state there.
    """

    def __init__(self, net: LIFNetwork, x: Tensor, request: Request, ids: Tensor, n: int,
                 batch_rows: int | None = None):
        from .gradients import carried_state, windows

        self.net, self.n, self.ids = net, n, ids.to(x.device)
        cols = (ids >= 0).any(0).nonzero()
        self.first = int(cols.min())
        self.steps = request.window - self.first
        start = request.t0 + self.first
        self.inputs = windows(x, start, self.steps)  # (K, steps, n_in)
        self.state = carried_state(net, request.forward, start)
        self.weights = request.weights
        part = self.ids[:, self.first:]
        self.fixed = (part < 0).to(x.dtype)  # (n_in, steps): never removed
        self.onehot = torch.nn.functional.one_hot(part.clamp(min=0), n).to(x.dtype) * (1 - self.fixed)[..., None]
        self.batch_rows = batch_rows or rows_within(PASS_BYTES, self.steps * (2 * net.sizes[0] + sum(net.sizes[1:])),
                                                    net.dtype)
        self.evaluations = 0

    def keep(self, z: Tensor) -> Tensor:
        """``(M, steps, n_in)`` cell multipliers of coalitions ``z`` ``(M, n)``."""
        k = torch.einsum("ism,bm->bsi", self.onehot, z.to(self.onehot.dtype))
        return k + self.fixed.T

    @torch.no_grad()
    def values(self, z: Tensor, rows: Tensor) -> Tensor:
        def value(chunk: slice) -> Tensor:
            rr = rows[chunk]
            x = self.inputs[rr] * self.keep(z[chunk])
            state = SNNState(*([s[rr] for s in ss] for ss in (self.state.I, self.state.U, self.state.b)))
            U = self.net(x, state=state).output[:, -1]  # U^L[t*], (m, n_out)
            return (U * self.weights[rr]).sum(-1)

        self.evaluations += len(rows)
        return map_chunks(value, len(rows), self.batch_rows, lambda out: torch.cat(out) if out else z.new_zeros(0))

    @torch.no_grad()
    def all_values(self) -> Tensor:
        r"""``(K, 2^n)``: :math:`v(C)` of every coalition (index bit ``i`` = feature ``i`` kept), by a tree of runs.

        Coalitions that agree on the features already *seen* (with a cell at or before a step)
        share their state up to that step. The window is cut into blocks at the first step of
        each feature; entering a block with ``b`` new features tiles every state ``2^b`` times.
        The run costs :math:`\sum_\text{blocks} 2^{|\text{seen}|}\cdot\text{steps}` instead of
        :math:`2^n \cdot \text{steps}` (about 5x less for the default segments).
        """
        n, ids = self.n, self.ids[:, self.first:]
        starts = torch.tensor([int((ids == f).any(0).nonzero().min()) for f in range(n)])  # first column of each
        edges = sorted(set(starts.tolist())) + [self.steps]
        out = []
        for k in range(len(self.weights)):
            state = SNNState(*([s[k:k + 1] for s in ss] for ss in (self.state.I, self.state.U, self.state.b)))
            bits = torch.zeros(1, n, dtype=self.onehot.dtype, device=ids.device)
            for lo, hi in zip(edges[:-1], edges[1:]):
                new = (starts == lo).nonzero()[:, 0].tolist()
                M, tiles = bits.shape[0], 2 ** len(new)
                bits = bits.repeat(tiles, 1)
                q = torch.arange(M * tiles, device=ids.device) // M
                for j, f in enumerate(new):
                    bits[:, f] = ((q >> j) & 1).to(bits.dtype)
                state = SNNState(*([s.repeat(tiles, 1) for s in ss] for ss in (state.I, state.U, state.b)))
                keep = torch.einsum("ism,bm->bsi", self.onehot[:, lo:hi], bits) + self.fixed[:, lo:hi].T
                run = self.net(self.inputs[k:k + 1, lo:hi] * keep, state=state)
                state = run.state
            v = (run.output[:, -1] * self.weights[k]).sum(-1)
            index = (bits.long() << torch.arange(n, device=ids.device)).sum(1)
            out.append(torch.empty_like(v).scatter_(0, index, v))
        self.evaluations += len(self.weights) * 2 ** n
        return torch.stack(out)

    def cell_map(self, phi: Tensor, window: int) -> Tensor:
        r"""``(K, n_in, window)``: each cell's feature value :math:`\phi_f` over the feature's cell count."""
        counts = torch.bincount(self.ids[self.ids >= 0], minlength=self.n).to(phi.dtype)
        per_cell = phi / counts  # (K, n)
        A = per_cell[:, self.ids.clamp(min=0)]  # (K, n_in, window)
        return A * (self.ids >= 0).to(phi.dtype)


def coalition_masks(n: int, device=None) -> Tensor:
    """``(2^n, n)`` keep-indicators of every coalition: row ``m`` keeps feature ``i`` iff bit ``i`` of ``m`` is set."""
    m = torch.arange(2 ** n, device=device)
    return ((m[:, None] >> torch.arange(n, device=device)) & 1)


def shapley_from_values(v: Tensor, n: int) -> Tensor:
    r""":math:`\phi` ``(K, n)`` from the values of all coalitions ``v`` ``(K, 2^n)`` (bit ``i`` = feature ``i`` kept)."""
    m = torch.arange(2 ** n, device=v.device)
    size = coalition_masks(n, v.device).sum(1)  # |C|
    fact = [math.factorial(k) for k in range(n + 1)]
    weight = torch.tensor([fact[s] * fact[n - s - 1] / fact[n] for s in range(n)], dtype=v.dtype, device=v.device)
    phi = []
    for i in range(n):
        without = m[(m >> i) & 1 == 0]  # coalitions without i
        phi.append(((v[:, without | (1 << i)] - v[:, without]) * weight[size[without]]).sum(-1))
    return torch.stack(phi, -1)


@register_method("shapley-exact", family="perturbation",
                 description="Exact Shapley values of input features (all 2^n coalitions, removed cells set to 0)",
                 options={**FEATURE_OPTIONS, "batch_rows": None})
def shapley_exact(net: LIFNetwork, x: Tensor, request: Request, **opts) -> Attribution:
    r"""Exact Shapley values of the features of ``features`` (module docstring)."""
    if request.all_classes:
        raise ValueError("shapley-exact does not support all_classes=True")
    ids, n = feature_map(request, net.sizes[0], opts)
    if n > MAX_EXACT:
        raise ValueError(f"features: {n} features need 2^{n} forward passes per target; shapley-exact "
                         f"enumerates at most {MAX_EXACT} (use shapley-sampling or kernel-shap)")
    game = CoalitionGame(net, x, request, ids, n, opts["batch_rows"])
    K = len(request.t)
    v = game.all_values()  # (K, 2^n)
    phi = shapley_from_values(v, n)
    info = {"feature_values": phi, "features": ids.expand(K, -1, -1).clone(), "n_features": n,
            "v_full": v[:, -1], "v_empty": v[:, 0], "evaluations": game.evaluations // K,
            "removed": "cells set to 0 (no spike), input before the window unchanged"}
    return Attribution(game.cell_map(phi, request.window), info=info)
