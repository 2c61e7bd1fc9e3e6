"""Shared fixtures: the real MNIST subsets, pre-processed once per test session."""
import numpy as np
import pytest
from hypothesis import settings

import utils
from task2a import pre_process_images
from task3a import one_hot_encode

# Property tests draw the same examples on every run, so a run is repeatable.
settings.register_profile("repeatable", derandomize=True, deadline=None, database=None)
settings.load_profile("repeatable")


@pytest.fixture(scope="session")
def binary_data():
    """Real 2-vs-3 data: X_train [4005, 785], Y_train [4005, 1], X_val [2042, 785], Y_val [2042, 1]."""
    X_train, Y_train, X_val, Y_val = utils.load_binary_dataset(2, 3, verbose=False)
    return pre_process_images(X_train), Y_train, pre_process_images(X_val), Y_val


@pytest.fixture(scope="session")
def full_data():
    """Real 10-class data: X_train [20000, 785], one-hot Y_train [20000, 10], X_val, Y_val."""
    X_train, Y_train, X_val, Y_val = utils.load_full_mnist(verbose=False)
    return (pre_process_images(X_train), one_hot_encode(Y_train, 10),
            pre_process_images(X_val), one_hot_encode(Y_val, 10))


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
