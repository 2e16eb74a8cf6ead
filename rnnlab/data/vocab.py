"""A vocabulary: the fixed mapping between tokens and the integer ids a model sees.

It is saved beside every checkpoint, because a model's embedding rows mean nothing without it:
a vocabulary rebuilt from slightly different text would silently shuffle them. So `build` is
fully deterministic (ties in frequency are broken by the token string), and `load` refuses
anything that is not exactly what `save` wrote.
"""
from __future__ import annotations

import itertools
import json
import numbers
import os
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
from torch import Tensor

from rnnlab.errors import CheckpointError, ConfigError, DataError

_MAX_NAMED = 5  # unknown tokens quoted in an error; more would bury the message


class Vocabulary:
    """Tokens in index order (`tokens[i]` has id i) and an optional unknown token.

    With `unk`, any token not in the vocabulary encodes to `unk_index`; without it, encoding an
    unknown token is an error (right for character models, where an unseen character usually
    means the wrong file).
    """

    def __init__(self, tokens: Sequence[str], unk: str | None = "<unk>"):
        tokens = tuple(tokens)
        for t in tokens:
            if not isinstance(t, str):
                raise DataError(f"vocabulary tokens must be strings, got {t!r} ({type(t).__name__})")
        index: dict[str, int] = {}
        for i, t in enumerate(tokens):
            if t in index:
                raise DataError(f"duplicate token {t!r} in vocabulary (at indices {index[t]} and {i})")
            index[t] = i
        if unk is not None and unk not in index:
            raise DataError(f"unknown token {unk!r} is not one of the vocabulary's {len(tokens)} tokens; "
                            f"add it to the tokens or pass unk=None")
        self._tokens = tokens
        self._index = index
        self._unk = unk
        self._unk_index = None if unk is None else index[unk]

    @classmethod
    def build(cls, tokens: Iterable[str], *, min_count: int = 1, max_size: int | None = None,
              unk: str | None = "<unk>", specials: Sequence[str] = ()) -> Vocabulary:
        """Count `tokens` and keep the frequent ones.

        Order: `specials`, then `unk` (unless it is already a special), then the counted tokens
        by descending count, ties by the token string. `max_size` bounds the total length;
        tokens seen fewer than `min_count` times or beyond `max_size` are left out (they encode
        to `unk`, or fail to encode when `unk` is None).
        """
        if min_count < 1:
            raise ConfigError(f"min_count must be >= 1, got {min_count}")
        head = list(dict.fromkeys(specials))  # dedupe, keep order
        if unk is not None and unk not in head:
            head.append(unk)
        if max_size is not None and max_size < len(head):
            raise ConfigError(f"max_size={max_size} is smaller than the {len(head)} special and unknown "
                              f"tokens {head!r}")
        counts = Counter(tokens)
        reserved = set(head)
        ranked = sorted((t for t, c in counts.items() if c >= min_count and t not in reserved),
                        key=lambda t: (-counts[t], t))
        if max_size is not None:
            ranked = ranked[: max_size - len(head)]
        return cls(head + ranked, unk=unk)

    # --- mapping -----------------------------------------------------------------------------

    def encode(self, tokens: Iterable[str]) -> Tensor:
        """Token ids as a 1-D int64 tensor. A plain `str` is read as a sequence of characters."""
        # map + np.fromiter keeps the per-token loop in C: ~0.3 s for 5M characters, against
        # ~0.7 s for a list comprehension followed by torch.tensor.
        if self._unk_index is not None:
            ids = map(self._index.get, tokens, itertools.repeat(self._unk_index))  # get(t, unk)
            return torch.from_numpy(np.fromiter(ids, dtype=np.int64))
        if not isinstance(tokens, (str, list, tuple)):
            tokens = list(tokens)  # read twice when some are unknown
        try:
            return torch.from_numpy(np.fromiter(map(self._index.__getitem__, tokens), dtype=np.int64))
        except KeyError:
            unknown = list(dict.fromkeys(t for t in tokens if t not in self._index))
            shown = ", ".join(repr(t) for t in unknown[:_MAX_NAMED])
            more = f" and {len(unknown) - _MAX_NAMED} more" if len(unknown) > _MAX_NAMED else ""
            raise DataError(f"{len(unknown)} token(s) not in the vocabulary: {shown}{more}; "
                            f"the vocabulary has no unknown token to map them to") from None

    def decode(self, ids: Tensor | Sequence[int]) -> list[str]:
        """Tokens for `ids` (a 1-D tensor or a sequence of ints)."""
        if isinstance(ids, Tensor):
            if ids.dim() != 1 or ids.dtype.is_floating_point or ids.dtype.is_complex:
                raise DataError(f"decode expects a 1-D integer tensor, got shape {tuple(ids.shape)} "
                                f"dtype {ids.dtype}")
            ids = ids.tolist()
        ids, n = list(ids), len(self._tokens)
        for i in ids:
            if not isinstance(i, numbers.Integral):
                raise DataError(f"decode expects integer ids, got {i!r}")
            if not 0 <= i < n:
                raise DataError(f"id {i!r} is out of range for a vocabulary of {n} tokens "
                                f"(valid ids: 0..{n - 1})")
        return [self._tokens[i] for i in ids]

    def index(self, token: str) -> int:
        """The id of `token`; `unk_index` if it is absent and there is an unknown token."""
        i = self._index.get(token, self._unk_index)
        if i is None:
            raise DataError(f"token {token!r} is not in the vocabulary, which has no unknown token")
        return i

    def __len__(self) -> int:
        return len(self._tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._index

    def __getitem__(self, i: int) -> str:
        return self._tokens[i]

    @property
    def tokens(self) -> tuple[str, ...]:
        return self._tokens

    @property
    def unk(self) -> str | None:
        return self._unk

    @property
    def unk_index(self) -> int | None:
        return self._unk_index

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocabulary):
            return NotImplemented
        return self._tokens == other._tokens and self._unk == other._unk

    def __hash__(self) -> int:
        return hash((self._tokens, self._unk))

    def __repr__(self) -> str:
        head = ", ".join(repr(t) for t in self._tokens[:8])
        return f"Vocabulary({len(self)} tokens: {head}{', ...' if len(self) > 8 else ''}; unk={self._unk!r})"

    # --- files -------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        return {"tokens": list(self._tokens), "unk": self._unk}

    @classmethod
    def from_dict(cls, d: object) -> Vocabulary:
        """Inverse of `to_dict`; anything else is reported as corrupt vocabulary data."""
        if not isinstance(d, dict) or set(d) != {"tokens", "unk"}:
            got = sorted(d) if isinstance(d, dict) else type(d).__name__
            raise CheckpointError(f"vocabulary data is corrupt: expected keys ['tokens', 'unk'], got {got}")
        tokens, unk = d["tokens"], d["unk"]
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise CheckpointError("vocabulary data is corrupt: 'tokens' must be a list of strings")
        if unk is not None and not isinstance(unk, str):
            raise CheckpointError(f"vocabulary data is corrupt: 'unk' must be a string or null, got {unk!r}")
        try:
            return cls(tokens, unk=unk)
        except DataError as e:
            raise CheckpointError(f"vocabulary data is corrupt: {e}") from None

    def save(self, path: str | os.PathLike) -> None:
        """Write JSON atomically (a crash mid-write leaves the old file, never half a file)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, ensure_ascii=False)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocabulary:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CheckpointError(f"vocabulary file {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as e:
            raise CheckpointError(f"cannot read vocabulary file {path}: {e}") from None
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise CheckpointError(f"vocabulary file {path} is not valid JSON ({e})") from None
        try:
            return cls.from_dict(d)
        except CheckpointError as e:
            raise CheckpointError(f"{path}: {e}") from None

