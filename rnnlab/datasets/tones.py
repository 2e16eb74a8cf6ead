"""Spoken-digit-like audio generated in code, so the digits task runs end to end without
../shared: each "digit" is a fixed sequence of three vowel-like segments, each segment two
formant-like sinusoids (F1, F2) gliding into the next, voiced at a speaker's pitch.

    clips = tone_digits(n_per_digit=20, speakers=("a", "b", "c"), seed=0)
    clips[0] == Clip(samples (N,) float32, rate 8000, digit "3", speaker "a", take 0)

Speakers differ in pitch, formant scale (vocal-tract length) and speaking rate; takes differ in
duration, level, onset silence and noise. Not speech, but the same shape of problem: the class is
in how the spectrum moves over 0.3–0.7 s, under variation the model must ignore.
"""
from __future__ import annotations

import math
import random
from typing import NamedTuple, Sequence

import torch
from torch import Tensor

RATE = 8000
DIGITS = tuple(str(d) for d in range(10))
# (F1, F2) Hz of each digit's three segments, drawn once from vowel-like ranges with a fixed seed
_rng = random.Random(1989)
FORMANTS = {d: tuple((_rng.uniform(280, 850), _rng.uniform(900, 2600)) for _ in range(3)) for d in DIGITS}


class Clip(NamedTuple):
    samples: Tensor
    rate: int
    digit: str
    speaker: str
    take: int


def speaker_traits(speaker: str) -> tuple[float, float, float]:
    """(pitch Hz, formant scale, duration scale) of a speaker name, the same every time."""
    r = random.Random(f"speaker:{speaker}")
    return r.uniform(90, 220), r.uniform(0.9, 1.12), r.uniform(0.8, 1.25)


def synthesise(digit: str, speaker: str, take: int, seed: int = 0) -> Tensor:
    """One clip: three segments whose two formants glide linearly, on a pitch pulse train."""
    pitch, scale, slow = speaker_traits(speaker)
    r = random.Random(f"{seed}:{digit}:{speaker}:{take}")
    gen = torch.Generator().manual_seed(r.randrange(2**31))
    seconds = r.uniform(0.3, 0.55) * slow
    n = int(seconds * RATE)
    t = torch.arange(n, dtype=torch.float64) / RATE
    points = torch.tensor([[f * scale * r.uniform(0.96, 1.04) for f in seg] for seg in FORMANTS[digit]],
                          dtype=torch.float64)  # (3, 2)
    where = torch.linspace(0, 2, n, dtype=torch.float64)  # segment position: glide 0 → 1 → 2
    lo = where.floor().clamp(max=1).long()
    frac = (where - lo).unsqueeze(1)
    formants = points[lo] * (1 - frac) + points[lo + 1] * frac  # (n, 2) Hz
    phase = 2 * math.pi * torch.cumsum(formants, 0) / RATE
    voicing = 0.6 + 0.4 * torch.cos(2 * math.pi * pitch * r.uniform(0.95, 1.05) * t)  # amplitude-modulated at the pitch
    signal = (torch.sin(phase[:, 0]) + 0.6 * torch.sin(phase[:, 1])) * voicing
    envelope = torch.sin(math.pi * torch.arange(n, dtype=torch.float64) / n).clamp(min=0) ** 0.5
    signal = r.uniform(0.2, 0.5) * signal * envelope / 1.6
    silence = torch.zeros(int(r.uniform(0.02, 0.12) * RATE), dtype=torch.float64)
    clip = torch.cat([silence, signal, silence[: len(silence) // 2]])
    clip = clip + 0.01 * torch.randn(len(clip), generator=gen, dtype=torch.float64)
    return clip.float()


def tone_digits(n_per_digit: int, speakers: Sequence[str] = ("ann", "bob", "cyd"), *, seed: int = 0) -> list[Clip]:
    """`n_per_digit` takes of every digit by every speaker (takes 0, 1, …), in a fixed order."""
    return [Clip(synthesise(d, s, k, seed), RATE, d, s, k) for s in speakers for d in DIGITS for k in range(n_per_digit)]
