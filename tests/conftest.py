import os
from pathlib import Path

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


@pytest.fixture
def benchmark_data():
    """`benchmark_data("atis")`: that folder of the public benchmark data (ATIS, PTB, …) named by the
    environment variable RNNLAB_BENCHMARK_DATA (.ci/run points it at ../shared/data); the test is
    skipped when the variable is unset or the folder missing — users need no copy to run the suite."""
    def folder(name: str) -> Path:
        root = os.environ.get("RNNLAB_BENCHMARK_DATA")
        if not root or not (Path(root) / name).is_dir():
            pytest.skip(f"no {name} data: set RNNLAB_BENCHMARK_DATA to a folder holding {name}/")
        return Path(root) / name
    return folder
