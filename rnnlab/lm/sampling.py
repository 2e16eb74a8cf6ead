"""Sampling text from a language model, one token at a time.

The prime is run through the model once; after that every step feeds only the token just
sampled together with the carried state, so producing n tokens costs n single steps — the
prefix is never re-run. A `LanguageModel` is stepped by its `Stepper` (stepper.py: checked once,
then per token only the arithmetic of a model call, the same logits bit for bit); any other model
— or one the stepper does not reproduce exactly — by calling it. The sampling options are checked
once per call, not per token; the draws (and what they take from the generator) are
`sample_next`'s.
"""
from __future__ import annotations

from typing import Iterator

import torch
from torch import Tensor

from rnnlab.errors import ConfigError, DataError
from rnnlab.lm.stepper import Stepper


def sample_next(logits: Tensor, temperature: float = 1.0, top_k: int | None = None,
                generator: torch.Generator | None = None) -> Tensor:
    """Draw one token per row of `logits` (B, V) from softmax(logits / temperature), restricted
    to the `top_k` most likely tokens if given. temperature 0 means greedy (argmax)."""
    check_sampling(temperature, top_k)
    return _draw(logits, temperature, top_k, generator)


def check_sampling(temperature: float, top_k: int | None) -> None:
    """ConfigError for a negative temperature or a top_k below 1."""
    if temperature < 0:
        raise ConfigError(f"temperature must be >= 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ConfigError(f"top_k must be >= 1, got {top_k}")


def _draw(logits: Tensor, temperature: float, top_k: int | None, generator: torch.Generator | None) -> Tensor:
    """`sample_next` with checked options (generation checks them once, not per token)."""
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits.double()
    if temperature != 1:  # x / 1 is x exactly, so at temperature 1 the division is skipped
        logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


# inference mode, not just no_grad: the tensors each step makes skip version counting and view
# tracking; the decorator (not a `with` inside) switches it on and off around each resumption of
# the generator, so the code consuming the tokens runs in its own grad mode
@torch.inference_mode()
def generate(model, prime: Tensor, length: int, *, temperature: float = 1.0, top_k: int | None = None,
             seed: int | None = None) -> Iterator[int]:
    """Yield `length` token ids continuing `prime` (1-D ids, at least one).

    `model(tokens (T, B), state) -> (logits (T, B, V), state)`, e.g. a `LanguageModel`.
    """
    if prime.dim() != 1 or prime.numel() == 0:
        raise DataError(f"generate: the prime must be a non-empty 1-D sequence of ids, got shape {tuple(prime.shape)}")
    if length < 0:
        raise ConfigError(f"length must be >= 0, got {length}")
    check_sampling(temperature, top_k)
    was_training = model.training
    model.eval()
    generator = None
    if seed is not None:
        generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    try:
        logits, state = model(prime.view(-1, 1).to(device), None)  # checks the prime's ids, and everything else
        step = Stepper.of(model)
        last = logits[-1]
        for k in range(length):
            token = int(_draw(last.cpu(), temperature, top_k, generator))  # the generator draws on the CPU
            yield token
            if k + 1 == length:
                break  # the last token's logits would go unused
            if step is not None:
                logits, state = step(token, state)
            else:
                logits, state = model(torch.tensor([[token]], device=device), state)
            last = logits[-1]
    finally:
        model.train(was_training)
