"""A sequence tagger with an optional joint intent classifier:

    word features → (bi)directional stack of recurrent layers → per-step softmax over tags
                                                              ↘ pooled → softmax over intents

Any named cell (`rnnlab.cells.registry`) can be the recurrence; `cell=None` gives the same model
without recurrence (each word tagged from its own features by a tanh layer), the baseline that
shows what context adds. Dropout (training only) acts on the word features, between layers and
before both output layers. Padded steps (t ≥ lengths[b]) neither change the states nor get
gradient: the recurrent layers skip them and the task's loss ignores them.

The intent is classified from the encoder's top-layer outputs over each sentence's true length:
`intent_from="last"` takes the output at the last word (bidirectional: the forward half there,
concatenated with the backward half at the first word — each direction's final state), "mean"
averages all steps.

**Jordan-style output feedback** (`jordan_feedback`): the first layer also reads the previous
step's tag, y_{t-1} (zeros at t = 0). Given the gold tags (training), they are fed as one-hot
vectors — teacher forcing — and the whole sequence runs in one pass of the stack. Without them
(inference) the model runs free, one step at a time through every layer: it feeds back the
one-hot of its own greedy prediction (`jordan_feedback=True`) or its softmax
(`jordan_feedback="softmax"`, differentiable). The two paths compute the same function: free
running equals teacher forcing on the tags it predicted (tested). Feedback needs a causal
encoder, so it is refused with `bidirectional=True` (the backward direction at t would need
predictions from after t).
"""
from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.cells.base import RecurrentCell
from rnnlab.cells.feedforward import FeedForwardCell
from rnnlab.cells.registry import make_cell
from rnnlab.data.words import WordBatch
from rnnlab.layers.word_features import WordFeatures
from rnnlab.errors import ConfigError, DataError
from rnnlab.layers.bidirectional import Bidirectional
from rnnlab.layers.recurrent import Recurrent, state_where
from rnnlab.layers.sequence import length_mask

IGNORE = -100  # target id of padded steps and of gold labels the model cannot know (F.cross_entropy's default)


class Tagger(nn.Module):
    def __init__(
        self,
        word_features: WordFeatures,
        num_tags: int,
        *,
        cell: str | None = "lstm",
        hidden_size: int = 128,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        jordan_feedback: bool | Literal["softmax"] = False,
        num_intents: int = 0,
        intent_from: Literal["last", "mean"] = "last",
    ):
        """`cell`: a registry name, or None for no recurrence. `num_intents` 0: no intent head."""
        super().__init__()
        if num_tags < 1 or hidden_size < 1 or num_layers < 1 or num_intents < 0:
            raise ConfigError(f"num_tags, hidden_size and num_layers must be >= 1 and num_intents >= 0, got "
                              f"{num_tags}, {hidden_size}, {num_layers}, {num_intents}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
        if jordan_feedback not in (False, True, "softmax"):
            raise ConfigError(f"jordan_feedback must be False, True (greedy one-hot) or 'softmax', got {jordan_feedback!r}")
        if jordan_feedback and bidirectional:
            raise ConfigError("jordan_feedback needs a left-to-right encoder: the backward direction at step t "
                              "would need the tags predicted after t; use bidirectional=False")
        if intent_from not in ("last", "mean"):
            raise ConfigError(f"intent_from must be 'last' or 'mean', got {intent_from!r}")
        self._config = dict(num_tags=num_tags, cell=cell, hidden_size=hidden_size, num_layers=num_layers,
                            bidirectional=bidirectional, dropout=dropout, jordan_feedback=jordan_feedback,
                            num_intents=num_intents, intent_from=intent_from)
        self.features, self.num_tags, self.num_intents = word_features, num_tags, num_intents
        self.bidirectional, self.dropout = bidirectional, dropout
        self.jordan_feedback, self.intent_from = jordan_feedback, intent_from
        self.cell_name = cell

        def new_cell(d: int) -> RecurrentCell:
            return FeedForwardCell(d, hidden_size) if cell is None else make_cell(cell, d, hidden_size)

        width = word_features.output_size + (num_tags if jordan_feedback else 0)
        layers = []
        for _ in range(num_layers):
            if bidirectional:
                layers.append(Bidirectional(Recurrent(new_cell(width)), Recurrent(new_cell(width), reverse=True)))
            else:
                layers.append(Recurrent(new_cell(width)))
            width = layers[-1].output_size
        self.layers = nn.ModuleList(layers)
        self.tag_out = nn.Linear(width, num_tags)
        self.intent_out = nn.Linear(width, num_intents) if num_intents else None

    @classmethod
    def build(cls, *args, **kwargs) -> "Tagger":
        """The model from names and sizes (a cell name, hidden size, layers, ...): what recipes and
        `from_config` call. The constructor itself takes modules."""
        return cls(*args, **kwargs)

    def config(self) -> dict:
        """JSON-able architecture: the word features' config under "features", the rest as given.
        The vocabularies are not in it; `from_config` takes them."""
        return {"features": self.features.config(), **self._config}

    @classmethod
    def from_config(cls, config: dict, word_vocab, trigram_vocab=None) -> "Tagger":
        config = dict(config)
        if not isinstance(config.get("features"), dict):
            raise ConfigError("model config does not describe a Tagger (no 'features' section)")
        features = WordFeatures.from_config(config.pop("features"), word_vocab, trigram_vocab)
        try:
            num_tags = config.pop("num_tags")
            return cls.build(features, num_tags, **config)
        except (KeyError, TypeError) as e:
            raise ConfigError(f"model config does not describe a Tagger ({e})") from None

    @property
    def output_size(self) -> int:
        """Width of the encoder's top-layer output (what both output layers read)."""
        return self.tag_out.in_features

    def forward(self, batch: WordBatch, tags: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """Tag logits (T, B, num_tags) and intent logits (B, num_intents), or None without an intent head.

        `tags` (T, B): gold tag ids, used only for teacher forcing with `jordan_feedback`
        (IGNORE / padded entries feed zeros); without them a feedback model runs free.
        """
        x = F.dropout(self.features(batch), self.dropout, self.training)  # (T, B, D)
        T, B = x.shape[:2]
        lengths = batch.lengths.to(x.device)
        if lengths.shape != (B,) or int(lengths.min()) < 1 or int(lengths.max()) > T:
            raise DataError(f"Tagger: lengths must be {B} values in [1, {T}], got {lengths.tolist()}")
        mask = length_mask(lengths, T)  # (T, B)
        if not self.jordan_feedback:
            h = self._encode(x, lengths)
            logits = self.tag_out(F.dropout(h, self.dropout, self.training))
        elif tags is not None:
            h = self._encode(torch.cat([x, self._previous_tags(tags, mask, x.dtype)], dim=-1), lengths)
            logits = self.tag_out(F.dropout(h, self.dropout, self.training))
        else:
            logits, h = self._free_run(x, mask)
        return logits, self._intent(h, lengths, mask)

    def _encode(self, x: Tensor, lengths: Tensor) -> Tensor:
        for k, layer in enumerate(self.layers):
            if k:
                x = F.dropout(x, self.dropout, self.training)
            x, _ = layer(x, None, lengths)
        return x  # (T, B, output_size), zeros at padded steps

    def _previous_tags(self, tags: Tensor, mask: Tensor, dtype) -> Tensor:
        """(T, B, num_tags): the one-hot of tags[t-1] at step t, zeros at t = 0 and for unknown tags."""
        if tags.shape != mask.shape:
            raise DataError(f"Tagger: tags must be (T, B) = {tuple(mask.shape)}, got {tuple(tags.shape)}")
        known = (tags >= 0) & mask
        if bool(known.any()) and int(tags[known].max()) >= self.num_tags:
            raise DataError(f"Tagger: tag id out of range [0, {self.num_tags})")
        onehot = F.one_hot(tags.clamp(min=0), self.num_tags).to(dtype) * known.unsqueeze(-1)
        return torch.cat([torch.zeros_like(onehot[:1]), onehot[:-1]])

    def _free_run(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Step every layer in time, feeding back the previous prediction; same result as teacher
        forcing with the tags it predicts."""
        T, B = mask.shape
        states = [layer.init_state(B, x.device, x.dtype) for layer in self.layers]
        feedback = x.new_zeros(B, self.num_tags)
        all_logits, tops = [], []
        for t in range(T):
            m = mask[t].unsqueeze(1)  # (B, 1): padded steps keep the state and output zeros
            h = torch.cat([x[t], feedback], dim=-1)
            for k, layer in enumerate(self.layers):
                if k:
                    h = F.dropout(h, self.dropout, self.training)
                out, new = layer.cell(h, states[k])
                states[k] = state_where(m, new, states[k])
                h = out * m
            logits = self.tag_out(F.dropout(h, self.dropout, self.training))
            if self.jordan_feedback == "softmax":
                feedback = torch.softmax(logits, dim=-1) * m
            else:
                feedback = F.one_hot(logits.argmax(-1), self.num_tags).to(x.dtype) * m
            all_logits.append(logits)
            tops.append(h)
        return torch.stack(all_logits), torch.stack(tops)

    def _intent(self, h: Tensor, lengths: Tensor, mask: Tensor) -> Tensor | None:
        if self.intent_out is None:
            return None
        if self.intent_from == "mean":
            pooled = (h * mask.unsqueeze(-1)).sum(0) / lengths.unsqueeze(1).to(h.dtype)
        else:
            last = h[lengths - 1, torch.arange(h.shape[1], device=h.device)]  # (B, width): output at each last word
            if self.bidirectional:  # forward direction's final output, backward direction's (at step 0)
                half = h.shape[-1] // 2
                last = torch.cat([last[:, :half], h[0, :, half:]], dim=-1)
            pooled = last
        return self.intent_out(F.dropout(pooled, self.dropout, self.training))

    def extra_repr(self) -> str:
        return (f"cell={self.cell_name!r}, bidirectional={self.bidirectional}, dropout={self.dropout}, "
                f"jordan_feedback={self.jordan_feedback!r}, intent_from={self.intent_from!r}")
