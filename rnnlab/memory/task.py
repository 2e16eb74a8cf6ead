"""The bit-sequence tasks as a trainer task: copy, repeat copy, associative recall
(rnnlab.datasets.ntm_tasks), scored as in Graves et al. 2014 by bits wrong per sequence.

Update `index` of `epoch` draws its batch from a generator seeded by (data_seed, epoch, index)
alone, so a resumed run sees the same batches. Its size — the sequence length (copy, repeat copy)
or the number of items (recall) — is drawn uniformly from [min_size, max_size], the repeats of
repeat copy from [min_repeats, max_repeats]. An optional curriculum (`curriculum` = C updates)
raises the upper end linearly from min_size to max_size over the first C updates: short sequences
teach the addressing first (the NTM's long plateau on copy shortens), and training ends on the
whole range. The validation and test sets are fixed sequences drawn
from the training ranges (from their own seeds; a size — and number of repeats — per batch of
`eval_batch_size` = 4 sequences, so 64 sequences cover 16 of them); `evaluate_at` scores fresh sequences at any size
or number of repeats — the generalisation test (`rnnlab eval --length`).

The loss is the binary cross-entropy of the output bits, averaged over the scored bits (the steps
of the output phase); a bit is wrong when its logit's sign disagrees with the target.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from rnnlab.datasets.ntm_tasks import BitBatch, NTM_TASKS, make_batch, widths
from rnnlab.errors import ConfigError, DataError
from rnnlab.train.inference import eval_mode, model_device
from rnnlab.train.trainer import StepOutput

SPLIT_SEEDS = {"valid": 1, "test": 2}


def _generator(*seeds: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(np.random.SeedSequence([s % 2**32 for s in seeds]).generate_state(1)[0]))


def score(logits: Tensor, batch: BitBatch) -> tuple[Tensor, int, int]:
    """(mean BCE over the scored bits, bits wrong, sequences) of one batch."""
    mask = batch.mask.unsqueeze(-1).expand_as(batch.targets)
    loss = F.binary_cross_entropy_with_logits(logits[mask], batch.targets[mask])
    wrong = int(((logits[mask] > 0).float() != batch.targets[mask]).sum())
    return loss, wrong, batch.targets.shape[1]


class BitSequenceTask:
    """Trainer task for `task` in NTM_TASKS on a `BitSequenceModel` (see the module docstring)."""

    metric = "bit_errors"  # bits wrong per sequence, on the validation set
    splits = ("valid", "test")

    def __init__(self, task: str, *, bits: int = 8, min_size: int = 1, max_size: int = 20, min_repeats: int = 1,
                 max_repeats: int = 10, item_length: int = 3, batch_size: int = 16, updates_per_epoch: int = 100,
                 eval_sequences: int = 64, eval_batch_size: int = 4, data_seed: int = 0, curriculum: int = 0):
        if task not in NTM_TASKS:
            raise ConfigError(f"unknown NTM task {task!r}; choose one of: {', '.join(NTM_TASKS)}")
        if not 1 <= min_size <= max_size:
            raise ConfigError(f"need 1 <= min size <= max size, got {min_size} and {max_size}")
        if not 1 <= min_repeats <= max_repeats:
            raise ConfigError(f"need 1 <= min repeats <= max repeats, got {min_repeats} and {max_repeats}")
        if task == "recall" and min_size < 2:
            raise ConfigError(f"associative recall needs at least 2 items (a query and the item after it), "
                              f"got min size {min_size}")
        if curriculum < 0:
            raise ConfigError(f"curriculum must be >= 0 updates, got {curriculum}")
        if min(bits, item_length, batch_size, updates_per_epoch, eval_sequences, eval_batch_size) < 1:
            raise ConfigError("bits, item length, batch sizes, updates per epoch and eval sequences must be >= 1")
        self.task, self.bits, self.item_length = task, bits, item_length
        self.sizes, self.repeats = (min_size, max_size), (min_repeats, max_repeats)
        self.batch_size, self.updates_per_epoch, self.data_seed = batch_size, updates_per_epoch, data_seed
        # the sequences of one evaluation batch share a size (and number of repeats), so small
        # batches are what make the validation set cover the training range: 64 sequences in
        # batches of 32 were 2 (size, repeats) pairs, and a model could "converge" on those two
        self.eval_sequences, self.eval_batch_size, self.curriculum = eval_sequences, eval_batch_size, curriculum
        self.input_width, self.output_width = widths(task, bits)

    def longest(self, update: int) -> int:
        """The longest size drawn at training update `update` (0-based): with a curriculum of C
        updates it grows linearly from min_size to max_size over the first C, then stays."""
        low, high = self.sizes
        if not self.curriculum or update >= self.curriculum:
            return high
        return low + (high - low) * (update + 1) // self.curriculum

    def _batch(self, batch: int, generator: torch.Generator, size: int | None = None,
               repeats: int | None = None, longest: int | None = None) -> BitBatch:
        if size is None:
            high = self.sizes[1] if longest is None else longest
            size = int(torch.randint(self.sizes[0], high + 1, (1,), generator=generator))
        if repeats is None:
            repeats = int(torch.randint(self.repeats[0], self.repeats[1] + 1, (1,), generator=generator))
        return make_batch(self.task, batch, size, bits=self.bits, repeats=repeats, item_length=self.item_length,
                          generator=generator)

    def num_batches(self) -> int:
        return self.updates_per_epoch

    def train_step(self, model, epoch: int, index: int, carry) -> StepOutput:
        update = (epoch - 1) * self.updates_per_epoch + index  # a function of (epoch, index): resumes exactly
        batch = self._batch(self.batch_size, _generator(self.data_seed, epoch, index), longest=self.longest(update))
        device = model_device(model)
        batch = BitBatch(*(t.to(device) for t in batch))
        loss, _, n = score(model(batch.inputs), batch)
        return StepOutput(loss, n)

    @torch.no_grad()
    def _score(self, model, batches) -> dict[str, float]:
        loss_sum, bits, wrong, sequences, exact = 0.0, 0, 0, 0, 0
        device = model_device(model)
        with eval_mode(model):
            for batch in batches:
                batch = BitBatch(*(t.to(device) for t in batch))
                logits = model(batch.inputs)
                loss, _, n = score(logits, batch)
                scored = int(batch.mask.sum()) * batch.targets.shape[-1]
                errors = ((logits > 0).float() != batch.targets) & batch.mask.unsqueeze(-1)
                per_seq = errors.sum(dim=(0, 2))
                loss_sum, bits = loss_sum + float(loss) * scored, bits + scored
                wrong, sequences, exact = wrong + int(per_seq.sum()), sequences + n, exact + int((per_seq == 0).sum())
        return {"loss": loss_sum / bits, "bit_errors": wrong / sequences, "exact": exact / sequences}

    def _sized_batches(self, generator, sequences: int, size=None, repeats=None):
        left = sequences
        while left > 0:
            n = min(left, self.eval_batch_size)
            yield self._batch(n, generator, size, repeats)
            left -= n

    def evaluate(self, model, split: str) -> dict[str, float]:
        """{"loss": BCE per scored bit, "bit_errors": bits wrong per sequence, "exact": fraction of
        sequences without a wrong bit} on the split's fixed sequences (sizes from the training range)."""
        if split not in SPLIT_SEEDS:
            raise DataError(f"no {split!r} split to evaluate on (have: {', '.join(SPLIT_SEEDS)})")
        return self._score(model, self._sized_batches(_generator(self.data_seed, -SPLIT_SEEDS[split]),
                                                      self.eval_sequences))

    def evaluate_at(self, model, size: int | None = None, repeats: int | None = None, *, sequences: int | None = None,
                    seed: int = 0) -> dict[str, float]:
        """The metrics on fresh sequences of one `size` (length, or items for recall) and/or number of
        `repeats` (each from the training range when None): generalisation beyond training."""
        if size is not None and (size < 1 or (self.task == "recall" and size < 2)):
            raise ConfigError(f"--length must be >= {2 if self.task == 'recall' else 1} for {self.task}, got {size}")
        if repeats is not None and repeats < 1:
            raise ConfigError(f"--repeats must be >= 1, got {repeats}")
        generator = _generator(self.data_seed, -10 - seed, size or 0, repeats or 0)
        return self._score(model, self._sized_batches(generator, sequences or self.eval_sequences, size, repeats))
