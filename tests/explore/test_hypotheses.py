"""The hypotheses natural to each synthetic memory dataset give one value per token, as defined."""
import numpy as np
import pytest

from rnnlab.datasets.synthetic import SYNTHETIC_DATASETS, synthetic_sequences
from rnnlab.errors import ConfigError
from rnnlab.explore.hypotheses import dataset_hypotheses


def test_unknown_dataset_names_the_choices():
    with pytest.raises(ConfigError, match="counting, selective-counting, start-symbol, copy"):
        dataset_hypotheses("nope")


def test_dataset_hypotheses_give_one_value_per_token():
    tokens = list("aaXbb\naXb\n")
    hyps = dataset_hypotheses("counting")
    np.testing.assert_array_equal(hyps["count (+1 per a, -1 per b)"](tokens), [1, 2, 2, 1, 0, 0, 1, 1, 0, 0])
    np.testing.assert_array_equal(hyps["after the X (b part)"](tokens), [0, 0, 1, 1, 1, 0, 0, 1, 1, 0])
    start = dataset_hypotheses("start-symbol")["start symbol (+1 after A, -1 after B)"]
    np.testing.assert_array_equal(start(list("AxYa\nBxYb\n")), [1, 1, 1, 1, 0, -1, -1, -1, -1, 0])
    for name in SYNTHETIC_DATASETS:
        tokens = list("".join(synthetic_sequences(name, 5)))
        for label, fn in dataset_hypotheses(name).items():
            assert fn(tokens).shape == (len(tokens),), (name, label)
