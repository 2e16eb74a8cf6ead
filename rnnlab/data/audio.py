"""Audio in without new dependencies: WAV files through the standard library's `wave`, log-mel
filterbank energies and MFCCs through `torch.stft`, per-utterance normalisation.

    samples, rate = read_wav("0_jackson_0.wav")              # float32 (N,) in [-1, 1], Hz
    features = AudioFeatures(kind="logmel", n_mels=40)       # the options, stored in a run's config
    frames = features(samples, rate)                          # (T, 40), T = 1 + N // hop

The features (Davis & Mermelstein 1980; the HTK conventions):

    P_t(k)   = |STFT(x)_t(k)|² / n_fft          power spectrum of a Hann-windowed frame t     (1)
    mel(f)   = 2595 log10(1 + f / 700)          the mel scale                                   (2)
    E_t(m)   = Σ_k F_m(k) P_t(k)                triangular filters F_m, centres equally spaced
                                                in mel between f_min and f_max                  (3)
    logmel   = log(E + 1e-6)                                                                     (4)
    mfcc_t   = DCT-II(logmel_t)[:n_mfcc]        orthonormal DCT                                  (5)
    normalised: each coefficient minus its mean over the utterance, over its std (+1e-5)        (6)
    Δc_t     = Σ_{n=1..N} n (c_{t+n} − c_{t−n}) / (2 Σ n²), N = 2, ends repeated            (7)
               (`deltas` = 1 appends Δ, 2 appends Δ and ΔΔ = Δ of Δ; computed before (6))

A signal at another rate than `sample_rate` is resampled by linear interpolation (no anti-alias
filter: fine for speech going up, crude going down).
"""
from __future__ import annotations

import math
import wave
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import Tensor

from rnnlab.errors import ConfigError, DataError, DataNotFoundError

FEATURE_KINDS = ("logmel", "mfcc")


def read_wav(path: str | Path) -> tuple[Tensor, int]:
    """A PCM WAV file as float32 samples in [-1, 1] (channels averaged) and its sample rate.
    8-bit (unsigned), 16-, 24- and 32-bit (signed) PCM; DataError naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"no such WAV file: {path}")
    try:
        with wave.open(str(path), "rb") as f:
            channels, width, rate, n = f.getnchannels(), f.getsampwidth(), f.getframerate(), f.getnframes()
            raw = f.readframes(n)
    except (wave.Error, EOFError) as e:
        raise DataError(f"{path}: not a PCM WAV file ({e})") from None
    if n == 0:
        raise DataError(f"{path}: the WAV file holds no samples")
    raw = raw[: n * channels * width]
    if width == 1:
        x = (torch.frombuffer(bytearray(raw), dtype=torch.uint8).float() - 128.0) / 128.0
    elif width == 2:
        x = torch.frombuffer(bytearray(raw), dtype=torch.int16).float() / 32768.0
    elif width == 3:  # little-endian 24-bit: widen each sample to 32 bits, sign from the top byte
        b = torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(-1, 3).long()
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = torch.where(v >= 1 << 23, v - (1 << 24), v).float() / float(1 << 23)
    elif width == 4:
        x = torch.frombuffer(bytearray(raw), dtype=torch.int32).double().div(2.0**31).float()
    else:
        raise DataError(f"{path}: {8 * width}-bit samples are not supported (8, 16, 24 or 32-bit PCM)")
    return x.view(-1, channels).mean(1), rate


def write_wav(path: str | Path, samples: Tensor, rate: int) -> None:
    """Mono 16-bit PCM (samples clipped to [-1, 1])."""
    pcm = (samples.detach().float().clamp(-1, 1) * 32767).round().to(torch.int16)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(int(rate))
        f.writeframes(pcm.numpy().tobytes())


def hz_to_mel(f):
    return 2595.0 * math.log10(1.0 + f / 700.0)  # (2)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def mel_centres(n_mels: int, f_min: float, f_max: float) -> list[float]:
    """The n_mels + 2 corner frequencies (Hz) of the filters: filter m rises from corner m to its
    centre m + 1 and falls to corner m + 2, equally spaced in mel."""
    lo, hi = hz_to_mel(f_min), hz_to_mel(f_max)
    return [mel_to_hz(lo + (hi - lo) * i / (n_mels + 1)) for i in range(n_mels + 2)]


def mel_filterbank(n_mels: int, n_fft: int, rate: int, f_min: float = 0.0, f_max: float | None = None) -> Tensor:
    """F (n_mels, n_fft // 2 + 1): triangular filters of (3) over the FFT bins' frequencies."""
    f_max = rate / 2 if f_max is None else f_max
    if not 0 <= f_min < f_max <= rate / 2:
        raise ConfigError(f"mel filterbank: need 0 <= f_min < f_max <= {rate / 2} Hz, got {f_min}, {f_max}")
    bins = torch.arange(n_fft // 2 + 1, dtype=torch.float64) * rate / n_fft  # Hz of each bin
    corners = torch.tensor(mel_centres(n_mels, f_min, f_max), dtype=torch.float64)
    left, centre, right = corners[:-2, None], corners[1:-1, None], corners[2:, None]
    rising = (bins - left) / (centre - left)
    falling = (right - bins) / (right - centre)
    return torch.clamp(torch.minimum(rising, falling), min=0.0).float()


def power_spectrum(samples: Tensor, n_fft: int, hop: int, win: int) -> Tensor:
    """(1): (T, n_fft // 2 + 1), T = 1 + N // hop (frames centred on t·hop, zero padded at the ends)."""
    window = torch.hann_window(win, dtype=samples.dtype, device=samples.device)
    spec = torch.stft(samples, n_fft, hop_length=hop, win_length=win, window=window, center=True,
                      pad_mode="constant", return_complex=True)  # (F, T)
    return (spec.abs() ** 2).T / n_fft


def dct_matrix(n_in: int, n_out: int) -> Tensor:
    """Orthonormal DCT-II (n_in → first n_out coefficients) as a (n_in, n_out) matrix, for (5)."""
    n = torch.arange(n_in, dtype=torch.float64)
    k = torch.arange(n_out, dtype=torch.float64)
    basis = torch.cos(math.pi / n_in * (n[:, None] + 0.5) * k[None, :]) * math.sqrt(2.0 / n_in)
    basis[:, 0] /= math.sqrt(2.0)
    return basis.float()


def deltas(frames: Tensor, n: int = 2) -> Tensor:
    """(7): the regression deltas of (T, F) frames over ±n frames, the first and last frame repeated
    beyond the ends (HTK's convention)."""
    if n < 1:
        raise ConfigError(f"deltas: n must be >= 1, got {n}")
    padded = torch.cat([frames[:1].expand(n, -1), frames, frames[-1:].expand(n, -1)])
    T = len(frames)
    num = sum(k * (padded[n + k:n + k + T] - padded[n - k:n - k + T]) for k in range(1, n + 1))
    return num / (2 * sum(k * k for k in range(1, n + 1)))


def normalise(frames: Tensor, eps: float = 1e-5) -> Tensor:
    """(6): every coefficient to mean 0 and standard deviation 1 over the utterance's frames."""
    mean = frames.mean(0, keepdim=True)
    std = frames.std(0, unbiased=False, keepdim=True)
    return (frames - mean) / (std + eps)


def resample(samples: Tensor, rate: int, target: int) -> Tensor:
    """Linear interpolation from `rate` to `target` Hz (see the module docstring)."""
    if rate == target:
        return samples
    n = max(1, round(samples.shape[0] * target / rate))
    return torch.nn.functional.interpolate(samples[None, None], size=n, mode="linear", align_corners=True)[0, 0]


@dataclass(frozen=True)
class AudioFeatures:
    """The feature options (JSON-able: `to_dict` / `AudioFeatures(**d)`); calling it turns samples
    into (T, width) frames. Frames of win_ms every hop_ms; n_fft the smallest power of 2 >= the window."""

    kind: str = "logmel"
    sample_rate: int = 8000
    n_mels: int = 40
    n_mfcc: int = 13
    win_ms: float = 25.0
    hop_ms: float = 10.0
    f_min: float = 20.0
    f_max: float | None = None
    normalise: bool = True
    deltas: int = 0

    def __post_init__(self):
        if self.kind not in FEATURE_KINDS:
            raise ConfigError(f"audio features must be one of {', '.join(FEATURE_KINDS)}, got {self.kind!r}")
        if self.n_mels < 2 or not 1 <= self.n_mfcc <= self.n_mels:
            raise ConfigError(f"need n_mels >= 2 and 1 <= n_mfcc <= n_mels, got {self.n_mels}, {self.n_mfcc}")
        if not 0 < self.hop_ms <= self.win_ms:
            raise ConfigError(f"need 0 < hop_ms <= win_ms, got {self.hop_ms}, {self.win_ms}")
        if self.deltas not in (0, 1, 2):
            raise ConfigError(f"deltas must be 0, 1 (+Δ) or 2 (+Δ, ΔΔ), got {self.deltas}")

    @property
    def width(self) -> int:
        return (self.n_mels if self.kind == "logmel" else self.n_mfcc) * (1 + self.deltas)

    @property
    def win(self) -> int:
        return round(self.sample_rate * self.win_ms / 1000)

    @property
    def hop(self) -> int:
        return round(self.sample_rate * self.hop_ms / 1000)

    @property
    def n_fft(self) -> int:
        return 1 << (self.win - 1).bit_length()

    def to_dict(self) -> dict:
        return asdict(self)

    def filterbank(self) -> Tensor:
        key = "_fb"
        if key not in self.__dict__:  # frozen dataclass: cache through __dict__
            object.__setattr__(self, key, mel_filterbank(self.n_mels, self.n_fft, self.sample_rate, self.f_min, self.f_max))
        return self.__dict__[key]

    def __call__(self, samples: Tensor, rate: int) -> Tensor:
        """(T, width) features of a mono signal at `rate` Hz."""
        if samples.dim() != 1 or samples.numel() == 0:
            raise DataError(f"audio features: need a non-empty 1-D signal, got shape {tuple(samples.shape)}")
        x = resample(samples.float(), rate, self.sample_rate)
        logmel = torch.log(power_spectrum(x, self.n_fft, self.hop, self.win) @ self.filterbank().T + 1e-6)  # (3), (4)
        frames = logmel if self.kind == "logmel" else logmel @ dct_matrix(self.n_mels, self.n_mfcc)  # (5)
        if self.deltas:
            d = deltas(frames)  # (7)
            frames = torch.cat([frames, d] + ([deltas(d)] if self.deltas == 2 else []), 1)
        return normalise(frames) if self.normalise else frames
