import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """Test tensors are tiny: a second thread gains nothing, and on a shared machine every parallel
    region waits for a busy core (seen: a 0.25 ms matmul taking 10 ms)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
