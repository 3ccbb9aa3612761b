"""The plain model ported to snnTorch (spikeflux.snntorch_port): weights, step-by-step run, and the
conversion reproducing the module's membrane (Proposition prop-bl-snntorch) with conserved explanations."""

import math

import numpy as np
import pytest
import torch

snn = pytest.importorskip("snntorch")

from spikeflux import snntorch_port  # noqa: E402
from spikeflux.snn import LIFNetwork  # noqa: E402


@pytest.fixture(scope="module")
def plain():
    return LIFNetwork([3, 10, 4], dt=1e-3, tau_syn=5e-3, tau_mem=1e-3, weight_scale=3.0, seed=0)


def test_port_scales_the_weights_by_the_synaptic_gain(plain):
    seq = snntorch_port.port(plain, beta=math.exp(-1))
    gain = 1 / (1 - plain.alpha)
    torch.testing.assert_close(seq[0].weight, gain * plain.weights[0].detach())
    torch.testing.assert_close(seq[2].weight, gain * plain.weights[1].detach())


def test_snntorch_run_single_layer_known_membrane():
    # one Linear (weight 1) and a Leaky (beta 0.5, threshold 1, subtract reset): m[t] = 0.5 m[t-1] + x[t] - r[t]
    seq = torch.nn.Sequential(torch.nn.Linear(1, 1, bias=False), snn.Leaky(beta=0.5, init_hidden=True, output=True))
    with torch.no_grad():
        seq[0].weight.fill_(1.0)
    mem = snntorch_port.snntorch_run(seq, torch.tensor([[[1.0], [1.0], [0.0]]]))
    # m = 1, then 0.5 + 1 = 1.5 (reset signal from m[0] = 1 > 1? no), then 0.75 - 1 (m[1] = 1.5 > 1) = -0.25
    np.testing.assert_allclose(mem[0, :, 0].numpy(), [1.0, 1.5, -0.25])


def test_check_port_conversion_and_conservation(plain):
    rng = np.random.default_rng(0)
    x = (rng.random((400, 3)) < 0.3).astype(np.float32)
    x[:, 0] = 1
    y = rng.integers(0, 4, 400)
    Xt = torch.as_tensor(x[None, :60].repeat(2, 0), dtype=torch.float64)
    out = snntorch_port.check_port(snntorch_port.port(plain, math.exp(-1)), (x, y), Xt, 30, n_classes=4)
    assert out["summary"]["delay"] == "1"  # two layers: the readout lags one step
    assert float(out["summary"]["diff"]) <= 1e-12 and float(out["summary"]["res"]) <= 1e-12
    assert len(out["maps"]) == 2 and out["maps"][0].shape == (3, 30)
