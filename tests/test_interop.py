"""``spikeflux.interop.from_snntorch`` against snnTorch itself, step for step (snnTorch is optional).

The correspondence under test (module docstring of :mod:`spikeflux.interop`): for an
``L``-layer network, spikeflux's layer ``l`` (1-based) lags snnTorch's by ``l - 1`` steps,

    U^l[t + l - 1] = mem^l[t],    S^l[t + l] = spk^l[t],

so the readout lags by ``d = L - 1``. snnTorch is simulated one step at a time, exactly as
its users write the loop; its spikes are float32 whatever the module's dtype (its
surrogates return ``(v > 0).float()``), so they are cast to the next ``Linear``'s dtype —
exact, they are 0 or 1.
"""

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from spikeflux.explain import explain
from spikeflux.interop import from_nir, from_snntorch, output_delay, run_as_snntorch, snntorch_inputs, to_nir
from spikeflux.snn import LIFNetwork

try:
    import snntorch as snn
except ImportError:  # optional: pip install "spikeflux[snntorch]" (the dev extra installs it)
    snn = None

SETTINGS = dict(deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
EXTRAS = {"snntorch": "snntorch", "nir": "nir", "nirtorch": "nir", "rockpool": "nir"}


def needs(*packages):
    """The optional packages a test needs (default: snntorch); the test is skipped, with the reason, without them."""
    def mark(fn):
        fn._needs = packages
        return fn
    return mark


@pytest.fixture(autouse=True)
def _optional_packages(request):
    for pkg in getattr(request.function, "_needs", ("snntorch",)):
        pytest.importorskip(pkg, reason=f"{pkg} is not installed (pip install 'spikeflux[{EXTRAS[pkg]}]')")


def build(sizes, beta=0.8, threshold=1.0, bias=False, last_reset="subtract", weight_scale=3.0, seed=0,
          init_hidden=True, dtype=torch.float64, **leaky):
    """``Linear, Leaky, ...`` with seeded weights scaled so that every layer spikes."""
    torch.manual_seed(seed)
    layers = []
    L = len(sizes) - 1
    for i in range(L):
        lin = nn.Linear(sizes[i], sizes[i + 1], bias=bias and i == 0)
        with torch.no_grad():
            lin.weight.normal_(0.0, weight_scale / math.sqrt(sizes[i]))
            if lin.bias is not None:
                lin.bias.normal_(0.0, 0.5)
        reset = last_reset if i == L - 1 else "subtract"
        layers += [lin, snn.Leaky(beta=beta, threshold=threshold, reset_mechanism=reset, init_hidden=init_hidden,
                                  output=init_hidden and i == L - 1, **leaky)]
    return nn.Sequential(*layers).to(dtype)


def simulate(seq, x):
    """snnTorch, one step at a time from the zero state: per layer ``(spk, mem)``, each ``(B, T, n)``.

    ``x`` is ``(B, T, n_in)``; the loop runs over time as snnTorch's tutorials do.
    """
    for m in seq:
        if isinstance(m, snn.Leaky):
            m.reset_mem()
    spk = [[] for m in seq if isinstance(m, snn.Leaky)]
    mem = [[] for _ in spk]
    with torch.no_grad():
        for t in range(x.shape[1]):
            h, l = x[:, t], 0
            for m in seq:
                if isinstance(m, nn.Linear):
                    h = m(h.to(m.weight.dtype))
                else:
                    out = m(h)
                    h = out[0] if isinstance(out, tuple) else out
                    spk[l].append(h), mem[l].append(m.mem.clone())
                    l += 1
    return [torch.stack(s, 1) for s in spk], [torch.stack(u, 1) for u in mem]


def spikes_in(B, T, n, p=0.4, seed=1, dtype=torch.float64):
    return (torch.rand(B, T, n, generator=torch.Generator().manual_seed(seed)) < p).to(dtype)


def assert_layerwise(seq, net, x, atol):
    """Every layer: U^l[t + l - 1] = mem^l[t] and S^l[t + l] = spk^l[t]; returns the spike rates."""
    spk, mem = simulate(seq, x)
    T, L = x.shape[1], len(spk)
    with torch.no_grad():
        rec = net(snntorch_inputs(net, x), record=True).record
    rates = []
    for l in range(1, L + 1):
        U, S = rec.mem[l - 1], rec.spikes[l]
        np.testing.assert_allclose(U[:, l - 1:l - 1 + T].numpy(), mem[l - 1].numpy(), rtol=0, atol=atol)
        if net.spiking(l - 1):
            n = min(T, S.shape[1] - l)
            np.testing.assert_array_equal(S[:, l:l + n].numpy(), spk[l - 1][:, :n].numpy())
        rates.append(float(spk[l - 1].float().mean()))
    return rates


# --------------------------------------------------------------------------- the correspondence
@pytest.mark.parametrize("hidden", [[], [6], [6, 5]], ids=["1L", "2L", "3L"])
@pytest.mark.parametrize("last_reset", ["subtract", "none"])
@pytest.mark.parametrize("bias", [False, True])
def test_same_outputs_step_for_step_float64(hidden, last_reset, bias):
    seq = build([4, *hidden, 3], beta=0.85, threshold=0.9, bias=bias, last_reset=last_reset, seed=len(hidden))
    net = from_snntorch(seq)
    x = spikes_in(3, 50, 4)
    rates = assert_layerwise(seq, net, x, atol=1e-12)
    spiking_rates = rates[:-1] + ([rates[-1]] if last_reset == "subtract" else [])
    assert all(r > 0.02 for r in spiking_rates), "every spiking layer must spike"
    spk, mem = simulate(seq, x)
    s2, m2 = run_as_snntorch(net, x)
    np.testing.assert_allclose(m2.numpy(), mem[-1].numpy(), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(s2.numpy(), spk[-1].numpy())
    assert net.alpha == 0.0 and net.beta == float(seq[1].beta) and net.threshold == float(seq[1].threshold)
    assert net.reset == "subtract" and net.readout == ("spiking" if last_reset == "subtract" else "leaky")
    assert output_delay(net) == len(hidden) and net.sizes[0] == 4 + bias
    assert net.metadata["bias_channel"] == (0 if bias else None)


@pytest.mark.parametrize("hidden", [[], [6], [6, 5]], ids=["1L", "2L", "3L"])
def test_same_outputs_float32_with_nn_sequential_forward(hidden):
    """float32: snnTorch's own ``nn.Sequential`` forward (init_hidden=True), time-first loop."""
    seq = build([4, *hidden, 3], beta=0.9, bias=True, weight_scale=4.0, seed=5, dtype=torch.float32)
    net = from_snntorch(seq)
    assert net.dtype == torch.float32
    x = spikes_in(2, 40, 4, dtype=torch.float32)
    for m in seq:
        if isinstance(m, snn.Leaky):
            m.reset_mem()
    with torch.no_grad():
        outs = [seq(x[:, t]) for t in range(x.shape[1])]
    spk = torch.stack([o[0] for o in outs], 1)
    mem = torch.stack([o[1] for o in outs], 1)
    s2, m2 = run_as_snntorch(net, x)
    np.testing.assert_allclose(m2.numpy(), mem.numpy(), rtol=0, atol=1e-5)
    np.testing.assert_array_equal(s2.numpy(), spk.numpy())
    assert spk.mean() > 0.02


def test_init_hidden_false_and_dtype_override():
    """init_hidden only changes what snnTorch returns; ``dtype=`` converts a float32 model to float64."""
    seq = build([3, 5, 2], beta=0.7, init_hidden=False, dtype=torch.float32, seed=4)
    net = from_snntorch(seq, dtype=torch.float64)
    assert net.dtype == torch.float64 and net.beta == float(seq[1].beta)  # float32 0.7, not 0.7
    assert_layerwise(seq.double(), net, spikes_in(2, 30, 3), atol=1e-12)


@st.composite
def networks(draw):
    depth = draw(st.integers(1, 3))
    sizes = [draw(st.integers(1, 5)) for _ in range(depth + 1)]
    return dict(sizes=sizes, beta=draw(st.sampled_from([0.0, 0.3, 0.9, 0.99, 1.0])),
                threshold=draw(st.sampled_from([0.25, 1.0, 2.0])), bias=draw(st.booleans()),
                last_reset=draw(st.sampled_from(["subtract", "none"])),
                weight_scale=draw(st.sampled_from([1.0, 3.0, 8.0])), seed=draw(st.integers(0, 10**6)))


@given(networks(), st.integers(1, 25), st.integers(0, 2**31))
@settings(max_examples=60, **SETTINGS)
def test_random_networks_layer_by_layer(case, T, x_seed):
    """Random sizes, depths, β (edges 0 and 1 included), θ, biases, readouts: every layer, every step."""
    seq = build(**case)
    net = from_snntorch(seq)
    assert net.beta == float(torch.tensor(case["beta"], dtype=torch.float32)) and net.alpha == 0.0  # snnTorch's float32 β
    assert_layerwise(seq, net, spikes_in(2, T, case["sizes"][0], seed=x_seed), atol=1e-12)


def test_one_neuron_by_hand():
    """snnTorch's subtract reset by hand (β = 0.5, θ = 1, w = 0.8); with L = 1 spikeflux has no delay."""
    seq = build([1, 1], beta=0.5, seed=0)
    with torch.no_grad():
        seq[0].weight.fill_(0.8)
    x = torch.ones(1, 6, 1, dtype=torch.float64)
    spk, mem = simulate(seq, x)
    # m[t] = 0.5 m[t-1] + 0.8 - H(m[t-1] - 1); spk[t] = H(m[t] - 1)
    m, expect_m, expect_s = 0.0, [], []
    for _ in range(6):
        m = 0.5 * m + 0.8 - (1.0 if m > 1 else 0.0)
        expect_m.append(m), expect_s.append(float(m > 1))
    np.testing.assert_allclose(mem[0][0, :, 0].numpy(), expect_m, rtol=0, atol=1e-15)
    assert expect_m[:3] == pytest.approx([0.8, 1.2, 0.4])  # crosses at t = 1, reset at t = 2
    net = from_snntorch(seq)
    s2, m2 = run_as_snntorch(net, x)
    np.testing.assert_allclose(m2[0, :, 0].numpy(), expect_m, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(s2[0, :, 0].numpy(), expect_s)


def test_delay_is_one_step_per_layer():
    """A 2-layer chain of single neurons: snnTorch's output responds at t = 0, spikeflux's at t = 1."""
    seq = build([1, 1, 1], beta=0.0, seed=0)
    with torch.no_grad():
        seq[0].weight.fill_(2.0), seq[2].weight.fill_(1.5)
    x = torch.tensor([[[1.0], [0.0], [0.0], [0.0]]], dtype=torch.float64)
    _, mem = simulate(seq, x)
    np.testing.assert_array_equal(mem[1][0, :, 0].numpy(), [1.5, -1.0, 0.0, 0.0])  # same-step relay, then reset
    net = from_snntorch(seq)
    with torch.no_grad():
        out = net(x).output[0, :, 0]
    np.testing.assert_array_equal(out.numpy(), [0.0, 1.5, -1.0, 0.0])  # one step late
    assert output_delay(net) == 1


def test_zero_reset_differs_and_is_rejected():
    """snnTorch's zero reset keeps the input of the reset step; spikeflux's drops it, so conversion refuses."""
    seq = build([1, 1], beta=0.5, last_reset="zero", seed=0)
    with torch.no_grad():
        seq[0].weight.fill_(0.8)
    _, mem = simulate(seq, torch.ones(1, 4, 1, dtype=torch.float64))
    np.testing.assert_allclose(mem[0][0, :, 0].numpy(), [0.8, 1.2, 0.8, 1.2], atol=1e-15)  # m[2] = 0 + 0.8
    zero = LIFNetwork([1, 1], dt=1.0, tau_syn=1e-3, tau_mem=1 / math.log(2), reset="zero", dtype=torch.float64)
    with torch.no_grad():
        zero.weights[0].fill_(0.8)
        out = zero(torch.ones(1, 4, 1, dtype=torch.float64)).output[0, :, 0]
    np.testing.assert_allclose(out.numpy(), [0.8, 1.2, 0.0, 0.8], atol=1e-15)  # U[2] = 0: input dropped
    with pytest.raises(ValueError, match=r"layer 1 .*reset_mechanism='zero'.*keeps the input"):
        from_snntorch(seq)


# --------------------------------------------------------------------------- explaining a converted network
def test_explain_converted_network_conserves_and_explains_the_snntorch_logit():
    seq = build([4, 6, 3], beta=0.8, bias=True, seed=5)
    net = from_snntorch(seq)
    x = spikes_in(1, 30, 4)[0]
    _, mem = simulate(seq, x[None])
    t, d = 20, output_delay(net)
    e = explain(net, snntorch_inputs(net, x), t + d, method="lrp-epsilon", window=t + d + 1)
    assert e.logit == pytest.approx(float(mem[-1][0, t, e.target]), abs=1e-12)
    assert e.attribution.shape == (5, t + d + 1)  # bias channel + 4 inputs, steps 0..t+d of the input
    L = e.ledger
    scale = float(L.relevance_mass)
    assert abs(float(L.global_residual)) <= 1e-12 * scale
    assert float(L.continuity_residual.abs().max()) <= 1e-12 * scale
    assert float(e.attribution[:, t + 1:].abs().max()) == 0.0  # snnTorch's t depends on inputs up to t only


def test_save_load_round_trip(tmp_path):
    seq = build([3, 4, 2], beta=0.5, seed=6)  # β = 0.5: exp(-1/τ) reproduces it exactly
    net = from_snntorch(seq)
    assert net.metadata["beta_exact_in_config"]
    back = LIFNetwork.load(net.save(tmp_path / "conv.pt", **net.metadata))
    assert back.alpha == 0.0 and back.beta == net.beta
    x = snntorch_inputs(net, spikes_in(2, 20, 3))
    with torch.no_grad():
        np.testing.assert_array_equal(back(x).output.numpy(), net(x).output.numpy())


def test_conversion_leaves_the_global_rng_alone():
    seq = build([3, 4, 2], seed=7)
    state = torch.get_rng_state()
    from_snntorch(seq)
    assert torch.equal(state, torch.get_rng_state())


# --------------------------------------------------------------------------- bad inputs
def leaky(**kw):
    return snn.Leaky(beta=kw.pop("beta", 0.9), init_hidden=True, **kw)


@pytest.mark.parametrize("make,match", [
    (lambda: [nn.Linear(3, 2, bias=False), leaky()], r"expects an nn.Sequential"),
    (lambda: nn.Sequential(), r"alternating Linear and Leaky"),
    (lambda: nn.Sequential(nn.Linear(3, 2, bias=False)), r"alternating Linear and Leaky"),
    (lambda: nn.Sequential(nn.Linear(3, 4, bias=False), nn.Linear(4, 2, bias=False)),
     r"layer 1 \(torch.nn.modules.linear.Linear.*expected snntorch.Leaky"),
    (lambda: nn.Sequential(leaky(), nn.Linear(3, 2, bias=False)), r"layer 0 .*expected torch.nn.Linear"),
    (lambda: nn.Sequential(nn.Linear(3, 2, bias=False), snn.Synaptic(alpha=0.5, beta=0.9, init_hidden=True)),
     r"layer 1 .*Synaptic.*synaptic current"),
    (lambda: nn.Sequential(nn.Linear(3, 2, bias=False), nn.ReLU()), r"layer 1 .*ReLU.*expected snntorch.Leaky"),
    (lambda: nn.Sequential(nn.Linear(3, 4, bias=False), leaky(), nn.Linear(4, 2, bias=True), leaky()),
     r"layer 2 .*has a bias: only the first Linear"),
    (lambda: nn.Sequential(nn.Linear(3, 4, bias=False), leaky(), nn.Linear(5, 2, bias=False), leaky()),
     r"layer 2 .*in_features=5 does not match the 4 neurons"),
    (lambda: nn.Sequential(nn.Linear(3, 4, bias=False), leaky(reset_mechanism="none"), nn.Linear(4, 2, bias=False),
                           leaky()), r"layer 1 .*reset_mechanism='none'.*hidden layer"),
    (lambda: nn.Sequential(nn.Linear(3, 2, bias=False), leaky(reset_delay=False)), r"layer 1 .*reset_delay=False"),
    (lambda: nn.Sequential(nn.Linear(3, 2, bias=False), leaky(graded_spikes_factor=2.0)),
     r"layer 1 .*graded_spikes_factor"),
    (lambda: nn.Sequential(nn.Linear(3, 4, bias=False), leaky(beta=0.9), nn.Linear(4, 2, bias=False),
                           leaky(beta=0.8)), r"different beta across layers \(layer 1: .*layer 3: "),
    (lambda: nn.Sequential(nn.Linear(3, 4, bias=False), leaky(threshold=1.0), nn.Linear(4, 2, bias=False),
                           leaky(threshold=0.5)), r"different threshold across layers"),
    (lambda: nn.Sequential(nn.Linear(3, 2, bias=False), leaky(beta=torch.tensor([0.9, 0.8]))),
     r"layer 1: per-neuron beta \[0.89"),
])
def test_unsupported_layers_and_settings_raise(make, match):
    with pytest.raises(ValueError, match=match):
        from_snntorch(make())


def test_inhibition_is_rejected():
    with pytest.warns(UserWarning, match="Inhibition"):
        seq = nn.Sequential(nn.Linear(3, 2, bias=False), leaky(inhibition=True))
    with pytest.raises(ValueError, match=r"layer 1 .*inhibition=True"):
        from_snntorch(seq)


def test_accepted_variants():
    """Equal per-neuron β, a 'none' output layer with its own threshold, learnable β/θ."""
    seq = nn.Sequential(nn.Linear(3, 4, bias=False), leaky(beta=torch.full((4,), 0.75), learn_threshold=True),
                        nn.Linear(4, 2, bias=False), leaky(beta=0.75, threshold=5.0, reset_mechanism="none",
                                                           learn_beta=True)).double()
    net = from_snntorch(seq)
    assert net.readout == "leaky" and net.threshold == 1.0 and net.metadata["output_threshold"] == 5.0
    assert_layerwise(seq, net, spikes_in(2, 30, 3), atol=1e-12)


# --------------------------------------------------------------------------- NIR: snnTorch's own export
def per_neuron(seq):
    """snnTorch 1.0's NIR export (with nir 1.0.8) needs per-neuron beta/threshold tensors: the same model, so."""
    layers, n = [], None
    for m in seq:
        if isinstance(m, nn.Linear):
            layers.append(m)
            n = m.out_features
        else:
            layers.append(snn.Leaky(beta=m.beta.detach().expand(n).clone(), threshold=m.threshold.detach().expand(n)
                                    .clone(), reset_mechanism=m.reset_mechanism, init_hidden=True, output=m.output))
    return nn.Sequential(*layers)


def exported(export, *args):
    """A library's own NIR export; nirtorch 2.6 warns that the exporters' extract_nir_graph is deprecated."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "nirtorch.extract_nir_graph is being deprecated", DeprecationWarning)
        warnings.filterwarnings("ignore", "divide by zero", RuntimeWarning)  # snnTorch: tau = dt / (1 - beta), beta = 1
        return export(*args)


def snntorch_nir(seq, n_in):
    from snntorch.export_nir import export_to_nir
    return exported(export_to_nir, seq, torch.zeros(n_in))


def rockpool_nir(model):
    from rockpool.nn.modules.torch.nir import to_nir
    return exported(to_nir, model)


@needs("snntorch", "nir", "nirtorch")
@pytest.mark.parametrize("hidden", [[], [6], [6, 5]], ids=["1L", "2L", "3L"])
@pytest.mark.parametrize("bias", [False, True])
def test_nir_from_snntorch_export_reproduces_snntorch_step_for_step(hidden, bias):
    """snnTorch exports (dt = 1e-4 hard-coded); from_nir reproduces every layer of the *exported* model."""
    seq = per_neuron(build([4, *hidden, 3], beta=0.85, threshold=0.9, bias=bias, seed=len(hidden),
                           dtype=torch.float32))
    net = from_nir(snntorch_nir(seq, 4), dt=1e-4)
    assert net.metadata["convention"] == "snntorch" and net.reset == "subtract" and net.alpha == 0.0
    assert net.dtype == torch.float32 and net.sizes == [4 + bias, *hidden, 3]
    assert abs(net.beta - float(seq[1].beta[0])) <= 1e-7 and net.threshold == pytest.approx(0.9, abs=1e-7)
    x = spikes_in(3, 60, 4, dtype=torch.float32)
    rates = assert_layerwise(seq, net, x, atol=1e-5)  # float32: a few ulp of |mem| <= 15; spikes equal
    assert all(r > 0.02 for r in rates), "every layer must spike"
    spk, mem = simulate(seq, x)
    s2, m2 = run_as_snntorch(net, x)  # snnTorch's time convention for a network imported from its graph
    np.testing.assert_array_equal(s2.numpy(), spk[-1].numpy())
    np.testing.assert_allclose(m2.numpy(), mem[-1].numpy(), rtol=0, atol=1e-5)


@needs("snntorch", "nir", "nirtorch")
def test_nir_snntorch_synaptic_maps_to_alpha():
    """snnTorch's Synaptic, exported as CubaLIF: α = 1 - dt/τ_syn, one step late per layer as Leaky."""
    torch.manual_seed(3)
    l1, l2 = nn.Linear(3, 5, bias=False), nn.Linear(5, 2, bias=False)
    with torch.no_grad():
        l1.weight.normal_(0, 1.0), l2.weight.normal_(0.5, 1.0)
    syn = lambda n, out=False: snn.Synaptic(alpha=torch.full((n,), 0.6), beta=torch.full((n,), 0.8),  # noqa: E731
                                            threshold=torch.ones(n), init_hidden=True, output=out)
    seq = nn.Sequential(l1, syn(5), l2, syn(2, True))
    net = from_nir(snntorch_nir(seq, 3), dt=1e-4)
    assert abs(net.alpha - 0.6) < 1e-6 and abs(net.beta - 0.8) < 1e-6
    x = spikes_in(2, 50, 3, dtype=torch.float32)
    for m in seq:
        if isinstance(m, snn.Synaptic):
            m.reset_mem()
    with torch.no_grad():
        outs = [seq(x[:, t]) for t in range(x.shape[1])]
    spk, mem = torch.stack([o[0] for o in outs], 1), torch.stack([o[2] for o in outs], 1)
    s2, m2 = run_as_snntorch(net, x)
    np.testing.assert_array_equal(s2.numpy(), spk.numpy())
    np.testing.assert_allclose(m2.numpy(), mem.numpy(), rtol=0, atol=1e-5)
    assert spk.mean() > 0.02


@needs("snntorch", "nir", "nirtorch")
def test_nir_import_is_explained_with_a_balanced_ledger():
    seq = per_neuron(build([4, 6, 3], beta=0.8, bias=True, seed=5, dtype=torch.float32))
    net = from_nir(snntorch_nir(seq, 4), dt=1e-4, dtype=torch.float64)
    x = spikes_in(1, 30, 4)[0]
    t, d = 20, output_delay(net)
    e = explain(net, snntorch_inputs(net, x), t + d, method="lrp-epsilon", window=t + d + 1)
    _, mem = simulate(seq, x[None].float())
    assert e.logit == pytest.approx(float(mem[-1][0, t, e.target]), abs=1e-5)
    scale = float(e.ledger.relevance_mass)
    assert abs(float(e.ledger.global_residual)) <= 1e-12 * scale


# --------------------------------------------------------------------------- NIR: Rockpool's own export
def rockpool_net(tau_mem, seed=0, dt=1e-3, n=(4, 6, 3)):
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFTorch, LinearTorch
    torch.manual_seed(seed)
    lin1, lin2 = LinearTorch((n[0], n[1])), LinearTorch((n[1], n[2]))
    with torch.no_grad():
        lin1.weight.mul_(2.0), lin2.weight.mul_(2.0)
    return Sequential(lin1, LIFTorch(n[1], tau_mem=tau_mem, tau_syn=0.02, dt=dt, max_spikes_per_dt=1),
                      lin2, LIFTorch(n[2], tau_mem=tau_mem, tau_syn=0.01, dt=dt, max_spikes_per_dt=1)), dt


@needs("rockpool", "nir", "nirtorch")
def test_nir_from_rockpool_export_reproduces_rockpool_step_for_step():
    """Rockpool's LIFTorch (integrate-and-fire: β = 1 in float32) exported by Rockpool's to_nir, every layer."""
    model, dt = rockpool_net(tau_mem=1e6)
    # tau_syn differs per layer here, which spikeflux cannot share: same tau_syn in both layers instead
    model[3].tau_syn.data.fill_(0.02)
    net = from_nir(rockpool_nir(model), dt=dt, convention="rockpool")
    assert net.beta == 1.0 and net.alpha == float(torch.exp(-torch.tensor(dt) / torch.tensor(0.02)))
    x = spikes_in(2, 80, 4, dtype=torch.float32)
    out, _, rec = model(x, record=True)
    with torch.no_grad():
        r = net(x, record=True).record
    T = x.shape[1]
    for l, name in ((1, "1_LIFTorch"), (2, "3_LIFTorch")):
        spikes = rec[f"{name}_output"] if l == 1 else out
        assert spikes.detach().mean() > 0.02, "every layer must spike"
        np.testing.assert_array_equal(r.spikes[l][:, l:l + T - l].numpy(), spikes.detach()[:, :T - l].numpy())
        # Rockpool records the membrane after its reset: U^l[t + l - 1] - θ z[t]
        v = rec[name]["vmem"].detach()
        after_reset = r.mem[l - 1][:, l - 1:T - 1] - net.threshold * r.spikes[l][:, l:T - l + l]
        # float32 round-off: an integrate-and-fire membrane sums it over the steps (measured 1e-6 of max |v|)
        np.testing.assert_allclose(after_reset.numpy(), v[:, :T - l].numpy(), rtol=0, atol=1e-5 * float(v.abs().max()))
    s2, m2 = run_as_snntorch(net, x)
    np.testing.assert_array_equal(s2.numpy(), out.detach().numpy())


@needs("rockpool", "nir", "nirtorch")
def test_nir_rockpool_leaky_membrane_is_refused_and_would_differ():
    """A leaky LIFTorch: the refusal names the node and the reason, and the naive mapping really differs."""
    model, dt = rockpool_net(tau_mem=0.02)
    model[3].tau_syn.data.fill_(0.02)
    with pytest.raises(ValueError, match=r"NIR node '1_LIFTorch' \(CubaLIF\): a leaky membrane .*before the leak"):
        from_nir(rockpool_nir(model), dt=dt, convention="rockpool")
    # the mapping that ignores the order of reset and leak: spikeflux with beta = exp(-dt/tau_mem)
    x = spikes_in(2, 80, 4, dtype=torch.float32)
    out, _, _ = model(x, record=True)
    naive, _ = rockpool_net(tau_mem=1e6)
    naive[3].tau_syn.data.fill_(0.02)
    net = from_nir(rockpool_nir(naive), dt=dt, convention="rockpool")
    net.beta = float(torch.exp(-torch.tensor(dt) / torch.tensor(0.02)))
    s2, _ = run_as_snntorch(net, x)
    assert out.detach().sum() > 0 and not torch.equal(s2, out.detach())


@needs("rockpool", "nir", "nirtorch")
def test_nir_rockpool_wrong_dt_is_refused():
    model, dt = rockpool_net(tau_mem=1e6)
    with pytest.raises(ValueError, match=r"r=.* does not match Rockpool's export at dt=0.01"):
        from_nir(rockpool_nir(model), dt=10 * dt, convention="rockpool")


# --------------------------------------------------------------------------- NIR: round trip and refusals
def native(reset="zero", readout="spiking", sizes=(5, 7, 3), seed=0, dtype=torch.float64, **kw):
    return LIFNetwork(list(sizes), dt=1e-3, tau_syn=1e-2, tau_mem=2e-2, reset=reset, readout=readout,
                      weight_scale=3.0, seed=seed, dtype=dtype, **kw)


@needs("nir")
@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("readout", ["spiking", "leaky"])
@pytest.mark.parametrize("via_file", [False, True])
def test_nir_round_trip_is_exact(reset, readout, via_file, tmp_path):
    import nir
    net = native(reset, readout)
    graph = to_nir(net)
    if via_file:
        nir.write(tmp_path / "net.nir", graph)
        graph = tmp_path / "net.nir"
    back = from_nir(graph, dt=1e-3, convention="spikeflux")
    assert (back.alpha, back.beta, back.threshold, back.reset, back.readout, back.sizes) == \
        (net.alpha, net.beta, net.threshold, net.reset, net.readout, net.sizes)
    for a, b in zip(back.weights, net.weights):
        assert torch.equal(a, b)
    x = spikes_in(2, 80, 5)
    with torch.no_grad():
        assert torch.equal(back(x).output, net(x).output)
    kinds = [type(n).__name__ for n in to_nir(net).nodes.values()]
    assert kinds.count("CubaLIF") == (2 if readout == "spiking" else 1) and ("CubaLI" in kinds) == (readout == "leaky")


@needs("snntorch", "nir", "nirtorch")
def test_nir_round_trip_of_an_imported_network_is_exact():
    """from_nir -> to_nir -> from_nir: the exact decays and the bias channel survive."""
    seq = per_neuron(build([4, 6, 3], beta=0.7, bias=True, seed=2, dtype=torch.float32))
    net = from_nir(snntorch_nir(seq, 4), dt=1e-4)
    back = from_nir(to_nir(net), dt=1.0, convention="spikeflux")
    assert (back.alpha, back.beta, back.sizes, back.reset) == (net.alpha, net.beta, net.sizes, net.reset)
    assert to_nir(net).nodes["linear1"].__class__.__name__ == "Affine"
    x = snntorch_inputs(net, spikes_in(2, 40, 4, dtype=torch.float32))
    with torch.no_grad():
        assert torch.equal(back(x).output, net(x).output)


@needs("nir")
def test_nir_refusals_name_the_node_and_the_reason():
    import nir
    lin = lambda n, m: nir.Linear(weight=np.ones((n, m)))  # noqa: E731
    lif = lambda n, **kw: nir.LIF(**{"tau": np.full(n, 1e-3), "r": np.full(n, 10.0), "v_leak": np.zeros(n),  # noqa: E731
                                     "v_threshold": np.ones(n), **kw})
    cases = [
        (nir.NIRGraph.from_list(lin(2, 3), lif(2, v_leak=np.full(2, 0.5))), r"'lif'.*v_leak=\[0.5, 0.5\]"),
        (nir.NIRGraph.from_list(lin(2, 3), lif(2, v_reset=np.full(2, 0.2))), r"'lif'.*v_reset"),
        (nir.NIRGraph.from_list(lin(2, 3), lif(2, v_threshold=np.array([1.0, 2.0]))), r"'lif'.*per-neuron v_threshold"),
        (nir.NIRGraph.from_list(lin(2, 3), lif(2, tau=np.full(2, 1e-5))), r"'lif'.*outside \[0, 1\].*shorter than dt"),
        (nir.NIRGraph.from_list(lin(2, 3), lif(2), nir.Affine(weight=np.ones((2, 2)), bias=np.ones(2)), lif(2)),
         r"'affine' \(Affine\) has a bias: only the first layer"),
        (nir.NIRGraph.from_list(lin(2, 3), nir.IF(r=np.ones(2), v_threshold=np.ones(2))), r"'if' \(IF\) is not supported"),
        (nir.NIRGraph.from_list(lin(2, 3), lif(2), lin(2, 2), nir.LIF(tau=np.full(2, 2e-3), r=np.full(2, 20.0),
                                                                      v_leak=np.zeros(2), v_threshold=np.ones(2))),
         r"different beta across layers"),
    ]
    for graph, match in cases:
        with pytest.raises(ValueError, match=match):
            from_nir(graph, dt=1e-4)
    with pytest.raises(ValueError, match=r"convention must be one of"):
        from_nir(cases[0][0], dt=1e-4, convention="norse")
    with pytest.raises(ValueError, match=r"dt must be a positive time step"):
        from_nir(cases[0][0], dt=0)
    with pytest.raises(TypeError, match=r"graph: expected a nir.NIRGraph"):
        from_nir({"nodes": {}}, dt=1e-4)
    with pytest.raises(ValueError, match=r"recurrent weights are not exported"):
        to_nir(native(recurrent=True))


@needs("snntorch", "nir", "nirtorch")
@given(networks(), st.integers(1, 25), st.integers(0, 2**31))
@settings(max_examples=25, **SETTINGS)
def test_nir_random_snntorch_exports_layer_by_layer(case, T, x_seed):
    """Random sizes, depths, β (0 and 1 included), θ, first-layer biases: snnTorch's export, every layer, float32."""
    case = dict(case, last_reset="subtract")  # the exporter writes every Leaky as LIF; a 'none' readout is not told
    seq = per_neuron(build(**case, dtype=torch.float32))
    net = from_nir(snntorch_nir(seq, case["sizes"][0]), dt=1e-4)
    assert net.alpha == 0.0 and abs(net.beta - case["beta"]) <= 1e-6
    x = spikes_in(2, T, case["sizes"][0], seed=x_seed, dtype=torch.float32)
    spk, mem = simulate(seq, x)
    scale = max(1.0, max(float(m.abs().max()) for m in mem))
    assert_layerwise(seq, net, x, atol=1e-5 * scale)


@needs("snntorch", "nir", "nirtorch")
def test_nir_snntorch_export_through_a_file(tmp_path):
    import nir
    seq = per_neuron(build([4, 6, 3], beta=0.9, bias=True, seed=8, dtype=torch.float32))
    nir.write(tmp_path / "snntorch.nir", snntorch_nir(seq, 4))
    net = from_nir(tmp_path / "snntorch.nir", dt=1e-4)
    same = from_nir(snntorch_nir(seq, 4), dt=1e-4)
    assert (net.beta, net.sizes) == (same.beta, same.sizes)
    for a, b in zip(net.weights, same.weights):
        assert torch.equal(a, b)
