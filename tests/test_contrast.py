"""The explained quantity: ``explain(..., contrast=None | "mean" | "runner-up" | weights)``.

A contrast explains :math:`\\sum_j w_j U^L_j[t^*]`. LRP starts every output node the contrast
reads with :math:`w_j U^L_j[t^*]` (signed), so the ledger's ``relevance_init`` is the explained
quantity and conservation holds as before; checked against the slow node-by-node reference.
Gradient methods differentiate the same quantity (linear in the per-class gradients); TSA and
SAM keep their published definition.
"""

import numpy as np
import pytest
import torch

from spikeflux.explain import explain
from spikeflux.explain.registry import readout_weights
from spikeflux.snn import LIFNetwork
from tests.references.transport import reference

REF = {"lrp-0": dict(rule="epsilon", eps=0.0), "lrp-epsilon": dict(rule="epsilon", eps=1e-3),
       "lrp-zplus": dict(rule="alphabeta", alpha=1.0, beta=0.0),
       "lrp-alphabeta": dict(rule="alphabeta", alpha=2.0, beta=1.0)}
OPTS = {"lrp-0": {}, "lrp-epsilon": dict(epsilon=1e-3), "lrp-zplus": {}, "lrp-alphabeta": dict(alpha=2.0, beta=1.0)}


def readout(net, x):
    with torch.no_grad():
        return net(x[None]).output[0]


def spiking_case(sizes, seed, T=16, **switches):
    net = LIFNetwork(sizes, weight_scale=4.0, tau_mem=5e-3, seed=seed, dtype=torch.float64, **switches)
    x = (torch.rand(T, sizes[0], generator=torch.Generator().manual_seed(seed)) < 0.5).double()
    x[:, 0] = 1.0
    return net, x


def test_readout_weights_by_hand():
    U = torch.tensor([[0.5, 2.0, -1.0, 1.5]], dtype=torch.float64)
    c = torch.tensor([1])
    assert readout_weights(U, c, None) is None
    np.testing.assert_allclose(readout_weights(U, c, "mean").numpy(), [[-1 / 3, 1, -1 / 3, -1 / 3]])
    np.testing.assert_allclose(readout_weights(U, c, "runner-up").numpy(), [[0, 1, 0, -1]])  # k2 = 3 (1.5)
    np.testing.assert_allclose(readout_weights(U, torch.tensor([3]), "runner-up").numpy(), [[0, -1, 0, 1]])
    with pytest.raises(ValueError, match="contrast must be"):
        readout_weights(U, c, "median")
    with pytest.raises(ValueError, match="shape"):
        readout_weights(U, c, torch.ones(3))


@pytest.mark.parametrize("method", sorted(REF))
@pytest.mark.parametrize("contrast", ["mean", "runner-up", "weights"])
@pytest.mark.parametrize("sizes,switches", [([3, 4], {}), ([3, 5, 4], {}), ([3, 5, 4, 3], dict(reset="subtract")),
                                            ([3, 5, 3], dict(readout="leaky"))])
def test_contrast_start_equals_reference_and_conserves(method, contrast, sizes, switches):
    net, x = spiking_case(sizes, seed=len(sizes) * 7 + len(switches), **switches)
    t, window = 14, 10
    c = readout(net, x)[t].argmax().item()
    arg = torch.linspace(-1, 1, sizes[-1], dtype=torch.float64) if contrast == "weights" else contrast
    e = explain(net, x, t, method=method, window=window, contrast=arg, **OPTS[method])
    w = readout_weights(readout(net, x)[t][None], torch.tensor([c]), arg)[0]
    ref = reference(net, x, t, c, window, readout=w.tolist(), **REF[method])
    L = e.ledger
    explained = float((w * readout(net, x)[t]).sum())
    assert float(L.relevance_init) == pytest.approx(explained, rel=1e-13, abs=1e-300)
    assert float(e.info["explained_value"]) == pytest.approx(explained, rel=1e-13, abs=1e-300)
    scale = float(L.relevance_mass) + 1e-300
    np.testing.assert_allclose(e.attribution.numpy(), ref["attribution"], rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(L.flux.numpy(), ref["flux"], rtol=0, atol=1e-10 * scale)
    assert abs(float(L.global_residual)) <= 1e-12 * scale
    assert float(L.continuity_residual.abs().max()) <= 1e-12 * scale
    # LRP is linear in the start: the contrast map is the w-weighted sum of the per-class maps
    per_class = sum(float(w[j]) * explain(net, x, t, method=method, window=window, target=j, **OPTS[method]).attribution
                    for j in range(sizes[-1]) if float(w[j]) != 0)
    np.testing.assert_allclose(e.attribution.numpy(), per_class.numpy(), rtol=0, atol=1e-10 * scale)


def test_contrast_conserves_relative_to_r_init_for_lrp0():
    """Without sign changes in the coefficients (LRP-0, no zero denominators): 1e-12 of |R_init|."""
    net, x = spiking_case([3, 5, 4], seed=3, T=40)
    e = explain(net, x, [30, 35, 39], method="lrp-0", window=25, contrast="runner-up")
    L = e.ledger
    assert (L.relevance_init > 0).all()  # the winner minus the runner-up
    total = L.absorbed + L.sink_total
    np.testing.assert_allclose(total.numpy(), L.relevance_init.numpy(), rtol=1e-12, atol=0)


def test_gradient_methods_differentiate_the_contrast():
    net, x = spiking_case([3, 6, 4], seed=5, T=30)
    t, window = 28, 20
    out = readout(net, x)[t]
    c = int(out.argmax())
    w = readout_weights(out[None], torch.tensor([c]), "mean")[0]
    e = explain(net, x, t, method="saliency", window=window, contrast="mean", abs=False)
    per = sum(float(w[j]) * explain(net, x, t, method="saliency", window=window, target=j, abs=False).attribution
              for j in range(4))
    np.testing.assert_allclose(e.attribution.numpy(), per.numpy(), rtol=1e-9, atol=1e-12)
    assert e.info["explained"].startswith("U_c[t*] - mean")
    ig = explain(net, x, t, method="integrated-gradients", window=window, contrast="mean", n_steps=4, bias_channel=0)
    assert float(ig.info["f_input"]) == pytest.approx(float((w * out).sum()), rel=1e-12)
    # the baseline keeps the bias channel on: f(x̄) is that of a window with only the bias spiking
    base = x.clone()
    base[t - window + 1: t + 1, 1:] = 0
    f_bar = float((w * readout(net, base)[t]).sum())
    assert float(ig.info["f_baseline"]) == pytest.approx(f_bar, rel=1e-9, abs=1e-12)
    assert ig.info["completeness_gap"] == pytest.approx(ig.attribution.sum() - (ig.info["f_input"] - f_bar))


def test_tsa_keeps_its_published_definition():
    net, x = spiking_case([3, 6, 4], seed=2, T=30)
    a = explain(net, x, 28, method="tsa-ns", window=20)
    b = explain(net, x, 28, method="tsa-ns", window=20, contrast="runner-up")
    np.testing.assert_array_equal(a.attribution.numpy(), b.attribution.numpy())
    assert "published" in b.info["explained"]


def test_batch_of_sequences_contrast_rows_equal_single_calls():
    net, x = spiking_case([3, 6, 4], seed=9, T=30)
    X = torch.stack([x, x.roll(5, 0), x.flip(0)])
    eb = explain(net, X, 29, method="lrp-epsilon", window=20, contrast="runner-up")
    for k in range(3):
        e = explain(net, X[k], 29, method="lrp-epsilon", window=20, contrast="runner-up")
        np.testing.assert_allclose(eb.attribution[k].numpy(), e.attribution.numpy(), rtol=1e-12, atol=1e-14)
        assert float(eb.info["explained_value"][k]) == pytest.approx(float(e.info["explained_value"]))


def test_contrast_with_non_logit_init_is_refused():
    net, x = spiking_case([3, 4], seed=1)
    with pytest.raises(ValueError, match="init"):
        explain(net, x, 10, method="lrp-epsilon", window=5, contrast="mean", init="probability")
