import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from graphnets.data import digits


def test_digits_shapes_dtypes_and_range():
    x_train, y_train, x_test, y_test = digits()
    assert x_train.shape == (1347, 64) and x_test.shape == (450, 64)
    assert y_train.shape == (1347,) and y_test.shape == (450,)
    assert x_train.dtype == torch.float32 and y_train.dtype == torch.int64
    assert float(x_train.min()) == 0.0 and float(x_train.max()) == 1.0
    assert set(y_train.tolist()) == set(range(10)) == set(y_test.tolist())


def test_digits_is_the_sklearn_data_scaled_by_16():
    ref = load_digits()
    x_train, y_train, x_test, y_test = digits(seed=0)
    x = torch.cat([x_train, x_test]).numpy().astype(np.float64) * 16
    y = torch.cat([y_train, y_test]).numpy()
    # the split is a permutation of the full data set: compare sorted rows with their labels
    ours = np.column_stack([x, y])
    theirs = np.column_stack([ref.data, ref.target])
    np.testing.assert_allclose(ours[np.lexsort(ours.T)], theirs[np.lexsort(theirs.T)], atol=1e-5)


def test_digits_split_is_stratified():
    _, y_train, _, y_test = digits(seed=0)
    full = np.bincount(load_digits().target) / 1797
    np.testing.assert_allclose(np.bincount(y_test.numpy()) / 450, full, atol=0.01)
    np.testing.assert_allclose(np.bincount(y_train.numpy()) / 1347, full, atol=0.01)


def test_digits_same_seed_same_split_other_seed_other_split():
    a, b, c = digits(seed=3), digits(seed=3), digits(seed=4)
    for u, v in zip(a, b, strict=True):
        assert torch.equal(u, v)
    assert not torch.equal(a[0], c[0])


def test_digits_test_size_fraction_and_count():
    assert digits(test_size=0.5)[2].shape[0] == 899
    assert digits(test_size=100)[2].shape[0] == 100


def test_digits_dtype():
    x_train, y_train, x_test, _ = digits(dtype=torch.float64)
    assert x_train.dtype == x_test.dtype == torch.float64 and y_train.dtype == torch.int64


@pytest.mark.parametrize("test_size", [0.0, 1.0, 1.5, -0.1, float("nan")])
def test_digits_test_size_fraction_out_of_range(test_size):
    with pytest.raises(ValueError, match=r"test_size must be a fraction in \(0, 1\), got"):
        digits(test_size=test_size)


def test_digits_test_size_too_few_per_class():
    with pytest.raises(ValueError, match="test_size 0.001 gives 2 test samples"):
        digits(test_size=0.001)
    with pytest.raises(ValueError, match=r"number of samples in 10\.\.1787.*got 5"):
        digits(test_size=5)


def test_digits_bad_types():
    with pytest.raises(TypeError, match="test_size must be a float in .* got '0.2'"):
        digits(test_size="0.2")
    with pytest.raises(TypeError, match="test_size must be .* got True"):
        digits(test_size=True)
    with pytest.raises(TypeError, match="seed must be None or an int, got 1.5"):
        digits(seed=1.5)
    with pytest.raises(TypeError, match="dtype must be a floating torch.dtype .* got torch.int64"):
        digits(dtype=torch.int64)
