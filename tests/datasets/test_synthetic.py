"""The synthetic memory datasets produce the lines their definitions say, reproducibly."""
import re

import pytest

from rnnlab.errors import ConfigError
from rnnlab.datasets.synthetic import SYNTHETIC_DATASETS, synthetic_corpus, synthetic_sequences


def _check_line(name, line):
    assert line.endswith("\n") and "\n" not in line[:-1]
    body = line[:-1]
    if name == "counting":
        m = re.fullmatch(r"(a+)X(b+)", body)
        assert m and len(m[1]) == len(m[2])
    elif name == "selective-counting":
        m = re.fullmatch(r"([aX]+)Y(b+)", body)
        assert m and m[1].count("a") == len(m[2])
    elif name == "start-symbol":
        m = re.fullmatch(r"([AB])x{1,10}Y([ab])", body)
        assert m and m[2] == m[1].lower()
    elif name == "copy":
        m = re.fullmatch(r"([a-d]+)\|([a-d]+)", body)
        assert m and m[1] == m[2]


@pytest.mark.parametrize("name", list(SYNTHETIC_DATASETS))
def test_every_line_follows_the_task_and_seeds_reproduce(name):
    lines = synthetic_sequences(name, 200, seed=3)
    for line in lines:
        _check_line(name, line)
    assert lines == synthetic_sequences(name, 200, seed=3) != synthetic_sequences(name, 200, seed=4)
    assert len(set(lines)) >= 10  # counting has exactly max_n = 10 different lines


def test_options_shape_the_lines():
    lines = synthetic_sequences("counting", 300, max_n=3)
    assert {line.count("a") for line in lines} == {1, 2, 3}
    assert {line for line in synthetic_sequences("copy", 100, max_len=2, alphabet="z")} == {"z|z\n", "zz|zz\n"}
    assert set("".join(synthetic_sequences("copy", 50, alphabet="xy"))) <= set("xy|\n")
    with pytest.raises(ConfigError, match="bad options"):
        synthetic_sequences("counting", 3, max_m=3)


def test_corpus_splits_are_whole_lines_of_the_right_size_and_differ():
    c = synthetic_corpus("selective-counting", max_chars=5000, seed=1)
    assert list(c) == ["train", "valid", "test"]
    assert 4900 <= len(c["train"]) <= 5000 and 400 <= len(c["valid"]) <= 500 and 400 <= len(c["test"]) <= 500
    for text in c.values():
        for line in text.splitlines(keepends=True):
            _check_line("selective-counting", line)
    assert c["valid"] != c["test"] and c["valid"] not in c["train"]
    assert c == synthetic_corpus("selective-counting", max_chars=5000, seed=1)
    assert c["train"] != synthetic_corpus("selective-counting", max_chars=5000, seed=2)["train"]


def test_unknown_dataset_names_the_choices():
    calls = (lambda: synthetic_sequences("nope", 1), lambda: synthetic_corpus("nope"))
    for call in calls:
        with pytest.raises(ConfigError, match="counting, selective-counting, start-symbol, copy"):
            call()
