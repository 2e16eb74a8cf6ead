"""Training-time augmentation of feature frames, the light kind that is standard for small speech
tasks. All of it works on the (T, F) frames the task already holds (features are computed once),
and is drawn from a numpy Generator the task seeds with (seed, epoch, update), so a resumed run
sees the same augmented batches.

- tempo perturbation (`speed` = s): the utterance is stretched in time by a factor drawn uniformly
  from [1 − s, 1 + s] (linear interpolation between frames, T' = round(T / factor)) — a speed change
  of the frames' time axis only; unlike waveform speed perturbation the spectrum (pitch, formants)
  is not shifted;
- random crop (`shift` = k): up to k frames dropped at each end (each end drawn separately, at
  least half the utterance kept), i.e. a random time shift of the utterance in its window;
- SpecAugment-style masks (Park et al. 2019): `time_masks` runs of up to `time_mask_width`
  frames and `freq_masks` bands of up to `freq_mask_width` channels set to `mask_value` (0, the
  mean of per-utterance normalised features).

Order: tempo, crop, then masks (as in SpecAugment, masks are applied to the final frames).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor

from rnnlab.errors import ConfigError, DataError


@dataclass(frozen=True)
class FrameAugment:
    """The augmentation options (JSON-able); `augment(frames, rng)` returns new frames (the input is
    never changed in place). All zero: the identity (`active` is False)."""

    speed: float = 0.0
    shift: int = 0
    time_masks: int = 0
    time_mask_width: int = 0
    freq_masks: int = 0
    freq_mask_width: int = 0
    mask_value: float = 0.0

    def __post_init__(self):
        if not 0 <= self.speed < 1:
            raise ConfigError(f"augment: speed must be in [0, 1) (a relative tempo change), got {self.speed}")
        for name in ("shift", "time_masks", "time_mask_width", "freq_masks", "freq_mask_width"):
            if getattr(self, name) < 0:
                raise ConfigError(f"augment: {name} must be >= 0, got {getattr(self, name)}")
        if self.time_masks and not self.time_mask_width:
            raise ConfigError("augment: time_masks needs time_mask_width >= 1")
        if self.freq_masks and not self.freq_mask_width:
            raise ConfigError("augment: freq_masks needs freq_mask_width >= 1")

    @property
    def active(self) -> bool:
        return bool(self.speed or self.shift or self.time_masks or self.freq_masks)

    def to_dict(self) -> dict:
        return asdict(self)

    def __call__(self, frames: Tensor, rng: np.random.Generator) -> Tensor:
        if frames.dim() != 2 or len(frames) == 0:
            raise DataError(f"augment: need non-empty (T, F) frames, got shape {tuple(frames.shape)}")
        x = frames
        if self.speed:
            factor = rng.uniform(1 - self.speed, 1 + self.speed)
            x = stretch(x, max(1, round(len(x) / factor)))
        if self.shift:
            spare = min(self.shift, len(x) // 4)  # both ends together drop at most half
            start, cut = (int(rng.integers(0, spare + 1)) for _ in range(2))
            x = x[start:len(x) - cut]
        if self.time_masks or self.freq_masks:
            x = x.clone()
            for _ in range(self.time_masks):
                width = int(rng.integers(0, min(self.time_mask_width, len(x)) + 1))
                start = int(rng.integers(0, len(x) - width + 1))
                x[start:start + width] = self.mask_value
            for _ in range(self.freq_masks):
                width = int(rng.integers(0, min(self.freq_mask_width, x.shape[1]) + 1))
                start = int(rng.integers(0, x.shape[1] - width + 1))
                x[:, start:start + width] = self.mask_value
        return x if x is not frames else frames.clone()


def stretch(frames: Tensor, length: int) -> Tensor:
    """(T, F) frames resampled to `length` frames by linear interpolation, ends kept (frame 0 and
    frame T−1 map onto the new first and last frames)."""
    if length < 1:
        raise ConfigError(f"stretch: length must be >= 1, got {length}")
    if length == len(frames):
        return frames.clone()
    if len(frames) == 1:
        return frames.expand(length, -1).clone()
    return torch.nn.functional.interpolate(frames.T[None], size=length, mode="linear", align_corners=True)[0].T
