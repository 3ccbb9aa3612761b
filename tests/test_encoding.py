"""Delta modulation against snnTorch's spikegen.delta (the reference convention) and known values."""

import numpy as np
import pytest

from spikeflux.encoding import delta, delta_threshold


def test_known_values_of_the_reference_docstring():
    a = np.array([1, 2, 2.9, 3, 3.9])[:, None]
    np.testing.assert_array_equal(delta(a, 1.0)[:, 0], [1, 1, 0, 0, 0])
    np.testing.assert_array_equal(delta(a, 1.0, padding=True)[:, 0], [0, 1, 0, 0, 0])
    b = np.array([1, 2, 0, 2, 2.9])[:, None]
    s = delta(b, 1.0)
    np.testing.assert_array_equal(s[:, 0] - s[:, 1], [1, 1, -1, 1, 0])
    s = delta(b, 1.0, padding=True)
    np.testing.assert_array_equal(s[:, 0] - s[:, 1], [0, 1, -1, 1, 0])


@pytest.mark.parametrize("padding", [False, True])
def test_matches_snntorch(padding):
    torch = pytest.importorskip("torch")
    spikegen = pytest.importorskip("snntorch.spikegen")
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.normal(size=(200, 4, 3)), 0)  # snnTorch: [num_steps x batch x input_size]
    th = 0.7
    ref = spikegen.delta(torch.as_tensor(x), threshold=th, padding=padding, off_spike=True).numpy()
    ours = delta(x, th, padding=padding)
    np.testing.assert_array_equal(ours[..., 0::2], ref == 1)
    np.testing.assert_array_equal(ours[..., 1::2], ref == -1)
    # time on another axis: (cases, T, n)
    np.testing.assert_array_equal(delta(x.swapaxes(0, 1), th, axis=1, padding=padding), ours.swapaxes(0, 1))


def test_per_variable_threshold_and_layout():
    x = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    s = delta(x, [0.5, 2.0], padding=True)
    assert s.shape == (3, 4) and s.dtype == np.float32
    np.testing.assert_array_equal(s, [[0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0]])  # variable 1 never crosses 2.0


def test_threshold_from_training_data():
    x = np.zeros((11, 2))
    x[:, 0] = np.arange(11) ** 2  # changes 1, 3, ..., 19
    th = delta_threshold(x, quantile=0.5)
    assert th[0] == np.median(np.arange(1, 20, 2)) and th[1] == 1.0  # a constant variable: 1, never spikes
    assert delta(x, th, padding=True)[:, 1:].sum() == delta(x, th, padding=True)[:, 1].sum() == 0


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="threshold must be finite and positive"):
        delta(np.zeros((3, 1)), 0.0)
    with pytest.raises(ValueError, match="one value per variable"):
        delta(np.zeros((3, 2)), [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="NaN"):
        delta(np.array([[0.0], [np.nan]]), 1.0)
    with pytest.raises(ValueError, match="time axis"):
        delta(np.zeros(3), 1.0)
    with pytest.raises(ValueError, match="axis"):
        delta(np.zeros((3, 2)), 1.0, axis=1)
    with pytest.raises(ValueError, match="quantile"):
        delta_threshold(np.zeros((3, 2)), quantile=1.0)
