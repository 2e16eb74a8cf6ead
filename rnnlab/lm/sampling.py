"""Sampling text from a language model, one token at a time.

The prime is run through the model once; after that every step feeds only the token just
sampled together with the carried state, so producing n tokens costs n single steps — the
prefix is never re-run.
"""
from __future__ import annotations

from typing import Iterator

import torch
from torch import Tensor

from rnnlab.errors import ConfigError, DataError


def sample_next(logits: Tensor, temperature: float = 1.0, top_k: int | None = None,
                generator: torch.Generator | None = None) -> Tensor:
    """Draw one token per row of `logits` (B, V) from softmax(logits / temperature), restricted
    to the `top_k` most likely tokens if given. temperature 0 means greedy (argmax)."""
    if temperature < 0:
        raise ConfigError(f"temperature must be >= 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ConfigError(f"top_k must be >= 1, got {top_k}")
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits.double() / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@torch.no_grad()
def generate(model, prime: Tensor, length: int, *, temperature: float = 1.0, top_k: int | None = None,
             seed: int | None = None) -> Iterator[int]:
    """Yield `length` token ids continuing `prime` (1-D ids, at least one).

    `model(tokens (T, B), state) -> (logits (T, B, V), state)`, e.g. a `LanguageModel`.
    """
    if prime.dim() != 1 or prime.numel() == 0:
        raise DataError(f"generate: the prime must be a non-empty 1-D sequence of ids, got shape {tuple(prime.shape)}")
    if length < 0:
        raise ConfigError(f"length must be >= 0, got {length}")
    was_training = model.training
    model.eval()
    generator = None
    if seed is not None:
        generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    try:
        logits, state = model(prime.view(-1, 1).to(device), None)
        last = logits[-1]
        for _ in range(length):
            token = sample_next(last.cpu(), temperature, top_k, generator)  # the generator draws on the CPU
            yield int(token)
            logits, state = model(token.view(1, 1).to(device), state)
            last = logits[-1]
    finally:
        model.train(was_training)
