"""disjoint_splits: no example in two splits, each split's seed independent of the drawing order."""
import random

from rnnlab.datasets.splits import disjoint_splits


def draw(n, *, seed, exclude, pool=12):
    """n distinct numbers below `pool` not in `exclude` (which it fills), in a seeded order."""
    rng, out = random.Random(seed), []
    while len(out) < n:
        k = rng.randrange(pool)
        if k not in exclude:
            exclude.add(k)
            out.append(k)
    return out


def test_splits_are_disjoint_and_the_first_drawn_gets_the_pick():
    sizes = {"train": 6, "valid": 3, "test": 3}
    a = disjoint_splits(draw, sizes, seed=5)
    b = disjoint_splits(draw, sizes, seed=5, order=("test", "valid", "train"))
    for splits in (a, b):
        assert list(splits) == ["train", "valid", "test"]
        assert {k: len(v) for k, v in splits.items()} == sizes
        assert len(set(sum(splits.values(), []))) == 12  # the whole pool, each number once
    assert a["train"] == draw(6, seed=17, exclude=set())  # drawn first: exactly the split's own seed
    assert b["test"] == draw(3, seed=15, exclude=set())
    assert a == disjoint_splits(draw, sizes, seed=5) and a != disjoint_splits(draw, sizes, seed=6)
