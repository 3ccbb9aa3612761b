"""The frictions a new user hit (issue 17): each bad input gets an error naming the argument or file and what was expected."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from spikeflux.explain import explain
from spikeflux.snn import LIFNetwork


@pytest.fixture
def net():
    return LIFNetwork([4, 6, 3], dt=1e-3, tau_syn=1e-2, tau_mem=2e-2, weight_scale=3.0, seed=0, dtype=torch.float64)


@pytest.fixture
def x():
    return (torch.rand(30, 4, generator=torch.Generator().manual_seed(0)) < 0.4).double()


# --------------------------------------------------------------------------- LIFNetwork.load / save
@pytest.mark.parametrize("content", [b"hello, this is a text file\n", b"", None], ids=["text", "empty", "truncated"])
def test_load_of_a_file_that_is_not_a_model_names_the_file(tmp_path, net, content):
    path = tmp_path / "model.pt"
    if content is None:  # a real model file cut in half
        data = net.save(tmp_path / "full.pt").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=rf"{path}: not a spikeflux model file \(expected a spikeflux model file "
                                         rf"written by LIFNetwork.save"):
        LIFNetwork.load(path)


def test_load_of_another_torch_file_names_the_file_and_format(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.ones(2)}, path)
    with pytest.raises(ValueError, match=rf"{path}: not a spikeflux model file .*format 'spikeflux.LIFNetwork/1'"):
        LIFNetwork.load(path)
    with pytest.raises(FileNotFoundError, match=r"missing.pt: no such model file"):
        LIFNetwork.load(tmp_path / "missing.pt")


def test_save_checks_metadata_before_writing(tmp_path, net):
    path = tmp_path / "m.pt"
    with pytest.raises(ValueError, match=r"metadata\['mask'\]: numpy.ndarray cannot be saved.*\.tolist\(\)"):
        net.save(path, mask=np.ones(3))
    with pytest.raises(ValueError, match=r"metadata\['cfg'\]\['rate'\]: numpy.float64 cannot be saved"):
        net.save(path, cfg={"rate": np.float64(0.5)})
    assert not path.exists()
    back = LIFNetwork.load(net.save(path, mask=[1.0, 1.0], t=torch.arange(3), note=None))
    assert back.metadata["mask"] == [1.0, 1.0] and torch.equal(back.metadata["t"], torch.arange(3))


def test_save_keeps_net_metadata_and_exact_decays(tmp_path, net):
    net.metadata = {"converted_from": "snntorch", "output_delay": 1}
    net.beta = 0.8000000000000003  # set directly, as a converter does: not exp(-dt/tau_mem)
    back = LIFNetwork.load(net.save(tmp_path / "m.pt", extra=1))
    assert back.metadata == {"converted_from": "snntorch", "output_delay": 1, "extra": 1}
    assert back.beta == net.beta and back.alpha == net.alpha


def test_converted_network_reloaded_runs_as_snntorch(tmp_path):
    snn = pytest.importorskip("snntorch", reason="snntorch is not installed (pip install 'spikeflux[snntorch]')")
    from spikeflux.interop import from_snntorch, run_as_snntorch
    torch.manual_seed(0)
    seq = nn.Sequential(nn.Linear(3, 4), snn.Leaky(beta=0.7, init_hidden=True), nn.Linear(4, 2, bias=False),
                        snn.Leaky(beta=0.7, init_hidden=True, output=True)).double()
    net = from_snntorch(seq)
    back = LIFNetwork.load(net.save(tmp_path / "conv.pt"))
    xs = (torch.rand(2, 20, 3, generator=torch.Generator().manual_seed(1)) < 0.5).double()
    for a, b in zip(run_as_snntorch(net, xs), run_as_snntorch(back, xs)):
        assert torch.equal(a, b)


# --------------------------------------------------------------------------- explain(): t, window, x, net
def test_numpy_integer_and_0d_tensor_steps_are_accepted(net, x):
    ref = explain(net, x, 20, method="lrp-epsilon", window=10).attribution
    for t in (np.int64(20), np.argmax(np.arange(21)), torch.tensor(20), np.array(20)):
        e = explain(net, x, t, method="lrp-epsilon", window=10)
        assert e.t == 20 and torch.equal(e.attribution, ref)
    many = explain(net, x, np.array([10, 20]), method="lrp-epsilon", window=10)
    assert torch.equal(many.attribution[1], ref)


@pytest.mark.parametrize("t", [20.0, np.float32(20.0), torch.tensor(20.0), [10, 20.5]])
def test_float_steps_are_refused(net, x, t):
    with pytest.raises(ValueError, match=r"t: steps are integers \(int, numpy integer or an integer tensor\), got"):
        explain(net, x, t, method="lrp-epsilon", window=5)


def test_float_window_is_refused_not_truncated(net, x):
    with pytest.raises(ValueError, match=r"window: steps are integers .*got 10.7 \(float\); round it explicitly"):
        explain(net, x, 20, method="lrp-epsilon", window=10.7)
    assert explain(net, x, 20, method="lrp-epsilon", window=np.int32(10)).window == 10


@pytest.mark.parametrize("method", ["lrp-epsilon", "tsa-s", "saliency"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_input_names_x(net, x, method, bad):
    x = x.clone()
    x[5, 2] = bad
    with pytest.raises(ValueError, match=r"x: 1 non-finite value\(s\) \(NaN or inf\), the first at index \(5, 2\)"):
        explain(net, x, 20, method=method, window=10)


@pytest.mark.parametrize("method", ["tsa-s", "tsa-ns", "sam"])
def test_tsa_refuses_non_binary_input(net, x, method):
    x = x.clone()
    x[3, 1] = 0.5
    with pytest.raises(ValueError, match=rf"x: method '{method}' \(Temporal Spike Attribution\) assumes spike input"
                                         rf".*x\[3, 1\] = 0.5"):
        explain(net, x, 20, method=method, window=10)
    explain(net, x, 20, method="lrp-epsilon", window=10)  # real-valued input is fine for LRP


def test_plain_module_is_refused_naming_net(x):
    with pytest.raises(TypeError, match=r"net: expected a spikeflux.snn.LIFNetwork, got torch.nn.modules.linear."
                                        r"Linear; explain\(\) needs the spiking network's equations"):
        explain(nn.Linear(4, 3), x, 20)
    with pytest.raises(TypeError, match=r"net: expected a spikeflux.snn.LIFNetwork, got builtins.str"):
        explain("model.pt", x, 20)


def test_snntorch_model_is_refused_with_the_conversion_hint(x):
    snn = pytest.importorskip("snntorch", reason="snntorch is not installed (pip install 'spikeflux[snntorch]')")

    class Tutorial(nn.Module):  # snnTorch's tutorial style: layers as attributes
        def __init__(self):
            super().__init__()
            self.fc1, self.lif1 = nn.Linear(4, 5), snn.Leaky(beta=0.9)
            self.fc2, self.lif2 = nn.Linear(5, 3), snn.Leaky(beta=0.9)

    with pytest.raises(TypeError, match=r"net: expected .*LIFNetwork, got .*Tutorial; convert it first: "
                                        r"spikeflux.interop.from_snntorch.*nn.Sequential\(model.fc1, model.lif1"):
        explain(Tutorial(), x, 20)
    from spikeflux.interop import from_snntorch
    with pytest.raises(ValueError, match=r"expects an nn.Sequential.*got Tutorial; a model with layers as attributes "
                                         r"\(fc1, lif1, fc2, lif2\).*nn.Sequential\(model.fc1, model.lif1, model.fc2"):
        from_snntorch(Tutorial())


def test_dropout_is_skipped_by_from_snntorch():
    snn = pytest.importorskip("snntorch", reason="snntorch is not installed (pip install 'spikeflux[snntorch]')")
    from spikeflux.interop import from_snntorch
    torch.manual_seed(0)
    seq = nn.Sequential(nn.Linear(3, 4, bias=False), snn.Leaky(beta=0.7, init_hidden=True), nn.Dropout(0.5),
                        nn.Linear(4, 2, bias=False), snn.Leaky(beta=0.7, init_hidden=True, output=True))
    net = from_snntorch(seq.eval())
    assert net.sizes == [3, 4, 2] and torch.equal(net.weights[1], seq[3].weight.detach())


# --------------------------------------------------------------------------- discoverability
def test_public_surface_and_help_list_every_method():
    import spikeflux.explain as ex
    assert "Attribution" not in ex.__all__ and "Explanation" in ex.__all__
    doc = ex.explain.__doc__
    for name in ex.METHODS:
        assert name in doc, f"help(explain) does not list {name}"
    for fn in (ex.lrp.lrp_0, ex.lrp.lrp_epsilon, ex.lrp.lrp_zplus, ex.lrp.lrp_alphabeta):
        assert fn.__doc__, f"{fn.__name__} has no docstring"
        for option in ex.lrp.COMMON:  # every common option is listed in every LRP method's docstring
            assert option in fn.__doc__, f"{fn.__name__}'s docstring does not list {option!r}"


def test_import_explain_does_not_load_captum_or_matplotlib():
    code = "import sys, spikeflux.explain; print(sorted(m for m in ('captum', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_gradients_module_imports_captum_lazily():
    import spikeflux.explain.gradients as g
    assert "captum" not in vars(g) and not any(k in vars(g) for k in ("IntegratedGradients", "Saliency"))


# --------------------------------------------------------------------------- command lines
def _help(module):
    return subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=120)


def test_pipeline_help_names_itself_and_lists_notebooks():
    from spikeflux.pipeline import NOTEBOOKS
    out = _help("spikeflux.pipeline")
    assert out.returncode == 0
    text = " ".join(out.stdout.split())
    assert text.startswith("usage: python -m spikeflux.pipeline")
    for flag, words in (("--profile", "run profile"), ("--seed", "seed"), ("--device", "torch device")):
        assert flag in text and words in text
    for nb in NOTEBOOKS:
        assert nb.name in text


def test_uci_help_is_not_silent():
    out = _help("spikeflux.data.uci")
    assert out.returncode == 0 and "usage: python -m spikeflux.data.adl" in out.stdout and "fetch" in out.stdout  # uci is its alias
