r"""Training and evaluation of :class:`~spikeflux.snn.LIFNetwork` on long time series.

Following TSA's protocol (``spec/tsa.md``): the series is cut into non-overlapping
windows of ``window`` steps (900), arranged into ``B`` parallel *streams* so that row
``k`` of batch ``b+1`` continues row ``k`` of batch ``b``; the state is carried from
one batch to the next and detached in between (truncated back-propagation through
time). The loss is the per-step negative log-likelihood of
:math:`\log\mathrm{softmax}(U^L[t])` against the per-step label, averaged over steps and
rows. Adam; early stopping on the *validation* loss (the original watched the training
loss) with the best weights restored. Optionally (``TrainConfig.lr_schedule = "plateau"``,
off by default) the learning rate is multiplied by ``lr_factor`` whenever the validation
loss has not improved for ``lr_patience`` epochs (torch's ``ReduceLROnPlateau``).

Metric: balanced accuracy per step, with a 95% block-bootstrap interval (blocks of
``window`` consecutive steps resampled, since neighbouring steps are strongly
correlated).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .snn import LIFNetwork, SNNState


#: learning-rate schedules :func:`train` knows (None: constant)
LR_SCHEDULES = (None, "plateau")


def lr_scheduler(opt: torch.optim.Optimizer, config: "TrainConfig"):
    """The schedule of ``config`` on ``opt``: None, or a ``ReduceLROnPlateau`` stepped on the validation loss."""
    if config.lr_schedule is None:
        return None
    return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=config.lr_factor,
                                                      patience=config.lr_patience, threshold=0.0)


@dataclass
class TrainConfig:
    """Optimisation settings; ``asdict`` of it is stored with the weights."""

    lr: float = 1e-3
    batch_size: int = 128
    window: int = 900
    max_epochs: int = 50
    patience: int = 10
    min_delta: float = 0.0
    seed: int = 0
    #: None (constant learning rate) or "plateau": ``lr <- lr_factor * lr`` after ``lr_patience``
    #: epochs without a lower validation loss
    lr_schedule: str | None = None
    lr_factor: float = 0.5
    lr_patience: int = 1

    def __post_init__(self):
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"TrainConfig.lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        if not 0.0 < self.lr_factor < 1.0 or self.lr_patience < 0:
            raise ValueError(f"TrainConfig: lr_factor must lie in (0, 1) and lr_patience be >= 0, "
                             f"got {self.lr_factor!r} and {self.lr_patience!r}")


@dataclass
class History:
    """Per-epoch losses, learning rates and the early-stopping outcome."""

    train_loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    epoch_seconds: list = field(default_factory=list)
    best_epoch: int = -1
    best_val_loss: float = math.inf
    stopped_early: bool = False
    dropped_steps: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def arrange_streams(x: np.ndarray, y: np.ndarray, window: int, batch_size: int):
    """Cut a series into windows arranged as parallel streams.

    Returns ``xb`` of shape ``(n_batches, B, window, n_in)``, ``yb`` of shape
    ``(n_batches, B, window)`` and the number of trailing steps left out (reported, never
    silently lost). The number of batches is ``ceil(n_windows / batch_size)`` and
    ``B = n_windows // n_batches <= batch_size`` streams, so fewer than ``n_batches``
    windows (plus the incomplete last window) are left out. Stream ``k`` is the contiguous
    stretch of windows ``k*n_batches .. (k+1)*n_batches - 1``, so ``xb[b+1, k]`` continues
    ``xb[b, k]``.
    """
    n_windows = len(y) // window
    if n_windows < 1:
        raise ValueError(f"series of {len(y)} steps is shorter than one window of {window}")
    n_batches = -(-n_windows // batch_size)
    B = n_windows // n_batches
    used = B * n_batches * window
    xs = x[:used].reshape(B, n_batches, window, x.shape[-1]).swapaxes(0, 1)
    ys = y[:used].reshape(B, n_batches, window).swapaxes(0, 1)
    return np.ascontiguousarray(xs), np.ascontiguousarray(ys), len(y) - used


def class_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    r"""Loss weight of each class, :math:`w_c = n / (K\, n_c)` for the :math:`K` classes present in ``y``
    (``n`` steps, ``n_c`` of class ``c``); 0 for a class absent from ``y``. The weighted steps of ``y`` average 1,
    and every present class carries the same total weight, as the balanced accuracy counts it."""
    counts = np.bincount(np.asarray(y), minlength=n_classes)
    if len(counts) > n_classes:
        raise ValueError(f"class_weights: labels must lie in 0..{n_classes - 1}, got {int(np.max(y))}")
    present = counts > 0
    return np.where(present, len(y) / (present.sum() * np.maximum(counts, 1)), 0.0)


def with_step_weights(xy, weights: np.ndarray) -> tuple:
    """``(x, y)`` (or ``(x, y, w)``) -> ``(x, y, weights[y])``: per-step loss weights from class weights."""
    return (*xy[:2], np.asarray(weights, dtype=np.float32)[xy[1]])


def _nll(out: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None = None) -> torch.Tensor:
    """Mean per-step NLL of ``log_softmax(U^L[t])``; ``out`` (B, T, C), ``y`` (B, T).

    With per-step weights ``w`` (B, T): the mean of ``w * NLL`` (class or event balancing).
    """
    if w is None:
        return F.nll_loss(F.log_softmax(out, -1).flatten(0, 1), y.flatten())
    return (w * -F.log_softmax(out, -1).gather(-1, y[..., None])[..., 0]).mean()


def _batches(net: LIFNetwork, xb, yb, wb):
    """Tensors of each arranged batch: ``(x, y, w or None)``."""
    for b in range(len(xb)):
        w = None if wb is None else torch.as_tensor(wb[b], dtype=net.dtype, device=net.device)
        yield (torch.as_tensor(xb[b], dtype=net.dtype, device=net.device),
               torch.as_tensor(yb[b], device=net.device), w)


def stream_loss(net: LIFNetwork, xb, yb, wb=None) -> float:
    """Mean (optionally weighted) NLL over arranged streams with the state carried, no gradient."""
    state, total = None, 0.0
    with torch.no_grad():
        for xw, yw, ww in _batches(net, xb, yb, wb):
            out = net(xw, state=state)
            state = out.state
            total += float(_nll(out.output, yw, ww))
    return total / len(xb)


def train(net: LIFNetwork, train_xy, val_xy, config: TrainConfig, progress: bool = True) -> History:
    """Train ``net`` in place; returns the :class:`History` (best weights restored).

    ``train_xy`` and ``val_xy`` are ``(x, y)`` numpy arrays of shape ``(T, n_in)`` and ``(T,)``,
    or ``(x, y, w)`` with per-step loss weights ``w`` of shape ``(T,)``.
    """
    torch.manual_seed(config.seed)
    xb, yb, dropped = arrange_streams(*train_xy[:2], config.window, config.batch_size)
    vxb, vyb, vdropped = arrange_streams(*val_xy[:2], config.window, config.batch_size)
    weights = lambda xy: (arrange_streams(xy[0], xy[2], config.window, config.batch_size)[1]  # noqa: E731
                          if len(xy) > 2 else None)
    wb, vwb = weights(train_xy), weights(val_xy)
    hist = History(dropped_steps={"train": int(dropped), "val": int(vdropped)})
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    schedule = lr_scheduler(opt, config)
    best_state, bad_epochs = copy.deepcopy(net.state_dict()), 0
    bar = tqdm(range(config.max_epochs), desc=f"train {net.sizes}", disable=not progress, leave=False)
    for epoch in bar:
        t0, state, losses = time.perf_counter(), None, []
        for xw, yw, ww in _batches(net, xb, yb, wb):
            out = net(xw, state=state)
            loss = _nll(out.output, yw, ww)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            state = out.state.detach()  # carry the state, cut the graph between batches
            losses.append(float(loss.detach()))
        val = stream_loss(net, vxb, vyb, vwb)
        hist.train_loss.append(float(np.mean(losses)))
        hist.val_loss.append(val)
        hist.lr.append(float(opt.param_groups[0]["lr"]))  # the rate this epoch trained with
        hist.epoch_seconds.append(time.perf_counter() - t0)
        bar.set_postfix(train=f"{hist.train_loss[-1]:.4f}", val=f"{val:.4f}")
        if val < hist.best_val_loss - config.min_delta:
            hist.best_val_loss, hist.best_epoch, bad_epochs = val, epoch, 0
            best_state = copy.deepcopy(net.state_dict())
        else:
            bad_epochs += 1
            if bad_epochs >= config.patience:
                hist.stopped_early = True
                break
        if schedule is not None:
            schedule.step(val)
    net.load_state_dict(best_state)
    return hist


def series_streams(x: np.ndarray, n_streams: int, burn_in: int, *, pad_left: bool,
                   dtype=None) -> tuple[np.ndarray, np.ndarray, int]:
    """A series ``x`` ``(T, n_in)`` as ``n_streams`` contiguous pieces of ``piece = ceil(T / n_streams)`` steps
    to run in parallel, each preceded by up to ``burn_in`` steps of ``x`` before it (as far as ``x`` reaches back).

    Returns ``xs`` ``(n_streams, piece + L, n_in)`` (``L`` the longest burn-in; zero-padded, of
    ``dtype``, default ``x``'s), ``first`` ``(n_streams,)``: the column of each piece's first step,
    and ``piece``. ``pad_left``: every piece starts at column ``L``, shorter burn-ins padded on the
    left (a model whose state stays zero on zero input); else each stream starts at column 0 and is
    padded on the right, after every output kept (a model whose state drifts on zero input).
    """
    T = len(x)
    piece = math.ceil(T / n_streams)
    starts = np.arange(n_streams) * piece
    lead = np.minimum(starts, burn_in)
    L = int(lead.max())
    xs = np.zeros((n_streams, piece + L, x.shape[1]), dtype=x.dtype if dtype is None else dtype)
    first = np.full(n_streams, L) if pad_left else lead
    for k, (a, b) in enumerate(zip(starts, lead)):
        seg = x[a - b:min(a + piece, T)]
        xs[k, first[k] - b:first[k] - b + len(seg)] = seg
    return xs, first, piece


def predict_series(net: LIFNetwork, x: np.ndarray, n_streams: int = 64, chunk: int = 900,
                   burn_in: int = 0) -> np.ndarray:
    """Readout :math:`U^L[t]` for every step of a long series, ``(T, n_out)`` numpy.

    The series is cut into ``n_streams`` contiguous pieces run in parallel (state carried
    across chunks of ``chunk`` steps); the last piece is zero-padded and the padding removed
    again. Each piece starts from a zero state ``burn_in`` steps before its first step
    (the steps before it in ``x``, as far as there are any) and those outputs are dropped,
    so every output sees at least ``burn_in`` steps of history, except the first steps of
    ``x``. With ``burn_in=0`` a piece starts from a zero state at its first step.
    """
    T = len(x)
    n_streams = max(1, min(n_streams, T // max(chunk, 1) or 1))
    xs, first, piece = series_streams(x, n_streams, burn_in, pad_left=True)
    L = int(first[0])  # every piece starts at column L (burn-in zero-padded on the left)
    xs = torch.as_tensor(xs, dtype=net.dtype, device=net.device)
    outs, state = [], None
    with torch.no_grad():
        for start in range(0, piece + L, chunk):
            o = net(xs[:, start:start + chunk], state=state)
            state = o.state
            outs.append(o.output)
    out = torch.cat(outs, 1)[:, L:].reshape(n_streams * piece, -1)[:T]
    return out.cpu().numpy()


def confusion(y: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Confusion counts ``C[true, predicted]``."""
    return np.bincount(y * n_classes + pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def balanced_accuracy(cm: np.ndarray) -> float:
    """Mean recall over the classes present (rows with any count)."""
    support = cm.sum(1)
    present = support > 0
    return float(np.mean(np.diag(cm)[present] / support[present]))


def balanced_accuracy_ci(y, pred, n_classes: int, block: int = 900, n_boot: int = 1000,
                         seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """Balanced accuracy per step and a block-bootstrap interval ``(ba, lo, hi)``.

    Blocks of ``block`` consecutive steps are resampled with replacement
    (``n_boot`` times, seeded); the interval is the percentile interval at ``level``.
    """
    y, pred = np.asarray(y), np.asarray(pred)
    n_blocks = max(1, len(y) // block)
    edges = np.linspace(0, len(y), n_blocks + 1).astype(int)
    per_block = np.stack([confusion(y[a:b], pred[a:b], n_classes) for a, b in zip(edges[:-1], edges[1:])])
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_blocks, size=(n_boot, n_blocks))
    boots = [balanced_accuracy(per_block[i].sum(0)) for i in idx]
    lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
    return balanced_accuracy(per_block.sum(0)), float(lo), float(hi)
