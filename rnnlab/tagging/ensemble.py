"""Several trained taggers (e.g. the same recipe with different seeds) as one, at prediction time:

- per-word softmax taggers: the mean of the members' posteriors,
      p(y_t | x) = (1/M) Σ_m p_m(y_t | x),
  returned as tag "logits" log p (so argmax, BIO Viterbi over log-softmax and the cross-entropy
  of `TaggingTask.evaluate` all read the averaged posterior);
- CRF taggers: the mean of the members' CRF scores, i.e. emissions E = (1/M) Σ_m E_m and a CRF
  whose transition / start / end scores are the members' means; Viterbi on the averaged score
  is the best path of the members' geometric mean (product of experts, renormalised);
- the intent: the mean of the members' intent posteriors, as log-probabilities.

`TaggerEnsemble` has what `TaggingTask.evaluate` and `SlotFiller` use of a `Tagger` (`features`
to encode sentences, `crf`, `num_tags`, `num_intents`, forward(batch) → (tag scores, intent
scores)), so an ensemble is scored and used exactly as a single model is. It is not trained.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from rnnlab.data.words import WordBatch
from rnnlab.errors import ConfigError
from rnnlab.tagging.crf import CRF


def _vocab_tokens(model, name: str):
    vocab = getattr(model.features, name, None)
    return None if vocab is None else vocab.tokens


class TaggerEnsemble(nn.Module):
    """M trained `Tagger`s with the same vocabularies and output layer kind (all CRF or none)."""

    def __init__(self, members: Sequence[nn.Module]):
        super().__init__()
        members = list(members)
        if not members:
            raise ConfigError("an ensemble needs at least one tagger")
        first = members[0]
        for m in members[1:]:
            if (m.num_tags, m.num_intents) != (first.num_tags, first.num_intents):
                raise ConfigError(f"ensemble members disagree on tags / intents: {m.num_tags} / {m.num_intents} "
                                  f"vs {first.num_tags} / {first.num_intents}")
            if (m.crf is None) != (first.crf is None):
                raise ConfigError("an ensemble cannot mix CRF and per-word softmax taggers (their scores differ in kind)")
            for name in ("word_vocab", "trigram_vocab"):
                if _vocab_tokens(m, name) != _vocab_tokens(first, name):
                    raise ConfigError(f"ensemble members have different {name.replace('_', ' ')}ularies: they must "
                                      "read the same encoded sentences (train them on the same data)")
            if m.crf is not None and not (torch.equal(m.crf.follows, first.crf.follows)
                                          and torch.equal(m.crf.start_ok, first.crf.start_ok)):
                raise ConfigError("ensemble members' CRFs have different transition constraints")
        self.members = nn.ModuleList(members)
        self.features = first.features  # encodes the sentences for every member
        self.num_tags, self.num_intents = first.num_tags, first.num_intents
        self.crf = None
        if first.crf is not None:  # the mean of the members' transition, start and end scores
            crf = CRF(first.num_tags, constraints=(first.crf.start_ok, first.crf.follows))
            with torch.no_grad():
                for name in ("transitions", "start", "end"):
                    getattr(crf, name).copy_(torch.stack([getattr(m.crf, name) for m in members]).mean(0))
            self.crf = crf.requires_grad_(False)

    def forward(self, batch: WordBatch, tags: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """Averaged tag scores (T, B, num_tags) and intent log-probabilities (B, num_intents) or None."""
        outputs = [m(batch) for m in self.members]  # each runs as at inference (a feedback model runs free)
        M = len(outputs)
        tag_scores = torch.stack([o[0] for o in outputs])  # (M, T, B, K)
        if self.crf is not None:
            tags_out = tag_scores.mean(0)  # E = (1/M) Σ_m E_m
        else:  # log (1/M) Σ_m p_m = logsumexp_m log p_m − log M
            tags_out = torch.logsumexp(torch.log_softmax(tag_scores, -1), 0) - math.log(M)
        intents = None
        if outputs[0][1] is not None:
            intents = torch.logsumexp(torch.log_softmax(torch.stack([o[1] for o in outputs]), -1), 0) - math.log(M)
        return tags_out, intents

    def extra_repr(self) -> str:
        return f"members={len(self.members)}" + (", crf" if self.crf is not None else "")
