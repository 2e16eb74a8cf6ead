"""How `rnnlab explore` cuts a text into the examples it records (rnnlab/recipes/explorers.py)."""
from rnnlab.recipes.explorers import split_examples


def test_split_examples():
    assert split_examples("ab\ncd\n\n\nef\n", "char", 10, 100) == [list("ab\ncd\n"), list("ef\n")]
    assert split_examples("the cat\na dog\n", "word", 10, 100) == [["the", "cat", "<eos>"], ["a", "dog", "<eos>"]]
    assert split_examples("abcdefg", "char", 2, 3) == [list("abc"), list("def")]  # cut, at most 2
