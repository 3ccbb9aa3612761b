"""The LIF network against the equations of spec/transport.md §1, by hand and by a reference."""

import math

import numpy as np
import pytest
import torch

from spikeflux.snn import LIFNetwork, spike


def reference_forward(Ws, x, alpha, beta, theta=1.0, reset="zero", readout="spiking", Vs=None, adaptation=None):
    """Independent float64 numpy transcription of spec §1, one step and one layer at a time."""
    T = x.shape[0]
    L = len(Ws)
    I = [np.zeros(W.shape[0]) for W in Ws]
    U = [np.zeros(W.shape[0]) for W in Ws]
    b = [np.zeros(W.shape[0]) for W in Ws]
    out = np.zeros((T, Ws[-1].shape[0]))
    for t in range(T):
        S_prev = x[t]
        for l, W in enumerate(Ws):
            spiking = not (l == L - 1 and readout == "leaky")
            th = theta + (b[l] if adaptation else 0.0)
            S = (U[l] - th > 0).astype(float) if spiking else np.zeros_like(U[l])
            I[l] = alpha * I[l] + W @ S_prev
            if Vs is not None and l < L - 1:
                I[l] = I[l] + Vs[l] @ S
            if reset == "zero":
                U[l] = (1 - S) * (beta * U[l] + I[l])
            else:
                U[l] = beta * U[l] + I[l] - th * S
            if adaptation:
                rho, gamma = adaptation
                b[l] = rho * b[l] + gamma * S
            S_prev = S
        out[t] = U[-1]
    return out


def random_input(T, n, p=0.3, seed=0):
    return (torch.rand(T, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) < p).double()


@pytest.mark.parametrize("hidden", [[], [7], [6, 5]])
@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("readout", ["spiking", "leaky"])
def test_output_equals_reference_float64(hidden, reset, readout):
    net = LIFNetwork([4, *hidden, 3], dt=1e-3, tau_syn=5e-3, tau_mem=8e-3, reset=reset, readout=readout,
                     weight_scale=3.0, seed=1).double()
    x = random_input(60, 4)
    out = net(x[None]).output[0].detach().numpy()
    ref = reference_forward([W.detach().numpy() for W in net.weights], x.numpy(), net.alpha, net.beta,
                            reset=reset, readout=readout)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-12)
    # the test is not vacuous: some hidden/output neurons spiked (where any can spike)
    with torch.no_grad():
        rec = net(x[None], record=True).record
    if hidden or readout == "spiking":
        assert sum(float(s.sum()) for s in rec.spikes[1:]) > 0


def test_recurrent_and_adaptive_equal_reference():
    net = LIFNetwork([3, 6, 2], dt=1e-3, tau_syn=5e-3, tau_mem=8e-3, recurrent=True, adaptation=(0.9, 0.5),
                     weight_scale=3.0, seed=2).double()
    x = random_input(50, 3, seed=3)
    out = net(x[None]).output[0].detach().numpy()
    ref = reference_forward([W.detach().numpy() for W in net.weights], x.numpy(), net.alpha, net.beta,
                            Vs=[V.detach().numpy() for V in net.recurrent_weights], adaptation=(0.9, 0.5))
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-12)


def test_recurrence_by_hand_one_neuron():
    """snnTorch-style hand check: one input, one output neuron, W = 0.6."""
    net = LIFNetwork([1, 1], dt=1.0, tau_syn=1 / math.log(2), tau_mem=1 / math.log(4)).double()  # alpha=.5, beta=.25
    with torch.no_grad():
        net.weights[0].copy_(torch.tensor([[0.6]]))
    assert net.alpha == pytest.approx(0.5) and net.beta == pytest.approx(0.25)
    x = torch.tensor([[1.0], [1.0], [0.0], [0.0]], dtype=torch.float64)
    with torch.no_grad():
        rec = net(x[None], record=True).record
    I = rec.syn[0][0, :, 0].tolist()
    U = rec.mem[0][0, :, 0].tolist()
    S = rec.spikes[1][0, :, 0].tolist()
    # I[0]=0.6, U[0]=0.6; I[1]=0.3+0.6=0.9, U[1]=0.15+0.9=1.05; spike at t=2 (U[1]>1): reset
    assert I == pytest.approx([0.6, 0.9, 0.45, 0.225])
    assert S == [0.0, 0.0, 1.0, 0.0]
    assert U == pytest.approx([0.6, 1.05, 0.0, 0.225])


def test_subtract_reset_by_hand():
    net = LIFNetwork([1, 1], dt=1.0, tau_syn=1 / math.log(2), tau_mem=1 / math.log(4), reset="subtract").double()
    with torch.no_grad():
        net.weights[0].copy_(torch.tensor([[0.6]]))
    x = torch.tensor([[1.0], [1.0], [0.0]], dtype=torch.float64)
    U = net(x[None]).output[0, :, 0].detach().tolist()
    # U[2] = 0.25*1.05 + 0.45 - 1 = -0.2875
    assert U == pytest.approx([0.6, 1.05, -0.2875])


def test_leaky_readout_never_resets():
    net = LIFNetwork([1, 1], dt=1.0, tau_syn=1 / math.log(2), tau_mem=1 / math.log(4), readout="leaky").double()
    with torch.no_grad():
        net.weights[0].copy_(torch.tensor([[0.6]]))
    x = torch.tensor([[1.0], [1.0], [0.0]], dtype=torch.float64)
    U = net(x[None]).output[0, :, 0].detach().tolist()
    assert U == pytest.approx([0.6, 1.05, 0.25 * 1.05 + 0.45])


def test_surrogate_gradient_values():
    v = torch.tensor([-0.1, 0.0, 0.02, 1.0], dtype=torch.float64, requires_grad=True)
    s = spike(v, 100.0)
    assert s.tolist() == [0.0, 0.0, 1.0, 1.0]
    s.sum().backward()
    expected = [1 / (100 * abs(a) + 1) ** 2 for a in [-0.1, 0.0, 0.02, 1.0]]
    assert v.grad.tolist() == pytest.approx(expected, rel=1e-12)


def test_reset_is_detached():
    """The gradient through U[t] must not include d(1-S)/dU: compare with the detached formula."""
    net = LIFNetwork([2, 2], dt=1e-3, tau_syn=5e-3, tau_mem=8e-3, weight_scale=4.0, seed=0).double()
    x = random_input(20, 2, p=0.8)
    net(x[None]).output.sum().backward()
    g = net.weights[0].grad.clone()
    assert torch.isfinite(g).all() and g.abs().sum() > 0


def test_carried_state_equals_one_run():
    net = LIFNetwork([3, 8, 4], dt=1e-3, tau_syn=1e-2, tau_mem=1e-3, weight_scale=2.0, seed=3)
    x = (torch.rand(2, 900, 3, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    full = net(x).output
    first = net(x[:, :450])
    second = net(x[:, 450:], state=first.state)
    torch.testing.assert_close(torch.cat([first.output, second.output], 1), full, rtol=0, atol=0)


def test_record_matches_training_path_and_shapes():
    net = LIFNetwork([3, 5, 4, 2], seed=0)
    x = (torch.rand(2, 30, 3) < 0.5).float()
    plain = net(x)
    rec = net(x, record=True)
    torch.testing.assert_close(plain.output, rec.output)
    r = rec.record
    assert [tuple(s.shape) for s in r.spikes] == [(2, 30, 3), (2, 30, 5), (2, 30, 4), (2, 30, 2)]
    assert [tuple(s.shape) for s in r.syn] == [(2, 30, 5), (2, 30, 4), (2, 30, 2)]
    assert plain.record is None


def test_dtype_follows_module():
    net = LIFNetwork([3, 4, 2], seed=0)
    assert net(torch.zeros(1, 5, 3)).output.dtype == torch.float32
    net.double()
    out = net(torch.zeros(1, 5, 3), record=True)
    assert out.output.dtype == torch.float64 and out.state.U[0].dtype == torch.float64


def test_public_surface_weights_copy():
    net = LIFNetwork([3, 5, 2], dt=1e-3, tau_syn=1e-2, tau_mem=1e-2)
    assert len(net.weights) == 2 and tuple(net.weights[0].shape) == (5, 3) and tuple(net.weights[1].shape) == (2, 5)
    with torch.no_grad():
        net.weights[1].copy_(torch.zeros(2, 5))
    assert float(net(torch.ones(1, 4, 3)).output.detach().abs().sum()) == 0.0


def test_weight_init_statistics_and_seed():
    a = LIFNetwork([400, 300, 2], seed=7)
    b = LIFNetwork([400, 300, 2], seed=7)
    torch.testing.assert_close(a.weights[0], b.weights[0])
    assert float(a.weights[0].detach().std()) == pytest.approx(0.2 / math.sqrt(400), rel=0.02)


def test_save_load_round_trip(tmp_path):
    net = LIFNetwork([3, 4, 2], dt=1e-3, tau_syn=1e-2, tau_mem=1e-3, reset="subtract", seed=5).double()
    path = net.save(tmp_path / "m.pt", note="hello")
    blob = torch.load(path, weights_only=True)  # safe format
    assert blob["config"]["reset"] == "subtract"
    back = LIFNetwork.load(path)
    assert back.dtype == torch.float64 and back.metadata["note"] == "hello"
    x = random_input(40, 3)
    torch.testing.assert_close(back(x[None]).output, net(x[None]).output, rtol=0, atol=0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(sizes=[3]), "sizes"),
    (dict(sizes=[3, 2], reset="soft"), "reset"),
    (dict(sizes=[3, 2], readout="rate"), "readout"),
    (dict(sizes=[3, 2], tau_mem=0.0), "tau_mem"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LIFNetwork(**kwargs)


def test_bad_input_shape():
    net = LIFNetwork([3, 2])
    with pytest.raises(ValueError, match="shape"):
        net(torch.zeros(5, 3))


def test_decays_known_answer_and_shared_by_the_model():
    """α = exp(-Δt/τ_syn), β = exp(-Δt/τ_mem): the one function the model and the chapters use."""
    from spikeflux.snn import decays

    alpha, beta = decays(1e-3, 4e-3, 2e-3)
    assert alpha == math.exp(-0.25) and beta == math.exp(-0.5)
    assert decays(1.0, 1 / math.log(2), 1 / math.log(4)) == pytest.approx((0.5, 0.25), rel=1e-15)
    net = LIFNetwork([2, 2], dt=5e-4, tau_syn=1e-2, tau_mem=1e-3)
    assert (net.alpha, net.beta) == decays(5e-4, 1e-2, 1e-3)
    for bad in (dict(dt=0.0), dict(tau_syn=-1.0), dict(tau_mem=float("nan"))):
        args = dict(dt=1e-3, tau_syn=1e-2, tau_mem=1e-2) | bad
        with pytest.raises(ValueError, match=next(iter(bad))):
            decays(**args)
