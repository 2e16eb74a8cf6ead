"""The README's Python examples run as written."""
import re
from pathlib import Path

import pytest

EXAMPLES = re.findall(r"```python\n(.*?)```", (Path(__file__).parents[1] / "README.md").read_text(), re.S)


TRAINING = next(i for i, e in enumerate(EXAMPLES) if "Trainer(" in e)


@pytest.mark.parametrize("index", [0, TRAINING])  # the others are fragments
def test_readme_example_runs(index, capsys):
    scope: dict = {}
    exec(compile(EXAMPLES[index], f"README.md example {index + 1}", "exec"), scope)
    if index == 0:
        assert scope["y"].shape == (50, 8, 32) and scope["h_n"].shape == (4, 8, 20)
    if index == TRAINING:
        assert scope["task"].num_batches() > 0
        out = capsys.readouterr().out
        assert out.startswith("def ") and len(out) > 50
