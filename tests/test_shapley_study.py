"""The Shapley chapter's study helpers (spikeflux.shapley_study): known answers on small frames."""

import numpy as np
import pandas as pd
import pytest
import torch

from spikeflux.shapley_study import (cost_table, interaction_reading, most_contested, seconds_per_point,
                                     study_cases, total_gap)
from spikeflux.snn import LIFNetwork


def _results():
    rows = []
    # case 0 point 0: spread 0.9 - 0.1 = 0.8; case 0 point 1: 0.2; case 1 (generated) point 0: spread 2 (ignored)
    for case, kind, point, rhos in ((0, "trained", 0, (0.1, 0.9)), (0, "trained", 1, (0.5, 0.7)),
                                    (1, "generated", 0, (-1.0, 1.0))):
        for m, rho in zip(("a", "b"), rhos):
            rows.append(dict(case=case, kind=kind, point=point, method=m, spearman=rho, total=1.0 + rho,
                             exact_total=2.0 if point == 0 else -4.0, evaluations=np.nan if m == "a" else 16))
    return pd.DataFrame(rows)


def test_total_gap_is_relative_to_the_largest_exact_total():
    r = _results()
    # method a: |1.1 - 2|, |1.5 + 4|, |0 - 2| -> 5.5; largest |exact_total| is 4
    assert total_gap(r, "a") == pytest.approx(5.5 / 4)
    with pytest.raises(ValueError, match="'c'"):
        total_gap(r, "c")


def test_most_contested_takes_the_trained_point_of_widest_spread():
    r = _results()
    assert most_contested(r, ["a", "b"]) == (0, 0, pytest.approx(0.8))
    r.loc[(r.case == 0) & (r.point == 0) & (r.method == "a"), "spearman"] = np.nan  # undefined: left out
    assert most_contested(r, ["a", "b"])[:2] == (0, 1)


def test_cost_table_counts_forward_passes():
    timings = pd.DataFrame([dict(kind=k, method=m, seconds_per_point=s) for k, m, s in
                            (("trained", "shapley-exact", 1.0), ("trained", "shapley-exact", 3.0),
                             ("trained", "a", 0.01), ("trained", "b", 0.5), ("generated", "a", 99.0))])
    sec = seconds_per_point(timings, ["a", "b"])
    assert sec.to_dict() == {"shapley-exact": 2.0, "a": 0.01, "b": 0.5}
    table = cost_table(timings, _results(), ["a", "b"], n_features=10)
    assert table["seconds per point"].tolist() == ["2.000", "0.010", "0.500"]
    assert table["forward passes per point"].tolist() == ["1024", "–", "16"]


def test_interaction_reading_by_ratio():
    assert interaction_reading(-0.5).startswith("of the opposite sign")
    assert interaction_reading(0.5).startswith("below 1")
    assert interaction_reading(1.5).startswith("above 1")


def test_study_cases_order_seeds_and_subsets():
    nets = {d: LIFNetwork(sizes, seed=0, dtype=torch.float64) for d, sizes in (("1L", [3, 4]), ("2L", [3, 5, 4]))}
    X = torch.zeros(6, 10, 3, dtype=torch.float64)
    X[:, 0, 0] = torch.arange(6, dtype=torch.float64)  # row id
    cases = study_cases(nets, X, n_generated=2, generated_points=4, seed=1)
    assert [(k, d) for k, d, _, _ in cases] == [("trained", "1L"), ("generated", "1L"), ("generated", "1L"),
                                                ("trained", "2L"), ("generated", "2L"), ("generated", "2L")]
    assert cases[0][2] is nets["1L"] and len(cases[0][3]) == 6
    for g, (_, _, net, x) in zip((0, 1), cases[1:3]):
        want = np.sort(np.random.default_rng(1 + g).choice(6, size=4, replace=False))
        assert x[:, 0, 0].tolist() == want.tolist()
        assert net.sizes == nets["1L"].sizes and net.config["weight_scale"] == 3.0
        ref = LIFNetwork(nets["1L"].sizes, weight_scale=3.0, seed=1000 * 2 + g, dtype=torch.float64)
        assert all(torch.equal(a, b) for a, b in zip(net.weights, ref.weights))
