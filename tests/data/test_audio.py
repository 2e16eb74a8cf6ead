"""Audio features against hand computations on synthetic tones; WAV reading and its errors."""
import math
import wave

import pytest
import torch

from rnnlab.data.audio import (AudioFeatures, dct_matrix, hz_to_mel, mel_centres, mel_filterbank, normalise,
                               power_spectrum, read_wav, write_wav)
from rnnlab.errors import ConfigError, DataError, DataNotFoundError

RATE = 8000


def tone(freq, seconds=0.5, rate=RATE):
    t = torch.arange(int(seconds * rate), dtype=torch.float64) / rate
    return (0.5 * torch.sin(2 * math.pi * freq * t)).float()


@pytest.mark.parametrize("freq", [300.0, 1000.0, 2500.0])
def test_the_peak_lands_in_the_mel_band_computed_by_hand(freq):
    features = AudioFeatures(n_mels=20, normalise=False, f_min=0.0)
    frames = features(tone(freq), RATE)
    # by hand: the band whose centre (in mel) is nearest the tone's mel
    centres = mel_centres(20, 0.0, RATE / 2)[1:-1]
    want = min(range(20), key=lambda m: abs(hz_to_mel(centres[m]) - hz_to_mel(freq)))
    assert int(frames[10:-10].mean(0).argmax()) == want


def test_power_spectrum_peaks_at_the_tones_bin_and_matches_parseval():
    x = tone(1000.0)
    P = power_spectrum(x, 256, 80, 200)
    assert P.shape == (1 + len(x) // 80, 129)
    assert int(P[10].argmax()) == round(1000 * 256 / RATE)
    # Parseval for one full frame: Σ_k |X_k|² over the two-sided spectrum = n_fft Σ_n (w x)²
    frame = x[10 * 80 - 100:10 * 80 + 100] * torch.hann_window(200)
    two_sided = P[10, 0] + P[10, -1] + 2 * P[10, 1:-1].sum()
    torch.testing.assert_close(two_sided, (frame ** 2).sum(), rtol=1e-4, atol=1e-6)


def test_filterbank_triangles_and_dct_orthonormal():
    F = mel_filterbank(10, 256, RATE)
    assert F.shape == (10, 129) and float(F.max()) <= 1.0 and (F.sum(1) > 0).all()
    C = dct_matrix(10, 10)
    torch.testing.assert_close(C.T @ C, torch.eye(10), atol=1e-5, rtol=0)


def test_mfcc_is_the_dct_of_the_log_mels_and_normalisation():
    x = tone(700.0) + 0.01 * torch.randn(4000)
    logmel = AudioFeatures(n_mels=24, normalise=False)(x, RATE)
    mfcc = AudioFeatures(kind="mfcc", n_mels=24, n_mfcc=13, normalise=False)(x, RATE)
    torch.testing.assert_close(mfcc, logmel @ dct_matrix(24, 13))
    z = normalise(logmel)
    torch.testing.assert_close(z.mean(0), torch.zeros(24), atol=1e-4, rtol=0)
    torch.testing.assert_close(z.std(0, unbiased=False), torch.ones(24), atol=1e-3, rtol=0)


def test_wav_round_trip_resampling_and_errors(tmp_path):
    x = tone(440.0, 0.25)
    write_wav(tmp_path / "a.wav", x, RATE)
    y, rate = read_wav(tmp_path / "a.wav")
    assert rate == RATE and torch.allclose(x, y, atol=1 / 30000)
    with wave.open(str(tmp_path / "s.wav"), "wb") as f:  # 8-bit stereo: unsigned samples, channels averaged
        f.setnchannels(2)
        f.setsampwidth(1)
        f.setframerate(16000)
        f.writeframes(bytes([128, 192, 64, 128]))
    y, rate = read_wav(tmp_path / "s.wav")
    assert rate == 16000 and torch.allclose(y, torch.tensor([0.25, -0.25]))
    at16k = AudioFeatures()(tone(440.0, 0.25, 16000), 16000)
    assert at16k.shape == AudioFeatures()(x, RATE).shape  # resampled to the features' rate first
    (tmp_path / "bad.wav").write_bytes(b"RIFF....not a wav")
    with pytest.raises(DataError, match="not a PCM WAV"):
        read_wav(tmp_path / "bad.wav")
    with pytest.raises(DataNotFoundError):
        read_wav(tmp_path / "missing.wav")
    with pytest.raises(ConfigError, match="audio features must be one of"):
        AudioFeatures(kind="spectrogram")
