"""spikeflux.cost: the slopes recover known exponents, the measurement covers its grid."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from spikeflux import cost  # noqa: E402


def test_slopes_recover_known_exponents():
    rows = [dict(method="lrp-epsilon", axis="window", value=n, seconds=3e-4 * n ** 1.0) for n in (10, 20, 40, 80)]
    rows += [dict(method="tsa-s", axis="targets", value=n, seconds=2e-3 * n ** 0.5) for n in (1, 4, 16)]
    rows += [dict(method="deeplift", axis="width", value=25, seconds=1.0)]  # one value: no slope
    got = {(r["method"], r["axis"]): (r["slope"], r["r2"]) for r in cost.slopes(rows)}
    assert set(got) == {("lrp-epsilon", "window"), ("tsa-s", "targets")}
    np.testing.assert_allclose(got[("lrp-epsilon", "window")], (1.0, 1.0), atol=1e-12)
    np.testing.assert_allclose(got[("tsa-s", "targets")], (0.5, 1.0), atol=1e-12)


def test_measure_tiny_grid_and_plot():
    rows = cost.measure(["lrp-epsilon", "tsa-s"], {"window": [20, 40], "width": [8]},
                        base=dict(window=20, targets=2, width=8), progress=False)
    assert [(r["method"], r["axis"], r["value"]) for r in rows] == [
        ("lrp-epsilon", "window", 20), ("tsa-s", "window", 20), ("lrp-epsilon", "window", 40),
        ("tsa-s", "window", 40), ("lrp-epsilon", "width", 8), ("tsa-s", "width", 8)]
    assert all(r["seconds"] > 0 for r in rows) and rows[2]["window"] == 40 and rows[4]["width"] == 8
    fig = cost.cost_plot(rows)
    assert len(fig.axes) == 2
    assert cost.targets_of(20, 3) == [19, 29, 39]
    with pytest.raises(ValueError, match="unknown axis"):
        cost.measure(["lrp-epsilon"], {"depth": [1]})
