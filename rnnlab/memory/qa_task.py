"""Question answering over generated stories (rnnlab.datasets.babi) as a trainer task, for a
`MemN2N`. Examples are batched as (story (B, S, W), question (B, Q), answer (B,)) word ids, 0 being
padding; the loss is the cross-entropy of the answer word. `evaluate` reports the accuracy over all
questions and per bAbI-style task (`accuracy/<task>`), the numbers of the paper's table.

Linear start: for the first `linear_epochs` epochs the model's attention has no softmax (its
`linear` mode is set from the epoch in every update, so a resumed run is in the right mode).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from rnnlab.data.vocab import Vocabulary
from rnnlab.datasets.babi import QAExample
from rnnlab.errors import ConfigError, DataError
from rnnlab.train.inference import eval_mode, model_device
from rnnlab.train.shuffle import EpochShuffle
from rnnlab.train.trainer import StepOutput

PAD, UNK = "<pad>", "<unk>"


def build_vocab(examples: Sequence[QAExample]) -> Vocabulary:
    """Every story, question and answer word of (training) examples; <pad> is id 0."""
    words = (w for ex in examples for part in (*ex.story, ex.question, (ex.answer,)) for w in part)
    return Vocabulary.build(words, specials=(PAD, UNK), unk=UNK)


def encode(examples: Sequence[QAExample], vocab: Vocabulary, device=None) -> tuple[Tensor, Tensor, Tensor]:
    """(story (B, S, W), question (B, Q), answer (B,)) ids, padded with 0 (= <pad>)."""
    S = max(len(ex.story) for ex in examples)
    W = max((len(s) for ex in examples for s in ex.story), default=1)
    Q = max(len(ex.question) for ex in examples)
    story = torch.zeros(len(examples), max(S, 1), max(W, 1), dtype=torch.long)
    question = torch.zeros(len(examples), Q, dtype=torch.long)
    for b, ex in enumerate(examples):
        for i, sentence in enumerate(ex.story):
            story[b, i, :len(sentence)] = vocab.encode(sentence)
        question[b, :len(ex.question)] = vocab.encode(ex.question)
    answer = torch.tensor([vocab.index(ex.answer) if ex.answer in vocab else vocab.unk_index for ex in examples])
    return story.to(device), question.to(device), answer.to(device)


class QATask:
    """Trainer task for a MemN2N on {"train", "valid", "test"} lists of `QAExample`s."""

    metric = "error"

    def __init__(self, splits: dict[str, list[QAExample]], vocab: Vocabulary, *, batch_size: int = 32,
                 eval_batch_size: int = 256, seed: int = 0, linear_epochs: int = 0):
        if not splits.get("train"):
            raise DataError("QA task: no training examples")
        if batch_size < 1 or eval_batch_size < 1 or linear_epochs < 0:
            raise ConfigError("batch sizes must be >= 1 and linear_epochs >= 0")
        self.splits, self.vocab, self.batch_size, self.eval_batch_size = splits, vocab, batch_size, eval_batch_size
        self.linear_epochs = linear_epochs
        self.shuffle = EpochShuffle(len(splits["train"]), seed)

    def num_batches(self) -> int:
        return -(-len(self.splits["train"]) // self.batch_size)

    def train_step(self, model, epoch: int, index: int, carry) -> StepOutput:
        model.set_linear(epoch <= self.linear_epochs)
        rows = self.shuffle.batch(epoch, index, self.batch_size).tolist()
        story, question, answer = encode([self.splits["train"][i] for i in rows], self.vocab, model_device(model))
        return StepOutput(F.cross_entropy(model(story, question), answer), len(rows))

    @torch.no_grad()
    def predictions(self, model, examples: Sequence[QAExample], attention: bool = False):
        """Predicted answer ids (N,) and, with `attention`, each example's attention (hops, its sentences)."""
        preds, attn = [], []
        with eval_mode(model):
            for a in range(0, len(examples), self.eval_batch_size):
                chunk = examples[a:a + self.eval_batch_size]
                story, question, _ = encode(chunk, self.vocab, model_device(model))
                logits, p = model(story, question, attention=True)
                preds.append(logits.argmax(-1).cpu())
                attn += [p[b, :, :len(ex.story)].cpu() for b, ex in enumerate(chunk)]
        return (torch.cat(preds), attn) if attention else torch.cat(preds)

    @torch.no_grad()
    def evaluate(self, model, split: str) -> dict[str, float]:
        """{"loss", "accuracy", "error", "accuracy/<task>" for each task in the split}."""
        if split not in self.splits or not self.splits[split]:
            raise DataError(f"no {split!r} split to evaluate on (have: {', '.join(self.splits)})")
        examples = self.splits[split]
        loss = 0.0
        with eval_mode(model):
            for a in range(0, len(examples), self.eval_batch_size):
                story, question, answer = encode(examples[a:a + self.eval_batch_size], self.vocab, model_device(model))
                loss += float(F.cross_entropy(model(story, question), answer, reduction="sum"))
        preds = self.predictions(model, examples)
        gold = torch.tensor([self.vocab.index(ex.answer) if ex.answer in self.vocab else -1 for ex in examples])
        right = (preds == gold).numpy()
        tasks = np.array([ex.task for ex in examples])
        out = {"loss": loss / len(examples), "accuracy": float(right.mean()), "error": float(1 - right.mean())}
        for task in sorted(set(tasks)):
            out[f"accuracy/{task}"] = float(right[tasks == task].mean())
        return out
