"""An endless stream for online learning: recall a symbol seen d steps earlier.

Each of B independent streams repeats episodes: a *store* step shows one of K symbols, d − 1
blank steps follow, then a *query* step asks for the stored symbol (the only step with a target),
then 1 … `max_gap` blank steps before the next store. Inputs are one-hot over K symbols + blank +
query (K + 2 wide); targets are the symbol at query steps and −100 (cross-entropy's ignore_index)
everywhere else. Chance accuracy at queries is 1/K.

The dependency spans exactly d steps, so truncated BPTT with a window shorter than d never sees a
store and its query in one gradient, while forward-mode methods (RTRL and its approximations)
carry the influence of the store forever. The stream never ends: `next(n)` returns the next n
steps of every stream, and `state_dict()` / `load_state_dict()` continue it exactly.
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnlab.errors import ConfigError

IGNORE = -100


class RecallStream:
    """RecallStream(delay d, symbols K=4, batch B=1, max_gap=4, seed=0); `next(n)` → (inputs
    (n, B, K + 2) float, targets (n, B) long). `width` = K + 2."""

    def __init__(self, delay: int, symbols: int = 4, batch: int = 1, max_gap: int = 4, seed: int = 0):
        for name, value, low in (("delay", delay, 1), ("symbols", symbols, 2), ("batch", batch, 1), ("max_gap", max_gap, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"recall stream: {name} must be an int >= {low}, got {value!r}")
        self.delay, self.symbols, self.batch, self.max_gap = delay, symbols, batch, max_gap
        self.width = symbols + 2
        self.generator = torch.Generator().manual_seed(seed)
        # per stream: steps until the next store (0: store now), the symbol held, steps since the store
        self.until_store = torch.zeros(batch, dtype=torch.long)
        self.held = torch.zeros(batch, dtype=torch.long)
        self.age = torch.full((batch,), -1, dtype=torch.long)   # −1: nothing stored

    def next(self, n: int) -> tuple[Tensor, Tensor]:
        blank, query = self.symbols, self.symbols + 1
        tokens = torch.full((n, self.batch), blank, dtype=torch.long)
        targets = torch.full((n, self.batch), IGNORE, dtype=torch.long)
        for t in range(n):
            store = (self.age < 0) & (self.until_store == 0)
            drawn = torch.randint(0, self.symbols, (self.batch,), generator=self.generator)
            self.held = torch.where(store, drawn, self.held)
            tokens[t] = torch.where(store, drawn, tokens[t])
            self.age = torch.where(store, torch.zeros_like(self.age), self.age)
            self.until_store = torch.where(self.age < 0, self.until_store - 1, self.until_store)
            asking = (self.age == self.delay) & ~store
            tokens[t] = torch.where(asking, torch.full_like(tokens[t], query), tokens[t])
            targets[t] = torch.where(asking, self.held, targets[t])
            gap = torch.randint(1, self.max_gap + 1, (self.batch,), generator=self.generator)
            self.until_store = torch.where(asking, gap - 1, self.until_store)
            self.age = torch.where(asking, torch.full_like(self.age, -1), torch.where(self.age >= 0, self.age + 1, self.age))
        return torch.nn.functional.one_hot(tokens, self.width).float(), targets

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state(), "until_store": self.until_store.clone(),
                "held": self.held.clone(), "age": self.age.clone()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
        self.until_store, self.held, self.age = state["until_store"].clone(), state["held"].clone(), state["age"].clone()
