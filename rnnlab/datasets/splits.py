"""Train / valid / test drawn from one generator so that no example lands in two splits."""
from __future__ import annotations

from typing import Callable, Sequence

SEED_OFFSET = {"test": 0, "valid": 1, "train": 2}  # split seed = 3 · seed + offset, whatever the order


def disjoint_splits(draw: Callable[..., list], sizes: dict[str, int], seed: int, *,
                    order: Sequence[str] = ("train", "valid", "test"), **kw) -> dict[str, list]:
    """{"train", "valid", "test"}: `draw(n, seed=…, exclude=seen, **kw)` per split, in `order`,
    with one shared `seen` set the generator fills, so every example is in one split only.

    The split drawn first gets the pick of the examples: when a length has only a handful of
    distinct strings, they go to that split (draw train first so they are trained on)."""
    seen: set = set()
    drawn = {split: draw(sizes[split], seed=3 * seed + SEED_OFFSET[split], exclude=seen, **kw) for split in order}
    return {split: drawn[split] for split in ("train", "valid", "test")}
