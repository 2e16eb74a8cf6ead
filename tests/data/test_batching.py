"""batchify lays the corpus out in contiguous columns (Zaremba et al. 2014)."""
import pytest
import torch

from rnnlab.data import batchify
from rnnlab.errors import ConfigError, DataError


def test_columns_are_contiguous_stretches_and_the_tail_is_dropped():
    x = batchify(torch.arange(11), 3)  # L = 3, tokens 9 and 10 dropped
    assert x.shape == (3, 3) and x.is_contiguous()
    assert x.t().tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]


def test_batchify_errors():
    with pytest.raises(DataError, match="1-D integer"):
        batchify(torch.zeros(4), 2)
    with pytest.raises(DataError, match="1-D integer"):
        batchify(torch.zeros(2, 4, dtype=torch.long), 2)
    with pytest.raises(ConfigError, match="batch_size"):
        batchify(torch.arange(4), 0)
    with pytest.raises(DataError, match="has 5 tokens and needs at least 6"):
        batchify(torch.arange(5), 3)
    assert batchify(torch.arange(6), 3).shape == (2, 3)
