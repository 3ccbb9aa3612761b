"""One registry pattern: LRP rules by decorator (``lrp-<rule>`` follows), options declared where a
method registers and refused in one place, one chunking helper, the old import paths."""

import pytest
import torch

import spikeflux.explain as ex
from spikeflux.chunking import map_chunks, row_chunks, rows_within
from spikeflux.explain import METHODS, explain, register_method
from spikeflux.explain.lrp import COMMON
from spikeflux.explain.request import Attribution
from spikeflux.transport import RULES, Epsilon, get_rule, register_rule


@pytest.fixture(scope="module")
def net(spiking_net):
    return spiking_net([4, 6, 3], seed=5)


@pytest.fixture(scope="module")
def x(spike_input):
    return spike_input(20, 4, seed=6)


# ---------------------------------------------------------------------------- options, one place
def test_every_method_refuses_an_unknown_option_naming_method_option_and_accepted(net, x):
    for name, info in METHODS.items():
        accepted = ", ".join(sorted(info.options)) or "none"
        message = f"{name}: unknown option(s) 'colour'; known: {accepted}"
        with pytest.raises(ValueError) as err:
            explain(net, x, 12, method=name, window=5, colour="red")
        assert str(err.value) == message


def test_declared_options_known_answers():
    assert METHODS["tsa-s"].options == {} and METHODS["sam"].options == {}
    assert METHODS["tsa-delay"].options == {"variant": "s"}
    assert METHODS["saliency"].options == {"abs": True, "batch_size": None}
    assert METHODS["lrp-zplus"].options == COMMON
    assert METHODS["lrp-epsilon"].options == {**COMMON, "epsilon": 1e-6}
    assert METHODS["lrp-0"].options == {**COMMON, "epsilon": 0.0}
    assert METHODS["lrp-alphabeta"].options == {**COMMON, "alpha": 2.0, "beta": 1.0, "empty_side": "skip"}
    assert METHODS["deeplift"].options == {"baseline": None, "bias_channel": 0, "node_residuals": False,
                                           "node_relevance": False}
    assert "Options: variant='s'" in explain.__doc__  # help(explain) lists what each method declares
    assert "Options: abs=True, batch_size=None" in explain.__doc__


def test_options_are_checked_before_the_method_runs_and_completed_with_defaults(net, x):
    calls = []

    @register_method("test-echo", family="test", description="echoes its options", options={"a": 1, "b": None})
    def echo(net, x, request, **options):
        calls.append(options)
        return Attribution(torch.zeros(len(request.t), net.sizes[0], request.window, dtype=net.dtype))

    try:
        with pytest.raises(ValueError, match=r"^test-echo: unknown option\(s\) 'c', 'd'; known: a, b$"):
            explain(net, x, 10, method="test-echo", d=0, c=0)
        assert calls == []  # refused before the method (and the forward pass) ran
        explain(net, x, 10, method="test-echo", b=2)
        X = torch.stack([x, x, x])
        explain(net, X, 10, method="test-echo")  # the batch path completes them too
        assert calls == [{"a": 1, "b": 2}, {"a": 1, "b": None}]
        with pytest.raises(ValueError, match="test-echo: unknown option"):  # a direct call is checked as well
            METHODS["test-echo"].fn(net, x, None, e=1)
        with pytest.raises(ValueError, match="explanation method 'test-echo' is registered twice"):
            register_method("test-echo", family="test", description="again")(echo)
    finally:
        METHODS.remove("test-echo")
    assert "test-echo" not in METHODS


# ---------------------------------------------------------------------------- rules by decorator
def test_rule_names_are_the_lrp_method_names():
    assert {f"lrp-{r}" for r in RULES} == {m for m, info in METHODS.items() if info.family == "lrp"}
    assert {"lrp-0", "lrp-epsilon", "lrp-zplus", "lrp-alphabeta"} <= set(METHODS)
    assert set(RULES) == {"0", "epsilon", "zplus", "alphabeta"}
    zero = get_rule("0")
    assert isinstance(zero, Epsilon) and zero.epsilon == 0.0 and zero.name == "epsilon"
    assert get_rule("epsilon", epsilon=0.25).epsilon == 0.25
    assert get_rule("alphabeta", alpha=1.5, beta=0.5).params == {"alpha": 1.5, "beta": 0.5}
    with pytest.raises(ValueError, match=r"rule must be one of \('epsilon', 'alphabeta', 'zplus', '0'\)"):
        get_rule("eps")


def test_a_rule_registered_later_is_a_method_and_goes_with_its_rule(net, x):
    assert "lrp-test-quarter" not in METHODS

    @register_rule("test-quarter", description="LRP-ε with ε = 1/4 by default")
    def quarter(epsilon: float = 0.25) -> Epsilon:
        return Epsilon(epsilon)

    try:
        info = METHODS["lrp-test-quarter"]
        assert info.family == "lrp" and info.options == {**COMMON, "epsilon": 0.25}
        assert info.description == "LRP-ε with ε = 1/4 by default"
        new = explain(net, x, [12, 15], method="lrp-test-quarter", window=8)
        old = explain(net, x, [12, 15], method="lrp-epsilon", window=8, epsilon=0.25)
        assert torch.equal(new.attribution, old.attribution)
        assert {k: new.info[k] for k in ("rule", "epsilon")} == {"rule": "epsilon", "epsilon": 0.25}
        assert torch.equal(new.ledger.relevance_init, old.ledger.relevance_init)
        assert torch.equal(explain(net, x, 12, method="lrp-test-quarter", window=8, epsilon=1.0).attribution,
                           explain(net, x, 12, method="lrp-epsilon", window=8, epsilon=1.0).attribution)
        with pytest.raises(ValueError, match="LRP rule 'test-quarter' is registered twice"):
            register_rule("test-quarter", description="again")(quarter)
    finally:
        RULES.remove("test-quarter")
    assert "test-quarter" not in RULES and "lrp-test-quarter" not in METHODS
    with pytest.raises(ValueError, match="unknown explanation method 'lrp-test-quarter'"):
        explain(net, x, 12, method="lrp-test-quarter")


# ---------------------------------------------------------------------------- one chunking helper
def test_chunks_known_answers():
    assert [(s.start, s.stop) for s in row_chunks(10, 4)] == [(0, 4), (4, 8), (8, 12)]
    assert list(row_chunks(0, 3)) == []
    assert map_chunks(lambda rows: torch.arange(10)[rows] * 2, 10, 3).tolist() == list(range(0, 20, 2))
    assert map_chunks(lambda rows: rows.start, 7, 2, list) == [0, 2, 4, 6]
    assert rows_within(100, 3, torch.float64) == 4  # 100 // (8 * 3)
    assert rows_within(100, 3, torch.float32) == 8
    assert rows_within(1, 10 ** 6, torch.float64) == 1  # at least one row
    assert rows_within(8192, 100) == 81  # a count budget (TSA: steps per product)
    with pytest.raises(ValueError, match="chunk size must be at least 1"):
        list(row_chunks(3, 0))


def test_budgets_known_answers(net):
    from spikeflux.explain.explanation import rows_per_record
    from spikeflux.explain.gradients import rows_per_pass
    from spikeflux.transport.engine import rows_per_sweep
    # [4, 6, 3] in float64: a record holds 2 (n_in + 4 sum n_l) = 2 * 40 values per step
    assert rows_per_record(net, 1000) == 2 ** 30 // (8 * 1000 * 80)
    assert rows_per_sweep(net, 1000, shared=True) == 2 ** 30 // (8 * 1000 * 8 * 6)
    assert rows_per_sweep(net, 1000, shared=False) == 2 ** 30 // (8 * 1000 * (8 * 6 + 12 * 13))
    assert rows_per_pass(net, 1000) == 2 ** 31 // (9 * 8 * 1000 * 9)


# ---------------------------------------------------------------------------- old import paths
def test_old_import_paths():
    from spikeflux.explain import registry
    from spikeflux.explain.registry import Attribution as A, Request, contrast_name, readout_weights  # noqa: F401
    from spikeflux.explain import explanation, request
    assert registry.explain is explanation.explain is ex.explain
    assert registry.Explanation is explanation.Explanation is ex.Explanation
    assert registry.concat_rows is explanation.concat_rows and registry.Request is request.Request is ex.Request
    assert registry.contrast_name is request.contrast_name and A is request.Attribution
    for fn in (ex.lrp.lrp_0, ex.lrp.lrp_epsilon, ex.lrp.lrp_zplus, ex.lrp.lrp_alphabeta):
        assert fn is METHODS[f"lrp-{fn.__name__[4:]}"].fn
