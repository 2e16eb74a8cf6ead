"""Record a sequence tagger for the explorer: the activations beside the predicted and true tags.

    recs = record_tagger(model, encoder, task.tag_vocab, examples, intent_vocab=task.intent_vocab)
    recs[0].labels        # the predicted tag of each word (what `TaggingTask.predict` returns)
    recs[0].targets       # the gold tags (None for bare word lists)
    recs[0].predictions   # per word the top-k tags with probabilities, best first
    recs[0].values["encoder.layers.0/h"]   # (T, units), like `record_language_model`

One `Recording` per example, each run alone (batch of one, fresh state), exactly as
`TaggingTask.predict` runs a sentence — so `labels` equal its tags. How each field is filled:

- tokens: the words. An example is a `TaggedExample`, a list of words, or a string (split on
  whitespace, as `predict` does).
- values: "{layer}/{kind}" from `Recorder` over every `Recurrent` in the tagger (both halves of a
  `Bidirectional` appear as "encoder.layers.K.forward_layer" / "encoder.layers.K.backward_layer"). Kinds whose
  width is 0 are left out (the `cell=None` tagger's FeedForwardCell carries an empty state, so it
  has nothing to show).
- labels: argmax of the tag logits of the model's own inference pass, `model(words)` in eval mode —
  the pass `TaggingTask.predict` decodes; a Jordan-feedback tagger therefore runs free. With BIO
  decoding, the best valid BIO sequence; a tagger with a CRF head: the CRF's Viterbi path (the
  decoded path, which can differ from the per-word top-1 of `predictions`).
- predictions: top-k tags with their softmax probabilities (sum ≤ 1), best first.
- targets: the example's gold tags, or None when it has none. Gold tags the vocabulary lacks are
  kept as they are (they show as misses).

**Jordan-feedback taggers.** Running free is one `Recurrent` over a `TagFeedbackCell` made for
that call (rnnlab/tagging/feedback.py); it steps the encoder layers' cells, so the encoder's own
`Recurrent` layers, which `Recorder` hooks, do not run. The values are therefore recorded on a second pass
that feeds the free run's own feedback through the layers in one go: the one-hot of its
predictions through `model(words, predicted)` (teacher forcing on its own predictions, which the
model guarantees equal to the free run), or, for `jordan_feedback="softmax"`, its softmax shifted
by one step through the encoder. The second pass's logits must match the free run's, else
RuntimeError: the recording is of the computation that produced the labels.

**Intents.** `Recording` has no field for a sentence label, so a tagger with an intent head
gets a `TaggerRecording` (a `Recording` subclass; `Recording` itself is unchanged) with
`intent` (the predicted intent), `intent_target` (the example's, else None) and
`intent_predictions` (top-k (intent, probability)). Its `to_json` adds one key,
"intent": {"predicted", "target", "predictions": [[intent, p], ...]}, or None without an intent
head. Intent names need `intent_vocab` (e.g. `task.intent_vocab`); without it these stay None.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from rnnlab.data.tagged import TaggedExample
from rnnlab.errors import ConfigError, DataError
from rnnlab.explore.record import MAX_TOKENS, Recorder, Recording
from rnnlab.layers.sequence import length_mask
from rnnlab.tagging.bio import bio_constraints, bio_viterbi
from rnnlab.tagging.model import IGNORE
from rnnlab.train.inference import eval_mode

_ATOL, _RTOL = 1e-4, 1e-3  # second pass vs. free run: the fused kernels round differently, not more


@dataclass
class TaggerRecording(Recording):
    """A `Recording` of a tagger plus its sentence-level intent (None without an intent head)."""

    intent: str | None = None
    intent_target: str | None = None
    intent_predictions: list[tuple[str, float]] | None = None

    def to_json(self, *, keys: Sequence[str] | None = None) -> dict:
        out = super().to_json(keys=keys)
        intent = None
        if self.intent is not None or self.intent_predictions is not None:
            preds = None if self.intent_predictions is None else [
                [name, round(float(p), 4)] for name, p in self.intent_predictions]
            intent = {"predicted": self.intent, "target": self.intent_target, "predictions": preds}
        out["intent"] = intent
        return out


def record_tagger(model, encoder, tag_vocab, examples: Sequence[TaggedExample | Sequence[str] | str],
                  top_k: int = 3, *, intent_vocab=None, bio_decoding: bool = False) -> list[Recording]:
    """One `TaggerRecording` per example (see the module docstring). `bio_decoding`: labels are the
    best valid BIO sequence, as `SlotFiller(..., bio_decoding=True)` predicts them. A tagger with a
    CRF head (`model.crf`) is labelled with the CRF's decoded path whatever `bio_decoding` says.

    `model`: a `Tagger`; `encoder`: what the task encodes with (`WordEncoder` or the model's
    `WordFeatures`); `tag_vocab` / `intent_vocab`: the task's vocabularies.
    """
    if top_k < 1:
        raise ConfigError(f"top_k must be >= 1, got {top_k}")
    if len(tag_vocab) != model.num_tags:
        raise ConfigError(f"the tagger predicts {model.num_tags} tags but the tag vocabulary has {len(tag_vocab)}")
    if intent_vocab is not None and model.intent_out is not None and len(intent_vocab) != model.num_intents:
        raise ConfigError(f"the tagger predicts {model.num_intents} intents but the intent vocabulary has "
                          f"{len(intent_vocab)}")
    parsed = [_parse(ex, k) for k, ex in enumerate(examples)]  # every error before any work
    bio = bio_constraints(tag_vocab.tokens) if bio_decoding else None
    with eval_mode(model):
        return [_record_one(model, encoder, tag_vocab, intent_vocab, words, gold, intent, top_k, bio)
                for words, gold, intent in parsed]


def _parse(ex, k: int) -> tuple[list[str], list[str] | None, str | None]:
    if isinstance(ex, TaggedExample):
        words, gold, intent = list(ex.words), list(ex.tags), ex.intent
    else:
        words, gold, intent = (ex.split() if isinstance(ex, str) else list(ex)), None, None
    if not words:
        raise DataError(f"record_tagger: example {k} is empty")
    if not all(isinstance(w, str) for w in words):
        raise DataError(f"record_tagger: example {k} must be a TaggedExample, a list of words or a string")
    if len(words) > MAX_TOKENS:
        raise DataError(f"a recording holds at most MAX_TOKENS = {MAX_TOKENS} tokens, example {k} has "
                        f"{len(words)}; record a shorter piece")
    return words, gold, intent


@torch.no_grad()
def _record_one(model, encoder, tag_vocab, intent_vocab, words, gold, gold_intent, top_k, bio) -> TaggerRecording:
    device = next(model.parameters()).device
    batch = encoder.encode([words]).to(device)
    T = len(words)
    if not model.jordan_feedback:
        with Recorder(model) as rec:
            logits, intent_logits = model(batch)
    else:
        logits, intent_logits = model(batch)  # the free run: what predict decodes
        with Recorder(model) as rec:
            again = _feed_back(model, batch, logits)
        if again.shape != logits.shape or not torch.allclose(again, logits, atol=_ATOL, rtol=_RTOL):
            raise RuntimeError("record_tagger: feeding the free run's feedback back in one pass did not reproduce "
                               "its tag logits; the recording would not be of the run that made the labels")
    values = {f"{layer}/{kind}": v[:T, 0].numpy()
              for layer, kinds in rec.values.items() for kind, v in kinds.items() if v.shape[-1] > 0}

    scores = logits[:T, 0].float()
    if getattr(model, "crf", None) is not None:  # the CRF's Viterbi path, as SlotFiller decodes it
        labels = tag_vocab.decode(model.crf.decode(logits[:T, :1], torch.tensor([T], device=logits.device))[:, 0])
    elif bio is None:
        labels = tag_vocab.decode(scores.argmax(-1))
    else:
        best = bio_viterbi(torch.log_softmax(logits[:T, :1], -1), torch.tensor([T], device=logits.device), *bio)
        labels = tag_vocab.decode(best[:, 0])
    predictions = _top(torch.softmax(scores, -1), tag_vocab, top_k)
    intent = intent_top = None
    if intent_logits is not None and intent_vocab is not None:
        probs = torch.softmax(intent_logits[0].float(), -1).unsqueeze(0)
        intent = intent_vocab.decode(intent_logits[0].argmax(-1, keepdim=True))[0]
        intent_top = _top(probs, intent_vocab, top_k)[0]
    return TaggerRecording(words, values, predictions, gold, labels, intent=intent,
                           intent_target=gold_intent if intent_logits is not None else None,
                           intent_predictions=intent_top)


def _top(probs: Tensor, vocab, k: int) -> list[list[tuple[str, float]]]:
    """(N, V) probabilities → per row the k best (name, p), best first."""
    p, idx = probs.cpu().topk(min(k, probs.shape[-1]), dim=-1)
    return [[(vocab[j], float(q)) for q, j in zip(ps, js)] for ps, js in zip(p.tolist(), idx.tolist())]


def _feed_back(model, batch, free_logits: Tensor) -> Tensor:
    """The tag logits of one pass through the stack fed the free run's own feedback."""
    T, B = free_logits.shape[:2]
    if model.jordan_feedback is True:  # greedy one-hot: teacher forcing on the predicted tags
        predicted = free_logits.argmax(-1)
        predicted[~length_mask(batch.lengths.to(predicted.device), T)] = IGNORE
        return model(batch, predicted)[0]
    # softmax feedback: step t reads softmax(logits_{t-1}) (zeros at t = 0), as the free run does
    x = model.features(batch)
    mask = length_mask(batch.lengths.to(x.device), T)
    fed = torch.softmax(free_logits, dim=-1).to(x.dtype) * mask.unsqueeze(-1)
    fed = torch.cat([torch.zeros_like(fed[:1]), fed[:-1]])
    h = model._encode(torch.cat([x, fed], dim=-1), batch.lengths.to(x.device))
    return model.tag_out(h)
