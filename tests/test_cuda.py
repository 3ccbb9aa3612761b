"""Every computation runs on CUDA with the same results as on the CPU (skipped without a GPU).

float64 throughout, so the two devices agree to round-off; the training test checks that
``device=`` trains there and lowers the loss (float32 kernels differ between devices, so
weights are not compared bit for bit).
"""

import copy

import numpy as np
import pytest
import torch

from spikeflux import evaluation as ev
from spikeflux.explain import METHODS, explain
from spikeflux.snn import LIFNetwork
from spikeflux.training import TrainConfig, predict_series, train

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@pytest.fixture(scope="module")
def net():
    return LIFNetwork([4, 12, 8, 3], dt=1e-3, tau_syn=1e-2, tau_mem=1e-2, weight_scale=3.0, seed=3).double()


@pytest.fixture(scope="module")
def x():
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(3, 120, 4, generator=g) < 0.3).double()
    x[..., 0] = 1.0
    return x


def test_forward_equals_cpu(net, x):
    gpu = copy.deepcopy(net).cuda()
    a, b = net(x, record=True), gpu(x.cuda(), record=True)
    assert b.output.is_cuda
    torch.testing.assert_close(b.output.cpu(), a.output, rtol=1e-12, atol=1e-12)
    for sa, sb in zip(a.record.spikes, b.record.spikes):
        assert torch.equal(sa, sb.cpu())


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_equals_cpu(net, x, method):
    opts = {"n_steps": 4} if method == "integrated-gradients" else {}
    cpu = explain(net, x, 100, method=method, target=[0, 1, 2], window=40, **opts)
    gpu = explain(copy.deepcopy(net).cuda(), x.cuda(), 100, method=method, target=[0, 1, 2], window=40, **opts)
    assert gpu.attribution.is_cuda
    scale = cpu.attribution.abs().max().clamp_min(1e-300)
    torch.testing.assert_close(gpu.attribution.cpu() / scale, cpu.attribution / scale, rtol=1e-9, atol=1e-9)


def test_evaluation_rows_equal_cpu(net, x):
    X = x.numpy()
    pts = ev.PointSet("toy", X, np.zeros(len(X), dtype=int), [("toy", t) for t in range(len(X))], 60, 60)
    kw = dict(dataset="toy", model="3L", n_perturb=2, levels=(0, 0.1, 0.5, 1), bias_channel=0, seed=1)
    a, _ = ev.evaluate(net, pts, "lrp-epsilon", 3, **kw)
    b, _ = ev.evaluate(copy.deepcopy(net).cuda(), pts, "lrp-epsilon", 3, **kw)
    for ra, rb in zip(a, b):
        assert ra["metric"] == rb["metric"]
        np.testing.assert_allclose(rb["value"], ra["value"], rtol=1e-8, atol=1e-12, err_msg=ra["metric"])


def test_predict_series_and_training_on_cuda():
    rng = np.random.default_rng(0)
    xs = (rng.random((6000, 3)) < 0.2).astype(np.float32)
    xs[:, 0] = 1
    ys = (xs[:, 1] > 0).astype(np.int64)
    net = LIFNetwork([3, 8, 2], dt=1e-3, tau_syn=1e-2, tau_mem=1e-3, seed=0).cuda()
    hist = train(net, (xs[:4000], ys[:4000]), (xs[4000:], ys[4000:]),
                 TrainConfig(lr=1e-2, batch_size=4, max_epochs=3, patience=3, window=200, seed=0), progress=False)
    assert hist.train_loss[-1] < hist.train_loss[0]
    gpu = predict_series(net, xs, n_streams=4, chunk=200, burn_in=100)
    cpu = predict_series(copy.deepcopy(net).cpu(), xs, n_streams=4, chunk=200, burn_in=100)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-4, atol=1e-4)
