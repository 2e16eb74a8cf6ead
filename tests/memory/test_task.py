"""The bit-sequence trainer task: batches fixed by (data seed, epoch, index), the curriculum, the
bits-wrong metric on a model that is right or wrong by construction."""
from __future__ import annotations

import torch
from torch import nn

from rnnlab.memory.task import BitSequenceTask, _generator


class Oracle(nn.Module):
    """Outputs ±10 logits for the copy target (it reads the input back from `task`'s layout)."""

    def __init__(self, flip: int = 0):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))
        self.flip = flip

    def forward(self, inputs):
        L = (inputs.shape[0] - 1) // 2
        out = torch.zeros(inputs.shape[0], inputs.shape[1], inputs.shape[2] - 1)
        out[L + 1:] = inputs[:L, :, :-1]
        if self.flip:
            out[L + 1, :, :self.flip] = 1 - out[L + 1, :, :self.flip]  # `flip` bits wrong per sequence
        return (out * 2 - 1) * 10 + self.dummy


def test_batches_depend_on_epoch_and_index_only():
    task = BitSequenceTask("copy", bits=3, max_size=6, batch_size=4)
    a, b = task._batch(4, _generator(0, 2, 5)), task._batch(4, _generator(0, 2, 5))
    assert torch.equal(a.inputs, b.inputs)
    assert torch.equal(task.train_step(Oracle(), 2, 5, None).loss, task.train_step(Oracle(), 2, 5, None).loss)


def test_curriculum_grows_the_longest_length_linearly():
    task = BitSequenceTask("copy", min_size=1, max_size=20, curriculum=100)
    assert [task.longest(u) for u in (0, 49, 99, 100, 5000)] == [1, 10, 20, 20, 20]
    assert BitSequenceTask("copy", max_size=20).longest(0) == 20


def test_bit_errors_count_wrong_bits_per_sequence():
    task = BitSequenceTask("copy", bits=4, max_size=5, eval_sequences=10)
    perfect = task.evaluate(Oracle(), "valid")
    assert perfect["bit_errors"] == 0 and perfect["exact"] == 1.0
    two_wrong = task.evaluate_at(Oracle(flip=2), size=7, sequences=6)
    assert two_wrong["bit_errors"] == 2 and two_wrong["exact"] == 0.0


def test_validation_covers_the_training_range():
    """A batch shares one size and one number of repeats, so the validation set's batches are small:
    64 sequences span many (length, repeats) pairs, not two a model could fit and stop on."""
    task = BitSequenceTask("repeat-copy", bits=4, max_size=10, max_repeats=10)
    batches = list(task._sized_batches(_generator(task.data_seed, -1), task.eval_sequences))
    pairs = {(int(b.mask.sum(0).max()), b.inputs.shape[0]) for b in batches}  # (scored steps, total steps)
    assert sum(b.inputs.shape[1] for b in batches) == 64 and len(pairs) >= 10
