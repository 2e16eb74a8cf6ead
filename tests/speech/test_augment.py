"""Frame augmentation (rnnlab/speech/augment.py) and audio deltas: each transform does what its
docstring says, draws are reproducible from the seed, the task augments training batches only and
identically after a resume, and the digits recipe wires the options through."""
import numpy as np
import pytest
import torch

from rnnlab.data.audio import AudioFeatures, deltas
from rnnlab.errors import ConfigError, DataError
from rnnlab.recipes.digits import RECIPE, frame_augment
from rnnlab.speech.augment import FrameAugment, stretch
from rnnlab.speech.model import UtteranceClassifier
from rnnlab.speech.task import UtteranceTask


def frames(T=40, F=12, seed=0):
    return torch.randn(T, F, generator=torch.Generator().manual_seed(seed)) + 3.0  # no entry equals 0


def test_all_zero_is_the_identity_and_inactive():
    aug = FrameAugment()
    x = frames()
    y = aug(x, np.random.default_rng(0))
    assert not aug.active and torch.equal(x, y) and y is not x


def test_time_and_frequency_masks_zero_whole_runs_only():
    x = frames()
    for seed in range(20):
        y = FrameAugment(time_masks=2, time_mask_width=5, freq_masks=1, freq_mask_width=3)(x, np.random.default_rng(seed))
        assert y.shape == x.shape
        zero_rows = (y == 0).all(1)
        zero_cols = (y == 0).all(0)
        assert int(zero_rows.sum()) <= 2 * 5 and int(zero_cols.sum()) <= 3
        masked = zero_rows[:, None] | zero_cols[None, :]
        assert torch.equal(y[~masked], x[~masked])  # everything else untouched
        assert (y[masked] == 0).all()
    # over many draws the masks do happen
    ys = [FrameAugment(time_masks=1, time_mask_width=5)(x, np.random.default_rng(s)) for s in range(20)]
    assert any((y == 0).all(1).any() for y in ys)


def test_shift_is_a_contiguous_crop_keeping_at_least_half():
    x = frames(T=30)
    seen = set()
    for seed in range(30):
        y = FrameAugment(shift=100)(x, np.random.default_rng(seed))
        assert len(y) >= len(x) // 2
        starts = [s for s in range(len(x) - len(y) + 1) if torch.equal(x[s:s + len(y)], y)]
        assert starts, "the result must be a slice of the input"
        seen.add((starts[0], len(y)))
    assert len(seen) > 5  # really random


def test_speed_stretches_time_within_the_factor_range():
    x = frames(T=50)
    lengths = {len(FrameAugment(speed=0.2)(x, np.random.default_rng(s))) for s in range(30)}
    assert min(lengths) >= round(50 / 1.2) and max(lengths) <= round(50 / 0.8) and len(lengths) > 3


def test_stretch_is_linear_interpolation_with_the_ends_kept():
    ramp = torch.arange(5.0)[:, None] * torch.tensor([[1.0, -2.0]])  # a straight line in time
    y = stretch(ramp, 9)
    expected = torch.linspace(0, 4, 9)[:, None] * torch.tensor([[1.0, -2.0]])
    torch.testing.assert_close(y, expected)
    x = frames(T=7)
    z = stretch(x, 13)
    torch.testing.assert_close(z[0], x[0]) and torch.testing.assert_close(z[-1], x[-1])
    torch.testing.assert_close(z[6], (x[3] + x[3]) / 2)  # frame 6 of 13 sits exactly on frame 3 of 7
    torch.testing.assert_close(z[1], (x[0] + x[1]) / 2)
    assert stretch(x[:1], 4).shape == (4, 12)


def test_same_rng_same_result_and_input_unchanged():
    x = frames()
    keep = x.clone()
    aug = FrameAugment(speed=0.1, shift=3, time_masks=2, time_mask_width=4, freq_masks=2, freq_mask_width=2)
    a, b = aug(x, np.random.default_rng(5)), aug(x, np.random.default_rng(5))
    assert torch.equal(a, b) and torch.equal(x, keep)


def test_bad_options_are_named():
    with pytest.raises(ConfigError, match="speed"):
        FrameAugment(speed=1.5)
    with pytest.raises(ConfigError, match="shift"):
        FrameAugment(shift=-1)
    with pytest.raises(ConfigError, match="time_mask_width"):
        FrameAugment(time_masks=1)
    with pytest.raises(DataError, match="non-empty"):
        FrameAugment(shift=1)(torch.zeros(0, 3), np.random.default_rng(0))


class Spy(torch.nn.Module):
    """Records the (frames, lengths) it is called with; returns zero logits with a gradient."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.seen = []

    def forward(self, x, lengths):
        self.seen.append((x.clone(), lengths.clone()))
        return torch.zeros(x.shape[1], 3) + self.w


def test_task_augments_training_batches_reproducibly_and_never_evaluation():
    data = [(frames(T=20 + i, F=4, seed=i), i % 3) for i in range(12)]
    splits = {"train": data, "valid": data[:6]}
    aug = FrameAugment(shift=4, time_masks=1, time_mask_width=3)
    plain = UtteranceTask(splits, ["a", "b", "c"], batch_size=4, seed=1)
    task = UtteranceTask(splits, ["a", "b", "c"], batch_size=4, seed=1, augment=aug)
    spy = Spy()
    for t in (plain, task, task):  # the same (epoch, update) twice: identical batches (resume-exact)
        t.train_step(spy, 2, 1, None)
    (x0, l0), (x1, l1), (x2, l2) = spy.seen
    assert torch.equal(x1, x2) and torch.equal(l1, l2)
    assert not torch.equal(l0, l1) or not torch.equal(x0, x1)  # it did change the batch
    spy.seen.clear()
    task.train_step(spy, 3, 1, None)
    assert not torch.equal(spy.seen[0][0][: len(x1)], x1) or spy.seen[0][0].shape != x1.shape
    spy.seen.clear()
    plain.evaluate(spy, "valid")
    task.evaluate(spy, "valid")
    (e0, _), (e1, _) = spy.seen
    assert torch.equal(e0, e1)  # evaluation is never augmented
    assert UtteranceTask(splits, ["a", "b", "c"], augment=FrameAugment()).augment is None


def test_deltas_follow_the_regression_formula():
    ramp = torch.arange(10.0)[:, None] * torch.tensor([[2.0, -1.0]])
    d = deltas(ramp)
    torch.testing.assert_close(d[2:-2], torch.tensor([[2.0, -1.0]]).expand(6, -1))  # slope inside
    # at the first frame the frame itself repeats: (1·(x1−x0) + 2·(x2−x0)) / 10 = 5/10 of the slope
    torch.testing.assert_close(d[0], 0.5 * torch.tensor([2.0, -1.0]))
    assert torch.equal(deltas(torch.ones(6, 3)), torch.zeros(6, 3))
    tone = torch.sin(2 * torch.pi * 440 * torch.arange(4000) / 8000)
    for order in (0, 1, 2):
        f = AudioFeatures(n_mels=20, deltas=order)
        out = f(tone, 8000)
        assert f.width == out.shape[1] == 20 * (1 + order)
    base = AudioFeatures(kind="mfcc", n_mels=20, n_mfcc=8, normalise=False)
    with_d = AudioFeatures(kind="mfcc", n_mels=20, n_mfcc=8, normalise=False, deltas=2)(tone, 8000)
    torch.testing.assert_close(with_d[:, :8], base(tone, 8000))
    torch.testing.assert_close(with_d[:, 16:], deltas(deltas(base(tone, 8000))))
    with pytest.raises(ConfigError, match="deltas"):
        AudioFeatures(deltas=3)


def test_recipe_options_reach_the_task_and_features():
    options = RECIPE.options({"task": "digits", "time_masks": 2, "freq_masks": 1, "speed": 0.1, "shift": 3,
                              "deltas": 1, "takes": 11, "hidden": 8, "layers": 1})
    aug = frame_augment(options)
    assert aug == FrameAugment(speed=0.1, shift=3, time_masks=2, time_mask_width=8, freq_masks=1,
                               freq_mask_width=6)
    prepared = RECIPE.prepare(options)
    assert prepared.task.augment == aug
    assert isinstance(prepared.model, UtteranceClassifier) and prepared.model.input_size == 80
    assert prepared.task.splits["train"][0][0].shape[1] == 80
    with pytest.raises(ConfigError):
        RECIPE.options({"task": "digits", "speed": 0.9})


def test_fsdd_preset_is_the_table_recipe():
    """`rnnlab train --preset digits-fsdd` trains what examples/digits_table.py reports for the TDNN."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
    from digits_table import AUGMENT, COMMON, MODELS
    from rnnlab.recipes.registry import preset
    table = RECIPE.options({**COMMON, **AUGMENT, **MODELS["tdnn"]})
    mine = RECIPE.options(preset("digits-fsdd"))
    skip = {"log_every"}
    assert {k: v for k, v in vars(table).items() if k not in skip} == {k: v for k, v in vars(mine).items()
                                                                        if k not in skip}
