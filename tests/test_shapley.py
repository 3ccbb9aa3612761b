"""Exact Shapley values (``shapley-exact``) and the Captum baselines over features (``shapley-sampling``,
``kernel-shap``, ``occlusion``).

The exact values are checked against an independent enumeration over feature orders (separate
full-sequence forward passes from step 0, not the batched coalition game), and for the Shapley
axioms: efficiency, symmetry, null player; on a linear network they equal DeepLIFT's feature sums.
"""

import itertools
import math
import time

import numpy as np
import pytest
import torch

from spikeflux.explain import explain
from spikeflux.explain.shapley import check_features, default_features, shapley_from_values
from spikeflux.snn import LIFNetwork


def make(sizes, seed=0, dtype=torch.float64, **kw):
    return LIFNetwork(sizes, tau_syn=1e-2, tau_mem=3e-3, weight_scale=3.0, seed=seed, dtype=dtype, **kw)


def spikes(T, n_in=3, p=0.5, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(T, n_in, generator=g) < p).to(dtype)
    x[:, 0] = 1.0
    return x


def value(net, x, t, w, ids, kept):
    """v(C) by a plain forward pass over the whole sequence with the removed features' cells set to 0."""
    window = ids.shape[1]
    xm = x[: t + 1].clone()
    block = xm[t - window + 1:].T  # (n_in, window) view
    for f in range(int(ids.max()) + 1):
        if f not in kept:
            block[ids == f] = 0.0
    with torch.no_grad():
        return float((net(xm[None]).output[0, t] * w).sum())


def enumerate_shapley(net, x, t, w, ids):
    """Shapley values by averaging marginal contributions over all n! feature orders."""
    n = int(ids.max()) + 1
    cache = {}

    def v(c):
        key = frozenset(c)
        if key not in cache:
            cache[key] = value(net, x, t, w, ids, key)
        return cache[key]

    phi = np.zeros(n)
    for order in itertools.permutations(range(n)):
        kept = set()
        for f in order:
            before = v(kept)
            kept.add(f)
            phi[f] += v(kept) - before
    return phi / math.factorial(n), v(set()), v(set(range(n)))


@pytest.mark.parametrize("sizes,switches", [([3, 6, 4], {}), ([3, 6, 5, 4], dict(reset="subtract")),
                                            ([3, 6, 4], dict(readout="leaky", recurrent=True))])
def test_exact_equals_independent_enumeration(sizes, switches):
    net = make(sizes, seed=1, **switches)
    x = spikes(50, seed=2)
    t, window = 49, 12
    ids = default_features(3, window, max_features=5)  # 2 channels x 2 segments of 6 steps
    assert int(ids.max()) + 1 == 4
    e = explain(net, x, t, method="shapley-exact", window=window, features=ids, contrast="runner-up")
    with torch.no_grad():
        out = net(x[None]).output[0, t]
    w = torch.zeros(4, dtype=torch.float64)
    w[e.target] = 1.0
    w[int(torch.where(torch.arange(4) == e.target, -torch.inf, out).argmax())] = -1.0
    phi, v0, v1 = enumerate_shapley(net, x, t, w, ids)
    np.testing.assert_allclose(e.info["feature_values"][0].numpy(), phi, rtol=0, atol=1e-10)
    assert abs(phi).max() > 1e-3  # a game with something in it
    assert float(e.attribution.sum()) == pytest.approx(v1 - v0, abs=1e-10)  # efficiency
    assert float(e.info["v_full"][0]) == pytest.approx(float((out * w).sum()), abs=1e-12)


def test_batch_of_sequences_and_several_targets():
    net = make([3, 6, 4], seed=3)
    X = torch.stack([spikes(40, seed=s) for s in range(3)])
    ids = default_features(3, 10, max_features=6)
    batch = explain(net, X, [39, 35, 30], method="shapley-exact", window=10, features=ids)
    for k, tk in enumerate([39, 35, 30]):
        w = torch.nn.functional.one_hot(batch.target[k], 4).double()
        phi, _, _ = enumerate_shapley(net, X[k], tk, w, ids)
        np.testing.assert_allclose(batch.info["feature_values"][k].numpy(), phi, atol=1e-10)
    multi = explain(net, X[0], [39, 30], method="shapley-exact", window=10, features=ids)
    one = explain(net, X[0], 30, method="shapley-exact", window=10, features=ids)
    np.testing.assert_allclose(multi.attribution[1].numpy(), one.attribution.numpy(), atol=1e-12)


def test_symmetry_and_null_player():
    """Channels 1 and 2 identical (same weights, same spikes): equal values; channel 3 unconnected: 0."""
    net = make([4, 6, 4], seed=4, readout="leaky")
    with torch.no_grad():
        net.weights[0][:, 2] = net.weights[0][:, 1]
        net.weights[0][:, 3] = 0.0
    x = spikes(40, n_in=4, seed=4)
    x[:, 2] = x[:, 1]
    window = 8
    ids = torch.full((4, window), -1, dtype=torch.long)
    ids[1], ids[2], ids[3] = 0, 1, 2  # one feature per channel: 0 and 1 are identical players
    ids[1, 4:] = 3  # the last four steps of channel 1 (silent there: a null player too)
    assert x[39 - window + 1 + 4: 40, 1].sum() == 0 and x[39 - window + 1: 40 - 4, 1].sum() > 0
    phi = explain(net, x, 39, method="shapley-exact", window=window, features=ids).info["feature_values"][0]
    assert float(phi[0]) == pytest.approx(float(phi[1]), abs=1e-12) and abs(float(phi[0])) > 1e-3
    assert float(phi[2]) == 0.0 and float(phi[3]) == 0.0  # null players, exactly


def test_linear_network_equals_deeplift_feature_sums():
    """1L leaky readout is linear in the input: each feature's Shapley value is its cells' linear terms,
    which is what DeepLIFT (and the exact decomposition) gives them."""
    net = make([3, 4], seed=5, readout="leaky")
    x = spikes(60, seed=5)
    window = 16
    ids = default_features(3, window, max_features=8)
    sh = explain(net, x, 59, method="shapley-exact", window=window, features=ids, target=1)
    dl = explain(net, x, 59, method="deeplift", window=window, target=1)
    fv = torch.zeros(8, dtype=torch.float64).index_add_(0, ids[ids >= 0], dl.attribution[ids >= 0])
    np.testing.assert_allclose(sh.info["feature_values"][0].numpy(), fv.numpy(), atol=1e-12)


def test_sixteen_features_on_a_synthetic_size_network_in_seconds():
    torch.manual_seed(0)
    net = make([3, 10, 10, 4], seed=6, dtype=torch.float32)
    x = spikes(400, seed=6, dtype=torch.float32)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small element-wise ops: one thread is fastest, and robust to a loaded machine
    try:
        start = time.process_time()  # CPU seconds of this process: the cost, not the shared machine's load
        e = explain(net, x, 399, method="shapley-exact", window=64)
        seconds = time.process_time() - start
    finally:
        torch.set_num_threads(threads)
    assert e.info["n_features"] == 16 and e.info["evaluations"] == 2 ** 16
    assert seconds < 10, f"16 features took {seconds:.1f} s"
    assert float(e.info["feature_values"].sum()) == pytest.approx(
        float(e.info["v_full"][0] - e.info["v_empty"][0]), abs=1e-4)


def test_default_features_and_errors():
    ids = default_features(3, 10, max_features=16)  # 2 channels x 8 segments of 2 steps (5 fit): 5 each
    assert ids.shape == (3, 10) and (ids[0] == -1).all()
    assert ids[1].tolist() == [4, 4, 3, 3, 2, 2, 1, 1, 0, 0] and ids[2].tolist() == [9, 9, 8, 8, 7, 7, 6, 6, 5, 5]
    ids = default_features(3, 100, max_features=4, segment=10)  # the 2 most recent 10-step segments
    assert (ids[1, :80] == -1).all() and ids[1, 80:].tolist() == [1] * 10 + [0] * 10
    check_features(ids, 3, 100)
    with pytest.raises(ValueError, match=r"features: expected shape \(n_in=3, window=100\)"):
        check_features(ids.T, 3, 100)
    with pytest.raises(ValueError, match="without gaps"):
        check_features(torch.where(ids == 1, 5, ids), 3, 100)
    with pytest.raises(ValueError, match="integer array"):
        check_features(ids.double(), 3, 100)
    net, x = make([3, 4, 4]), spikes(40)
    with pytest.raises(ValueError, match="enumerates at most 20"):
        explain(net, x, 39, method="shapley-exact", window=30, max_features=30)
    with pytest.raises(ValueError, match="shapley-exact: unknown option"):
        explain(net, x, 39, method="shapley-exact", window=10, n_samples=3)


def test_shapley_from_values_on_a_known_game():
    """The glove game: v = 1 iff player 0 and one of players 1, 2 are in: phi = (2/3, 1/6, 1/6)."""
    n = 3
    v = torch.tensor([[float(bool(m & 1) and bool(m & 6)) for m in range(2 ** n)]], dtype=torch.float64)
    np.testing.assert_allclose(shapley_from_values(v, n)[0].numpy(), [2 / 3, 1 / 6, 1 / 6], atol=1e-15)


# ---------------------------------------------------------------------------- Captum baselines
@pytest.fixture(scope="module")
def game():
    net = make([3, 6, 4], seed=12, readout="leaky")
    x = spikes(50, seed=12)
    ids = default_features(3, 12, max_features=6)  # 6 features
    exact = explain(net, x, 49, method="shapley-exact", window=12, features=ids)
    assert exact.info["feature_values"].abs().min() > 1e-3  # every feature matters
    return net, x, ids, exact


def test_occlusion_is_one_feature_removed(game):
    net, x, ids, exact = game
    e = explain(net, x, 49, method="occlusion", window=12, features=ids)
    w = torch.nn.functional.one_hot(torch.tensor(exact.target), 4).double()
    full = value(net, x, 49, w, ids, set(range(6)))
    expected = [full - value(net, x, 49, w, ids, set(range(6)) - {f}) for f in range(6)]
    np.testing.assert_allclose(e.info["feature_values"][0].numpy(), expected, atol=1e-10)
    assert e.info["evaluations"] == 7


def test_shapley_sampling_is_efficient_and_converges(game):
    net, x, ids, exact = game
    phi = exact.info["feature_values"][0]
    few = explain(net, x, 49, method="shapley-sampling", window=12, features=ids, n_samples=5)
    many = explain(net, x, 49, method="shapley-sampling", window=12, features=ids, n_samples=400)
    gap = float(exact.info["v_full"][0] - exact.info["v_empty"][0])
    for e in (few, many):  # every sampled order's contributions add up to v(all) - v(empty)
        assert float(e.info["feature_values"].sum()) == pytest.approx(gap, rel=1e-5)  # Captum sums in float32
    err_few = float((few.info["feature_values"][0] - phi).abs().max())
    err_many = float((many.info["feature_values"][0] - phi).abs().max())
    assert err_many < 0.1 * float(phi.abs().max()) and err_many < err_few
    assert many.info["evaluations"] == 400 * 6 + 1


def test_kernel_shap_approaches_the_exact_values_and_is_seeded(game):
    net, x, ids, exact = game
    phi = exact.info["feature_values"][0]
    state = torch.random.get_rng_state()
    e = explain(net, x, 49, method="kernel-shap", window=12, features=ids, n_samples=1000)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global generator is untouched
    assert float((e.info["feature_values"][0] - phi).abs().max()) < 0.05 * float(phi.abs().max())
    again = explain(net, x, 49, method="kernel-shap", window=12, features=ids, n_samples=1000)
    assert torch.equal(again.attribution, e.attribution)
    other = explain(net, x, 49, method="kernel-shap", window=12, features=ids, n_samples=1000, seed=1)
    assert not torch.equal(other.attribution, e.attribution)


def test_baseline_options_are_checked(game):
    net, x, ids, _ = game
    with pytest.raises(ValueError, match="n_samples must be a positive int"):
        explain(net, x, 49, method="shapley-sampling", window=12, n_samples=0)
    with pytest.raises(ValueError, match="occlusion: unknown option"):
        explain(net, x, 49, method="occlusion", window=12, n_samples=5)
    with pytest.raises(ValueError, match="seed must be an int"):
        explain(net, x, 49, method="kernel-shap", window=12, seed=1.5)


def test_agreement_measures_known_answers():
    from spikeflux.explain.agreement import feature_sums, spearman, top_k

    ids = torch.tensor([[-1, -1, -1], [0, 0, 1], [2, 2, 1]])
    A = torch.arange(9, dtype=torch.float64).reshape(1, 3, 3)  # cells 0..8, row-major
    np.testing.assert_allclose(feature_sums(A, ids, 3).numpy(), [[3 + 4, 5 + 8, 6 + 7]])
    assert top_k(np.array([3.0, -5.0, 1.0, 0.0]), np.array([-4.0, 2.0, 0.5, 6.0]), 2) == 0.5
    assert top_k(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]), 3) == 1.0
    assert spearman(np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])) == pytest.approx(-1.0)
    assert np.isnan(spearman(np.zeros(3), np.array([1.0, 2.0, 3.0])))
