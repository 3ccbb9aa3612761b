"""The optional learning-rate schedule of :func:`spikeflux.training.train`: known answers, and the
default (no schedule) unchanged against a reference loop written from the module docstring."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spikeflux.snn import LIFNetwork
from spikeflux.training import TrainConfig, arrange_streams, lr_scheduler, stream_loss, train


@pytest.mark.parametrize("lr_patience", [0, 1, 2])
def test_plateau_rate_after_k_bad_epochs(lr_patience):
    """After the first (best) epoch, k epochs without improvement: lr = lr0 * factor ** (k // (lr_patience + 1))."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([p], lr=0.1)
    cfg = TrainConfig(lr=0.1, lr_schedule="plateau", lr_factor=0.5, lr_patience=lr_patience)
    schedule = lr_scheduler(opt, cfg)
    schedule.step(1.0)
    for k in range(1, 7):
        schedule.step(1.0)  # the same loss: no improvement
        assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** (k // (lr_patience + 1)))
    schedule.step(0.5)  # an improvement keeps the rate
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** (6 // (lr_patience + 1)))


def test_no_schedule_by_default_and_bad_names():
    assert TrainConfig().lr_schedule is None
    assert lr_scheduler(torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))]), TrainConfig()) is None
    with pytest.raises(ValueError, match="lr_schedule"):
        TrainConfig(lr_schedule="cosine-ish")
    with pytest.raises(ValueError, match="lr_factor"):
        TrainConfig(lr_schedule="plateau", lr_factor=1.5)


def _tiny():
    rng = np.random.default_rng(0)
    x = (rng.random((2_000, 3)) < 0.2).astype(np.float32)
    x[:, 0] = 1.0
    y = (x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 0)  # 3 classes from the current input
    return (x[:1_500], y[:1_500]), (x[1_500:], y[1_500:])


def _net():
    return LIFNetwork([3, 6, 3], dt=1e-3, tau_syn=1e-2, tau_mem=1e-3, seed=3)


def _reference_train(net, train_xy, val_xy, cfg):
    """The loop of the module docstring with a constant rate: streams, carried and detached state,
    per-step NLL, Adam, early stopping on the validation loss, best weights restored."""
    torch.manual_seed(cfg.seed)
    xb, yb, _ = arrange_streams(*train_xy, cfg.window, cfg.batch_size)
    vxb, vyb, _ = arrange_streams(*val_xy, cfg.window, cfg.batch_size)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    best, best_state, bad = float("inf"), copy.deepcopy(net.state_dict()), 0
    for _ in range(cfg.max_epochs):
        state = None
        for b in range(len(xb)):
            out = net(torch.as_tensor(xb[b]), state=state)
            loss = F.nll_loss(F.log_softmax(out.output, -1).flatten(0, 1), torch.as_tensor(yb[b]).flatten())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            state = out.state.detach()
        val = stream_loss(net, vxb, vyb)
        if val < best:
            best, best_state, bad = val, copy.deepcopy(net.state_dict()), 0
        else:
            bad += 1
            if bad >= cfg.patience:
                break
    net.load_state_dict(best_state)


def test_default_config_reproduces_the_constant_rate_loop():
    tr, va = _tiny()
    cfg = TrainConfig(lr=2e-2, batch_size=4, window=50, max_epochs=4, patience=10, seed=1)
    a, b = _net(), _net()
    hist = train(a, tr, va, cfg, progress=False)
    _reference_train(b, tr, va, cfg)
    for (k, va_), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va_, vb), k
    assert hist.lr == [2e-2] * 4


def test_plateau_in_training_follows_the_validation_loss():
    """The recorded rates obey the rule applied to the recorded validation losses (a rate large enough
    for the validation loss to rise now and then)."""
    tr, va = _tiny()
    cfg = TrainConfig(lr=3.0, batch_size=4, window=50, max_epochs=8, patience=8, seed=1,
                      lr_schedule="plateau", lr_factor=0.5, lr_patience=0)
    hist = train(_net(), tr, va, cfg, progress=False)
    expected, lr, best = [], cfg.lr, float("inf")
    for v in hist.val_loss:
        expected.append(lr)
        if v < best:
            best = v
        else:
            lr *= cfg.lr_factor
    assert hist.lr == pytest.approx(expected)
    assert len(hist.lr) == len(hist.val_loss) == 8
    assert hist.lr[-1] < cfg.lr  # the schedule did act
