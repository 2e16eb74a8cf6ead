"""Text corpora for studying memory: one short sequence per line, characters only.

A character language model trained on these must keep something in its state to predict the
line's end: a count, a remembered symbol, a string. They are the classic probes for finding a
unit that does exactly that (the counting neuron of LSTMVis; Gers & Schmidhuber 2001 a^n b^n):

    counting             aaaaXbbbb             N a's, X, N b's
    selective-counting   aXaaXYbbb             N a's among X's to ignore, Y, N b's
    start-symbol         AxxxxxYa              A or B, 1–10 x's, Y, then a (after A) or b (after B)
    copy                 cabd|cabd             a random string, |, the same string

Every generator is deterministic from its seed. The quantities a unit might track on each
(the count, the remembered symbol) are the explorer's: `rnnlab.explore.hypotheses.dataset_hypotheses`.
"""
from __future__ import annotations

import random
from typing import Callable

from rnnlab.errors import ConfigError

SYNTHETIC_DATASETS: dict[str, str] = {
    "counting": "a^N X b^N: the b's must end after as many steps as there were a's",
    "selective-counting": "N a's among X's to ignore, then Y, then N b's",
    "start-symbol": "A or B, 1-10 x's, Y, then a after A or b after B: remember the first symbol",
    "copy": "a random string over a small alphabet, |, the same string again",
}


def _counting(rng: random.Random, max_n: int = 10) -> str:
    n = rng.randint(1, max_n)
    return "a" * n + "X" + "b" * n + "\n"


def _selective_counting(rng: random.Random, max_n: int = 10, max_noise: int = 5) -> str:
    n = rng.randint(1, max_n)
    head = ["a"] * n + ["X"] * rng.randint(0, max_noise)
    rng.shuffle(head)
    return "".join(head) + "Y" + "b" * n + "\n"


def _start_symbol(rng: random.Random, max_noise: int = 10) -> str:
    first = rng.choice("AB")
    return first + "x" * rng.randint(1, max_noise) + "Y" + first.lower() + "\n"


def _copy(rng: random.Random, max_len: int = 8, alphabet: str = "abcd") -> str:
    s = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, max_len)))
    return s + "|" + s + "\n"


_GENERATORS: dict[str, Callable[..., str]] = {
    "counting": _counting, "selective-counting": _selective_counting, "start-symbol": _start_symbol, "copy": _copy,
}


def _generator(name: str, kw: dict) -> Callable[[random.Random], str]:
    if name not in _GENERATORS:
        raise ConfigError(f"unknown synthetic dataset {name!r}; choose one of: {', '.join(SYNTHETIC_DATASETS)}")
    gen = _GENERATORS[name]
    try:
        gen(random.Random(0), **kw)  # reject unknown or impossible options up front
    except (TypeError, ValueError, IndexError) as e:
        raise ConfigError(f"synthetic dataset {name!r}: bad options {kw}: {e}") from None
    return lambda rng: gen(rng, **kw)


def synthetic_sequences(name: str, n: int, *, seed: int = 0, **kw) -> list[str]:
    """`n` lines of dataset `name`, each ending in "\\n"; `kw` are its options (max_n, …)."""
    gen = _generator(name, kw)
    rng = random.Random(seed)
    return [gen(rng) for _ in range(n)]


def synthetic_corpus(name: str, *, max_chars: int = 200_000, seed: int = 0, **kw) -> dict[str, str]:
    """"train" of about `max_chars` characters, "valid" and "test" of a tenth each (at least one
    line), whole lines only, each split drawn with its own seed."""
    if max_chars < 1:
        raise ConfigError(f"max_chars must be >= 1, got {max_chars}")
    gen = _generator(name, kw)
    out = {}
    for split, cap in [("train", max_chars), ("valid", max_chars // 10), ("test", max_chars // 10)]:
        rng = random.Random(f"{name}/{split}/{seed}")  # str seeds are hashed stably (sha512)
        lines = [gen(rng)]
        size = len(lines[0])
        while True:
            line = gen(rng)
            if size + len(line) > cap:
                break
            lines.append(line)
            size += len(line)
        out[split] = "".join(lines)
    return out
