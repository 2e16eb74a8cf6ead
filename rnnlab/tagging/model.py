"""A sequence tagger with an optional joint intent classifier:

    word features → recurrent encoder → per-step tag head → tag logits
                                      ↘ pooling → intent head → intent logits

`Tagger.build(features, num_tags, cell="lstm", ...)` makes the encoder from a cell name;
`cell=None` gives the same model without recurrence (each word tagged from its own features by a
tanh layer, `FeedForwardCell`), the baseline that shows what context adds. Dropout (training only)
acts on the word features, between layers (the encoder's) and before both heads. Padded steps
(t ≥ lengths[b]) neither change the states nor get gradient: the recurrent layers skip them and
the task's loss ignores them.

The intent is read from the encoder's top-layer outputs by a pooling (rnnlab/layers/pooling.py):
"last" (each direction's final state), "mean" or "attention".

**Jordan-style output feedback** (`jordan_feedback`): the first layer also reads the previous
step's tag, y_{t-1} (zeros at t = 0). Given the gold tags (training), they are fed as one-hot
vectors — teacher forcing — and the whole sequence runs in one pass of the encoder. Without them
(inference) the model runs free: `Recurrent(TagFeedbackCell(...))` (rnnlab/tagging/feedback.py)
steps every layer and the tag head, feeding back the one-hot of its own greedy prediction
(`jordan_feedback=True`) or its softmax (`jordan_feedback="softmax"`, differentiable). The two
paths compute the same function: free running equals teacher forcing on the tags it predicted
(tested). Feedback needs a causal encoder, so it is refused with a bidirectional one (the
backward direction at t would need predictions from after t).
"""
from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.cells.feedforward import FeedForwardCell
from rnnlab.data.words import WordBatch
from rnnlab.errors import ConfigError, DataError
from rnnlab.layers.described import Described, described
from rnnlab.layers.encoder import build_encoder, cell_label
from rnnlab.layers.pooling import POOLS, Pooling, make_pooling
from rnnlab.layers.recurrent import Recurrent
from rnnlab.layers.sequence import check_lengths, length_mask
from rnnlab.layers.word_features import WordFeatures
from rnnlab.tagging.crf import CRF
from rnnlab.tagging.feedback import TagFeedbackCell
from rnnlab.tagging.inputs import inputs_from_config

IGNORE = -100  # target id of padded steps and of gold labels the model cannot know (F.cross_entropy's default)
FEEDBACK = {True: "greedy", "softmax": "softmax"}  # jordan_feedback → TagFeedbackCell mode
_NO_CRF_WITH_FEEDBACK = ("a CRF head cannot be combined with jordan_feedback: the free run feeds back each step's "
                         "greedy tag, not the CRF's decoded path; use one or the other")


class Tagger(Described, nn.Module):
    """A `WordBatch` (T, B words, lengths (B,)) and optional gold tags (T, B) → tag logits
    (T, B, num_tags) and intent logits (B, num_intents) or None.

    Modules: `features` (`WordFeatures`, or the stack of rnnlab/tagging/inputs.py with character
    encoders and context windows: (T, B) words → (T, B, D)), `encoder` ((T, B, D [+ num_tags
    with feedback]) → (T, B, W), e.g. `build_encoder`; recordings name its layers
    "encoder.layers.K"), `tag_out` (nn.Linear W → num_tags), `pooling` ((T, B, W), lengths →
    (B, W)), `intent_out` (nn.Linear W → num_intents, or None) and `crf` (`CRF` over the tag
    logits, or None: decode each word's argmax).
    """

    renamed_keys = {"layers.": "encoder.layers."}  # rnnlab 0.1 kept the encoder's layers on the model itself

    def __init__(self, features: WordFeatures, encoder: nn.Module, tag_head: nn.Linear, *,
                 intent_head: nn.Linear | None = None, pooling: Pooling | None = None, dropout: float = 0.0,
                 jordan_feedback: bool | Literal["softmax"] = False, crf: CRF | None = None):
        """`pooling` None: "last". With `jordan_feedback` the encoder reads the features and the
        previous tag (D + num_tags inputs) and must be a `Stacked` of left-to-right `Recurrent` layers."""
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
        if jordan_feedback not in (False, True, "softmax"):
            raise ConfigError(f"jordan_feedback must be False, True (greedy one-hot) or 'softmax', got {jordan_feedback!r}")
        num_tags = tag_head.out_features
        width = features.output_size + (num_tags if jordan_feedback else 0)
        if encoder.input_size != width:
            raise ConfigError(f"the encoder reads {encoder.input_size} features but gets {width} (the word features"
                              + (f" and {num_tags} fed-back tags)" if jordan_feedback else ")"))
        if jordan_feedback and not all(isinstance(layer, Recurrent) and not layer.reverse
                                       for layer in getattr(encoder, "layers", [None])):
            raise ConfigError("jordan_feedback needs a left-to-right encoder: the backward direction at step t "
                              "would need the tags predicted after t; use bidirectional=False")
        for head in (tag_head, intent_head):
            if head is not None and head.in_features != encoder.output_size:
                raise ConfigError(f"a head reads {head.in_features} features but the encoder gives {encoder.output_size}")
        self.features, self.encoder, self.tag_out, self.intent_out = features, encoder, tag_head, intent_head
        self.pooling = make_pooling("last", encoder) if pooling is None else pooling
        self.num_tags, self.num_intents = num_tags, 0 if intent_head is None else intent_head.out_features
        self.dropout, self.jordan_feedback = dropout, jordan_feedback
        if crf is not None and crf.num_tags != num_tags:
            raise ConfigError(f"the CRF has {crf.num_tags} tags but the tag head gives {num_tags}")
        if crf is not None and jordan_feedback:
            raise ConfigError(_NO_CRF_WITH_FEEDBACK)
        self.crf = crf
        self.register_load_state_dict_pre_hook(self._upgrade_on_load)

    @classmethod
    def build(cls, word_features: WordFeatures, num_tags: int, *, cell: str | None = "lstm", hidden_size: int = 128,
              num_layers: int = 1, bidirectional: bool = False, dropout: float = 0.0,
              jordan_feedback: bool | Literal["softmax"] = False, num_intents: int = 0,
              intent_from: Literal["last", "mean", "attention"] = "last", crf: bool = False) -> "Tagger":
        """The model from a cell name (or None for no recurrence) and sizes. `num_intents` 0: no
        intent head. `intent_from`: the pooling ("attention" is as wide as the encoder's output).
        `crf`: a CRF head (unconstrained; `model.crf.constrain(*bio_constraints(tags))` adds BIO rules)."""
        if num_tags < 1 or hidden_size < 1 or num_layers < 1 or num_intents < 0:
            raise ConfigError(f"num_tags, hidden_size and num_layers must be >= 1 and num_intents >= 0, got "
                              f"{num_tags}, {hidden_size}, {num_layers}, {num_intents}")
        if jordan_feedback and bidirectional:
            raise ConfigError("jordan_feedback needs a left-to-right encoder: the backward direction at step t "
                              "would need the tags predicted after t; use bidirectional=False")
        if crf not in (False, True):
            raise ConfigError(f"crf must be True or False, got {crf!r}")
        if crf and jordan_feedback:
            raise ConfigError(_NO_CRF_WITH_FEEDBACK)
        if intent_from not in POOLS:
            raise ConfigError(f"intent_from must be one of {', '.join(POOLS)}, got {intent_from!r}")
        if jordan_feedback not in (False, True, "softmax"):
            raise ConfigError(f"jordan_feedback must be False, True (greedy one-hot) or 'softmax', got {jordan_feedback!r}")
        width = word_features.output_size + (num_tags if jordan_feedback else 0)
        encoder = build_encoder(FeedForwardCell if cell is None else cell, width, hidden_size, num_layers,
                                bidirectional=bidirectional, dropout=dropout)
        tag_head = nn.Linear(encoder.output_size, num_tags)
        intent_head = nn.Linear(encoder.output_size, num_intents) if num_intents else None
        model = cls(word_features, encoder, tag_head, intent_head=intent_head,
                    pooling=make_pooling(intent_from, encoder), dropout=dropout, jordan_feedback=jordan_feedback,
                    crf=CRF(num_tags) if crf else None)
        # "crf" only when set: configs without it (every run before it existed) mean no CRF
        return described(model, dict(num_tags=num_tags, cell=cell, hidden_size=hidden_size, num_layers=num_layers,
                                     bidirectional=bidirectional, dropout=dropout, jordan_feedback=jordan_feedback,
                                     num_intents=num_intents, intent_from=intent_from, **({"crf": True} if crf else {})))

    def config(self) -> dict:
        """JSON-able architecture: the word features' config under "features", the build arguments
        after it. The vocabularies are not in it; `from_config` takes them."""
        return {"features": self.features.config(), **super().config()}

    @classmethod
    def from_config(cls, config: dict, word_vocab, trigram_vocab=None, char_vocab=None) -> "Tagger":
        """`char_vocab`: for a model with a character encoder (rnnlab/tagging/inputs.py)."""
        config = dict(config)
        if not isinstance(config.get("features"), dict):
            raise ConfigError("model config does not describe a Tagger (no 'features' section)")
        features = inputs_from_config(config.pop("features"), word_vocab, trigram_vocab, char_vocab)
        if "num_tags" not in config:
            raise ConfigError("model config does not describe a Tagger ('num_tags' is missing)")
        return super().from_config(config, features)

    @property
    def output_size(self) -> int:
        """Width of the encoder's top-layer output (what both heads read)."""
        return self.tag_out.in_features

    def forward(self, batch: WordBatch, tags: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """Tag logits (T, B, num_tags) and intent logits (B, num_intents), or None without an intent head.

        `tags` (T, B): gold tag ids, used only for teacher forcing with `jordan_feedback`
        (IGNORE / padded entries feed zeros); without them a feedback model runs free.
        """
        x = F.dropout(self.features(batch), self.dropout, self.training)  # (T, B, D)
        T, B = x.shape[:2]
        lengths = check_lengths(batch.lengths, T, B, x.device, "Tagger")
        mask = length_mask(lengths, T)  # (T, B)
        if not self.jordan_feedback:
            h = self._encode(x, lengths)
            logits = self.tag_out(F.dropout(h, self.dropout, self.training))
        elif tags is not None:
            h = self._encode(torch.cat([x, self._previous_tags(tags, mask, x.dtype)], dim=-1), lengths)
            logits = self.tag_out(F.dropout(h, self.dropout, self.training))
        else:
            logits, h = self._free_run(x, lengths, mask)
        intents = None
        if self.intent_out is not None:
            intents = self.intent_out(F.dropout(self.pooling(h, lengths), self.dropout, self.training))
        return logits, intents

    def _encode(self, x: Tensor, lengths: Tensor) -> Tensor:
        """(T, B, encoder inputs) → the encoder's outputs (T, B, output_size), zeros at padded steps."""
        return self.encoder(x, None, lengths)[0]

    def _previous_tags(self, tags: Tensor, mask: Tensor, dtype) -> Tensor:
        """(T, B, num_tags): the one-hot of tags[t-1] at step t, zeros at t = 0 and for unknown tags."""
        if tags.shape != mask.shape:
            raise DataError(f"Tagger: tags must be (T, B) = {tuple(mask.shape)}, got {tuple(tags.shape)}")
        known = (tags >= 0) & mask
        if bool(known.any()) and int(tags[known].max()) >= self.num_tags:
            raise DataError(f"Tagger: tag id out of range [0, {self.num_tags})")
        onehot = torch.where(known.unsqueeze(-1), F.one_hot(tags.clamp(min=0), self.num_tags).to(dtype), 0.0)
        return torch.cat([torch.zeros_like(onehot[:1]), onehot[:-1]])

    def _free_run(self, x: Tensor, lengths: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Tag logits (T, B, num_tags) and top outputs (T, B, W) of the run that feeds back its own
        predictions, unrolled by `Recurrent` (see rnnlab/tagging/feedback.py)."""
        cell = TagFeedbackCell(self.encoder, self.tag_out, FEEDBACK[self.jordan_feedback], self.dropout)
        out, _ = Recurrent(cell.train(self.training))(x, None, lengths)  # zeros at padded steps
        h, logits = out.split([cell.hidden_size, self.num_tags], dim=-1)
        # a padded step's logits are the head applied to its zero output, as in the one-pass paths
        return torch.where(mask.unsqueeze(-1), logits, self.tag_out.bias), h

    def extra_repr(self) -> str:
        return (f"cell={cell_label(self.encoder)}, dropout={self.dropout}, "
                f"jordan_feedback={self.jordan_feedback!r}" + (", crf" if self.crf is not None else ""))
