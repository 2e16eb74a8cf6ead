"""Slot filling (and joint intent classification) as a trainer task.

Each epoch visits the training sentences in an order drawn from (seed, epoch) alone, so update
`index` of `epoch` is the same batch after a resume. A batch is padded to its longest sentence
and carries the lengths; the loss is the mean tag cross-entropy over real tokens (with a CRF head:
the sentences' CRF negative log-likelihood per token, `tag_loss`), plus the mean intent cross-entropy when the data has intents and the model an intent head.

Tag and intent vocabularies are built on the training split ("O" first). Gold labels that never
occur in training — ATIS's test set has a few tags and multi-intent labels of this kind — cannot
be predicted: they are left out of the loss, but scored as they are, so they count as errors in
slot F1 and intent accuracy, exactly as conlleval would count them.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnlab.data.tagged import TaggedExample
from rnnlab.data.vocab import Vocabulary
from rnnlab.data.words import WordBatch
from rnnlab.errors import ConfigError, DataError
from rnnlab.tagging.metrics import intent_accuracy, slot_scores, token_accuracy
from rnnlab.tagging.model import IGNORE
from rnnlab.tagging.predict import SlotFiller, TagLabels
from rnnlab.train.inference import eval_mode, model_device
from rnnlab.train.shuffle import EpochShuffle
from rnnlab.train.trainer import StepOutput


class TaggingTask(TagLabels):
    """Slot filling (and intent classification) for the `Trainer`: batches of `TaggedExample`s
    → a `Tagger`'s loss; `evaluate` gives slot F1 (conlleval) and accuracies."""

    metric = "error"  # 1 − slot F1

    def __init__(self, splits: dict[str, list[TaggedExample]], encoder, *, batch_size: int = 32, seed: int = 0,
                 eval_batch_size: int = 64, tag_vocab: Vocabulary | None = None,
                 intent_vocab: Vocabulary | None = None, bio_decoding: bool = False):
        """`encoder`: anything with `encode(sentences) -> WordBatch` — a `WordEncoder`, or the model's
        `WordFeatures`. Vocabularies are built on splits["train"] unless given."""
        if batch_size < 1 or eval_batch_size < 1:
            raise ConfigError(f"batch sizes must be >= 1, got {batch_size} and {eval_batch_size}")
        train = splits.get("train")
        if not train:
            raise DataError(f"tagging task: no training sentences (splits: {', '.join(splits) or 'none'})")
        for name, examples in splits.items():
            has = {ex.intent is not None for ex in examples}
            if len(has) > 1:
                raise DataError(f"tagging task: split {name!r} has intents for some sentences but not for others")
        self.splits, self.encoder, self.bio_decoding = splits, encoder, bio_decoding
        self.batch_size, self.eval_batch_size, self.seed = batch_size, eval_batch_size, seed
        self.tag_vocab = tag_vocab or Vocabulary.build((t for ex in train for t in ex.tags), unk=None, specials=["O"])
        unseen = sorted({t for ex in train for t in ex.tags if t not in self.tag_vocab})
        if unseen:
            raise DataError(f"tagging task: training tags missing from the tag vocabulary: {unseen[:5]}")
        train_has_intents = train[0].intent is not None
        if intent_vocab is None and train_has_intents:
            intent_vocab = Vocabulary.build((ex.intent for ex in train), unk=None)
        if intent_vocab is not None and not train_has_intents:
            raise DataError("tagging task: an intent vocabulary was given but the training sentences have no intents")
        self.intent_vocab = intent_vocab
        self.shuffle = EpochShuffle(len(self.splits["train"]), seed)

    # --- training ------------------------------------------------------------------------------

    def num_batches(self) -> int:
        return self.shuffle.num_batches(self.batch_size)

    def shard(self, rank: int, world_size: int) -> None:
        """Distributed training: this process reads its part of each global batch."""
        self.shuffle.shard(rank, world_size)

    def batch_examples(self, epoch: int, index: int) -> list[TaggedExample]:
        """The sentences of update `index` of `epoch` (a shuffle that depends on seed and epoch only)."""
        if not 0 <= index < self.num_batches():
            raise IndexError(f"batch index {index} out of range [0, {self.num_batches()})")
        return [self.splits["train"][i] for i in self.shuffle.batch(epoch, index, self.batch_size)]

    def make_batch(self, examples: Sequence[TaggedExample], device=None) -> tuple[WordBatch, Tensor, Tensor | None]:
        """Words, tag ids (T, B) with IGNORE at padded steps and unknown tags, intent ids (B,) or None."""
        words = self.encoder.encode([ex.words for ex in examples])
        T = int(words.word_ids.shape[0])
        tags = torch.full((T, len(examples)), IGNORE, dtype=torch.long)
        for b, ex in enumerate(examples):
            tags[:len(ex.tags), b] = torch.tensor(_ids(self.tag_vocab, ex.tags))
        intents = None
        if self.intent_vocab is not None and examples[0].intent is not None:
            intents = torch.tensor(_ids(self.intent_vocab, [ex.intent for ex in examples]))
        if device is not None:
            words, tags = words.to(device), tags.to(device)
            intents = None if intents is None else intents.to(device)
        return words, tags, intents

    def train_step(self, model, epoch: int, index: int, carry) -> StepOutput:
        words, tags, intents = self.make_batch(self.batch_examples(epoch, index), model_device(model))
        tag_logits, intent_logits = model(words, tags)
        self.predictor(model).check_outputs(tag_logits, intent_logits)
        loss = self.tag_loss(model, tag_logits, tags, words.lengths, reduction="mean")
        n_tags = int(self.scored(model, tags, words.lengths).sum())
        terms = [(loss * n_tags, n_tags)]  # the loss is a sum of two means: processes weigh each by its count
        if intent_logits is not None and intents is not None:
            intent_loss = F.cross_entropy(intent_logits, intents, ignore_index=IGNORE)
            n_intents = int((intents != IGNORE).sum())
            loss = loss + intent_loss
            terms.append((intent_loss * n_intents, n_intents))
        return StepOutput(loss, int(words.lengths.sum()), terms=tuple(terms))

    # --- evaluation and prediction ---------------------------------------------------------------

    @torch.no_grad()
    def evaluate(self, model, split: str) -> dict[str, float]:
        """{"loss", "slot_precision", "slot_recall", "slot_f1", "error" (1 − F1), "token_accuracy",
        and "intent_accuracy" when the split has intents and the model an intent head}.

        The model runs as at inference (a feedback model runs free); "loss" is the mean tag
        cross-entropy over tokens with a known gold tag, plus the mean intent cross-entropy."""
        if split not in self.splits:
            raise DataError(f"no {split!r} split to evaluate on (have: {', '.join(self.splits)})")
        examples = self.splits[split]
        if not examples:
            raise DataError(f"split {split!r} has no sentences")
        tag_nll = intent_nll = 0.0
        tag_n = intent_n = 0
        predicted: list[tuple[list[str], str | None]] = [None] * len(examples)  # type: ignore[list-item]
        device = model_device(model)
        predictor = self.predictor(model)
        with eval_mode(model):
            for rows in predictor.batches([len(ex.words) for ex in examples]):
                chunk = [examples[i] for i in rows]
                words, tags, intents = self.make_batch(chunk, device)
                tag_logits, intent_logits = model(words)
                predictor.check_outputs(tag_logits, intent_logits)
                tag_nll += float(self.tag_loss(model, tag_logits, tags, words.lengths, reduction="sum"))
                tag_n += int(self.scored(model, tags, words.lengths).sum())
                if intent_logits is not None and intents is not None:
                    intent_nll += float(F.cross_entropy(intent_logits, intents, ignore_index=IGNORE, reduction="sum"))
                    intent_n += int((intents != IGNORE).sum())
                for i, result in zip(rows, predictor.decode(tag_logits, intent_logits, words.lengths)):
                    predicted[i] = result
        gold_tags = [ex.tags for ex in examples]
        pred_tags = [tags for tags, _ in predicted]
        slots = slot_scores(gold_tags, pred_tags)
        out = {"loss": tag_nll / max(tag_n, 1) + intent_nll / max(intent_n, 1),
               "slot_precision": slots["precision"], "slot_recall": slots["recall"], "slot_f1": slots["f1"],
               "error": 1.0 - slots["f1"], "token_accuracy": token_accuracy(gold_tags, pred_tags)}
        if predicted[0][1] is not None and examples[0].intent is not None:
            out["intent_accuracy"] = intent_accuracy([ex.intent for ex in examples], [i for _, i in predicted])
        return out

    @staticmethod
    def scored(model, tags: Tensor, lengths: Tensor) -> Tensor:
        """(T, B) booleans: the gold tags the loss counts. Per-word cross-entropy: every known tag;
        a CRF scores whole sentences, so only the tokens of sentences whose tags are all known."""
        known = tags != IGNORE
        if getattr(model, "crf", None) is None:
            return known
        live = torch.arange(tags.shape[0], device=tags.device).unsqueeze(1) < lengths.to(tags.device).unsqueeze(0)
        whole = (known | ~live).all(0)  # (B,)
        return live & whole.unsqueeze(0)

    def tag_loss(self, model, tag_logits: Tensor, tags: Tensor, lengths: Tensor, *, reduction: str) -> Tensor:
        """The tag negative log-likelihood, summed ("sum") or per counted token ("mean"): per-word
        cross-entropy, or with a CRF head −log p(tags | x) of each sentence whose tags are all known."""
        crf = getattr(model, "crf", None)
        if crf is None:
            return F.cross_entropy(tag_logits.flatten(0, 1), tags.flatten(), ignore_index=IGNORE, reduction=reduction)
        counted = self.scored(model, tags, lengths)
        whole = counted.any(0)  # sentences with every gold tag known
        if not bool(whole.any()):
            return tag_logits.sum() * 0.0
        lengths = lengths.to(tag_logits.device)
        nll = -crf.log_likelihood(tag_logits[:, whole], tags[:, whole], lengths[whole]).sum()
        return nll / int(counted.sum()) if reduction == "mean" else nll

    def predictor(self, model) -> SlotFiller:
        return SlotFiller(model, self.tag_vocab, self.intent_vocab, encoder=self.encoder,
                          batch_size=self.eval_batch_size, bio_decoding=self.bio_decoding)

    def predict_many(self, model, sentences: Sequence[Sequence[str]]) -> list[tuple[list[str], str | None]]:
        """(tags, intent) for each sentence (intent None without an intent head)."""
        return self.predictor(model).predict_many(sentences)

    def predict(self, model, words: Sequence[str] | str) -> tuple[list[str], str | None]:
        """Tags and intent of one sentence: a list of words, or a string split on whitespace."""
        return self.predictor(model).predict(words)


def _ids(vocab: Vocabulary, labels: Sequence[str]) -> list[int]:
    return [vocab.index(x) if x in vocab else IGNORE for x in labels]
