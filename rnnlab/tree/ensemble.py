"""Several trained tree classifiers (e.g. one recipe, several seeds) as one, at prediction time:
every node's class posterior is the mean of the members',

    p(y_n | tree) = (1/M) Σ_m p_m(y_n | tree),

returned as "logits" log p, so what reads a `TreeClassifier`'s output reads the ensemble's
unchanged: argmax picks the averaged posterior's best label, softmax gives the averaged posterior
back (it sums to 1, so softmax(log p) = p) and `TreeTask.evaluate`'s cross-entropy is the
averaged posterior's −log p. It is not trained (averaging posteriors is not the same model as a
mean of logits; the posterior mean is what "an ensemble of the seed models" usually means).

The members must read the same token ids and give the same labels: `TreeEnsemble` checks what a
model knows (vocabulary size, number of classes); `rnnlab.recipes.sentiment.load_ensemble`
checks that the runs' saved vocabularies and data are the same.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from rnnlab.errors import ConfigError
from rnnlab.tree.batch import TreeBatch


class TreeEnsemble(nn.Module):
    """M trained `TreeClassifier`s over the same vocabulary and labels; TreeBatch → log of the
    members' mean posterior, (N, num_classes)."""

    def __init__(self, members: Sequence[nn.Module]):
        super().__init__()
        members = list(members)
        if not members:
            raise ConfigError("an ensemble needs at least one tree classifier")
        first = members[0]
        for i, m in enumerate(members[1:], 1):
            if m.num_classes != first.num_classes:
                raise ConfigError(f"ensemble member {i} has {m.num_classes} classes but member 0 has "
                                  f"{first.num_classes}: they must predict the same labels")
            if m.vocab_size != first.vocab_size:
                raise ConfigError(f"ensemble member {i} reads a vocabulary of {m.vocab_size} words but member 0 "
                                  f"reads {first.vocab_size}: they must share one vocabulary (same training data)")
        self.members = nn.ModuleList(members)
        self.num_classes, self.vocab_size = first.num_classes, first.vocab_size

    def forward(self, batch: TreeBatch) -> Tensor:
        log_probs = torch.stack([torch.log_softmax(m(batch), -1) for m in self.members])  # (M, N, K)
        # log (1/M) Σ_m p_m = logsumexp_m log p_m − log M (no underflow for confident members)
        return torch.logsumexp(log_probs, 0) - math.log(len(self.members))

    def extra_repr(self) -> str:
        return f"members={len(self.members)}, num_classes={self.num_classes}"
