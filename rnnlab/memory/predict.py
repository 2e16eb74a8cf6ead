"""A trained bit-sequence model on raw input: bit vectors written as text ("0110 1001"), laid out as
its task lays them out, and the model's output bits back as text."""
from __future__ import annotations

import torch

from rnnlab.datasets.ntm_tasks import copy_from, recall_from, repeat_copy_from
from rnnlab.errors import DataError
from rnnlab.train.inference import eval_mode, model_device


def parse_vectors(text: str, bits: int) -> torch.Tensor:
    """'0110 1001' → (L, bits) float tensor; DataError naming what is wrong."""
    words = text.split()
    if not words:
        raise DataError("empty input: give bit vectors separated by spaces, e.g. '0110 1001'")
    for w in words:
        if len(w) != bits or set(w) - {"0", "1"}:
            raise DataError(f"{w!r} is not a vector of {bits} bits (0 or 1)")
    return torch.tensor([[float(c) for c in w] for w in words])


class BitPredictor:
    """Outputs of a `BitSequenceModel` trained on `task` for text inputs:

    copy: 'v1 v2 ...' → the copy; repeat copy: the same, repeated `repeats` times (and whether the
    end marker fired); recall: items separated by '|' and the query after '?' ('0110 1010 | 1111 0000
    | 0011 0011 ? 0110 1010') → the item after the query."""

    def __init__(self, model, task: str, bits: int):
        self.model, self.task, self.bits = model, task, bits

    def layout(self, text: str, repeats: int = 1):
        if self.task == "copy":
            return copy_from(parse_vectors(text, self.bits).unsqueeze(1))
        if self.task == "repeat-copy":
            return repeat_copy_from(parse_vectors(text, self.bits).unsqueeze(1), repeats)
        if "?" not in text:
            raise DataError("recall input: items separated by '|', then '?' and the query item")
        listed, query = text.split("?", 1)
        items = [parse_vectors(part, self.bits) for part in listed.split("|")]
        q = parse_vectors(query, self.bits)
        if len(items) < 2 or len({len(i) for i in items} | {len(q)}) != 1:
            raise DataError("recall input: at least 2 items, all (and the query) of the same number of vectors")
        matches = [k for k, item in enumerate(items[:-1]) if torch.equal(item, q)]
        if not matches:
            raise DataError("recall input: the query must be one of the items before the last")
        return recall_from(torch.stack(items).unsqueeze(2), torch.tensor([matches[0]]))

    @torch.no_grad()
    def predict(self, text: str, repeats: int = 1) -> str:
        batch = self.layout(text, repeats)
        with eval_mode(self.model):
            logits = self.model(batch.inputs.to(model_device(self.model)))[:, 0]
        bits = (logits[batch.mask[:, 0]] > 0).int().tolist()
        if self.task == "repeat-copy":  # the last output channel is the end marker
            vectors = " ".join("".join(map(str, b[:-1])) for b in bits[:-1])
            return vectors + ("  [end]" if bits[-1][-1] else "  [no end marker]")
        return " ".join("".join(map(str, b)) for b in bits)
