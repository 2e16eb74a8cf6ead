"""The README's first Python example runs as written."""
import re
from pathlib import Path


def test_readme_example_runs():
    text = (Path(__file__).parents[1] / "README.md").read_text()
    example = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    scope: dict = {}
    exec(compile(example, "README.md", "exec"), scope)
    assert scope["y"].shape == (50, 8, 32) and scope["h_n"].shape == (4, 8, 20)
