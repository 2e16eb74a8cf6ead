"""Encoder–decoder (asynchronous sequence → sequence): Sutskever et al. 2014, Cho et al. 2014,
Bahdanau et al. 2015.

    source x_1..x_S ──Encoder──▶ h_1..h_S (memory), C (context)
    C ──bridge──▶ decoder state s_0
    for t = 1..T:   s_t = cell([E y_{t−1}; c_t?; C?], s_{t−1}),   p(y_t | y_<t, x) = softmax(W_o [s_t; c_t?; C?])

The encoder is any registry cell unrolled by `Recurrent` (stacked, optionally bidirectional),
with source lengths respected. C is the top layer's final hidden vector, [h→_S; h←_1] when
bidirectional. The decoder is a stack of *cells* run one step at a time, because each input
y_{t−1} may be the model's own previous output. Options:

- `bridge`: how C sets s_0. "copy" hands each encoder layer's whole final state (h and, for an
  LSTM, c) to the same decoder layer (Sutskever et al.; needs the same cell, width and depth and
  a unidirectional encoder); "learned" sets each decoder layer's hidden vector to tanh(W_l C + b_l)
  and the rest of its state (an LSTM's c) to zero (Cho et al.; Bahdanau et al. with the backward
  half of C); "none" starts from zeros; "auto" is "copy" where it applies, else "learned".
- `context_input`: C is also part of the decoder's input and output layer at every step
  (Cho et al. 2014), so it cannot fade from the state.
- `attention`: additive attention over h_1..h_S (`AdditiveAttention`): the query is the top
  decoder layer's previous hidden vector s_{t−1}; c_t joins the input and the output layer.

`step(prev_token, state, memory) -> (logits, state, attention_weights)` is one decoding step;
`forward` runs a whole target, feeding the true previous token with probability
`teacher_forcing` (1: teacher forcing, 0: free running, between: scheduled sampling).
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.cells._state import check_state, hidden_of, replace_hidden
from rnnlab.cells.registry import make_cell
from rnnlab.errors import ConfigError, DataError
from rnnlab.layers.bidirectional import Bidirectional
from rnnlab.layers.recurrent import Recurrent
from rnnlab.layers.sequence import check_lengths
from rnnlab.layers.stacked import Stacked
from rnnlab.seq2seq.attention import AdditiveAttention

BRIDGES = ("auto", "copy", "learned", "none")


class Memory(NamedTuple):
    """What the decoder reads from the source, fixed for the whole target."""
    states: Tensor       # (S, B, M) encoder outputs h_j; zero at padded positions
    mask: Tensor         # (S, B) bool, True at real source positions
    context: Tensor      # (B, C) the summary C
    keys: Tensor | None  # (S, B, A) U h_j + b for attention (computed once), None without attention
    finals: tuple        # the encoder's final state, one entry per layer (what bridge="copy" hands on)

    def select(self, index: Tensor) -> "Memory":
        """The memory of batch rows `index` (repeats allowed): how beam search widens one source."""
        return Memory(self.states.index_select(1, index), self.mask.index_select(1, index),
                      self.context.index_select(0, index),
                      None if self.keys is None else self.keys.index_select(1, index),
                      select_state(self.finals, index))


def select_state(state, index: Tensor):
    """Rows `index` of every tensor leaf of a (nested) state; batch is dim 0 of each leaf."""
    if isinstance(state, Tensor):
        return state.index_select(0, index)
    return tuple(select_state(part, index) for part in state)


def pad_batch(seqs: Sequence[Tensor], pad: int) -> tuple[Tensor, Tensor]:
    """1-D id tensors → (T, B) padded with `pad`, and their lengths (B,)."""
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    out = torch.full((max(int(lengths.max()), 1), len(seqs)), pad, dtype=torch.long)
    for b, s in enumerate(seqs):
        out[: len(s), b] = torch.as_tensor(s, dtype=torch.long)
    return out, lengths


def choose_inputs(true: Tensor, predicted: Tensor, p: float) -> Tensor:
    """Per row, the true token with probability p, else the predicted one (Bengio et al. 2015).

    The coins come from torch's global RNG (saved in checkpoints), and only when 0 < p < 1,
    so teacher forcing and free running draw nothing."""
    if p >= 1.0:
        return true
    if p <= 0.0:
        return predicted
    coin = torch.rand(true.shape, device=true.device) < p
    return torch.where(coin, true, predicted)


def _check_tokens(tokens: Tensor, vocab_size: int, what: str, dims: int) -> None:
    if not isinstance(tokens, Tensor) or tokens.dtype not in (torch.int64, torch.int32):
        got = tokens.dtype if isinstance(tokens, Tensor) else type(tokens).__name__
        raise DataError(f"{what}: tokens must be an integer id tensor, got {got}")
    if tokens.dim() != dims or 0 in tokens.shape:
        raise DataError(f"{what}: expected a non-empty {dims}-D tensor of ids, got shape {tuple(tokens.shape)}")
    if int(tokens.min()) < 0 or int(tokens.max()) >= vocab_size:
        raise DataError(f"{what}: token id out of range [0, {vocab_size}): min {int(tokens.min())}, "
                        f"max {int(tokens.max())}")


class Encoder(nn.Module):
    """Source ids (S, B) → embedding → stacked `Recurrent` (or `Bidirectional`, concatenated)
    layers → outputs (S, B, output_size) and the final state per layer."""

    def __init__(self, vocab_size: int, *, cell: str = "lstm", hidden_size: int = 128, num_layers: int = 1,
                 embedding_size: int | None = None, bidirectional: bool = False, dropout: float = 0.0):
        super().__init__()
        embedding_size = hidden_size if embedding_size is None else embedding_size
        if min(vocab_size, hidden_size, num_layers, embedding_size) < 1:
            raise ConfigError(f"Encoder: vocab_size, hidden_size, num_layers and embedding_size must be >= 1, "
                              f"got {vocab_size}, {hidden_size}, {num_layers}, {embedding_size}")
        self.vocab_size, self.hidden_size, self.bidirectional = vocab_size, hidden_size, bidirectional
        self.dropout = dropout
        self.output_size = hidden_size * (2 if bidirectional else 1)
        self.embedding = nn.Embedding(vocab_size, embedding_size)
        layers, width = [], embedding_size
        for _ in range(num_layers):
            if bidirectional:
                layers.append(Bidirectional(Recurrent(make_cell(cell, width, hidden_size)),
                                            Recurrent(make_cell(cell, width, hidden_size), reverse=True)))
            else:
                layers.append(Recurrent(make_cell(cell, width, hidden_size)))
            width = self.output_size
        self.rnn = Stacked(layers, dropout=dropout)

    def forward(self, src: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, tuple]:
        """src (S, B) ids, lengths (B,) in [1, S] (None: all S) → outputs (S, B, output_size), finals."""
        _check_tokens(src, self.vocab_size, "Encoder", 2)
        x = F.dropout(self.embedding(src), self.dropout, self.training)
        return self.rnn(x, None, lengths)

    def context(self, finals: tuple) -> Tensor:
        """C (B, output_size): the top layer's final hidden vector; [h→_S; h←_1] when bidirectional
        (the backward recurrence ends on the first source token)."""
        top = finals[-1]
        if self.bidirectional:
            return torch.cat([hidden_of(top[0]), hidden_of(top[1])], dim=-1)
        return hidden_of(top)


class Decoder(nn.Module):
    """A stack of cells run one step at a time, conditioned on the encoder's `Memory`."""

    def __init__(self, vocab_size: int, memory_size: int, *, cell: str = "lstm", hidden_size: int = 128,
                 num_layers: int = 1, embedding_size: int | None = None, attention: bool = False,
                 attention_size: int | None = None, context_input: bool = False, bridge: str = "learned",
                 dropout: float = 0.0):
        """`memory_size` is the encoder's output width (= the width of C). `bridge` is "learned",
        "copy" or "none" here (Seq2Seq resolves "auto")."""
        super().__init__()
        embedding_size = hidden_size if embedding_size is None else embedding_size
        if min(vocab_size, memory_size, hidden_size, num_layers, embedding_size) < 1:
            raise ConfigError(f"Decoder: sizes must be >= 1, got vocab {vocab_size}, memory {memory_size}, "
                              f"hidden {hidden_size}, layers {num_layers}, embedding {embedding_size}")
        if bridge not in ("learned", "copy", "none"):
            raise ConfigError(f"Decoder: bridge must be 'learned', 'copy' or 'none', got {bridge!r}")
        if bridge == "none" and not (attention or context_input):
            raise ConfigError("Decoder: with bridge='none' and neither attention nor context_input the "
                              "decoder never sees the source")
        self.vocab_size, self.hidden_size, self.num_layers = vocab_size, hidden_size, num_layers
        self.memory_size, self.context_input, self.bridge, self.dropout = memory_size, context_input, bridge, dropout
        self.embedding = nn.Embedding(vocab_size, embedding_size)
        self.attention = None
        if attention:
            self.attention = AdditiveAttention(hidden_size, memory_size, attention_size or hidden_size)
        extra = memory_size * (int(attention) + int(context_input))  # c_t and/or C, at input and output
        self.cells = nn.ModuleList(make_cell(cell, (embedding_size + extra) if k == 0 else hidden_size, hidden_size)
                                   for k in range(num_layers))
        self.bridge_proj = nn.Linear(memory_size, num_layers * hidden_size) if bridge == "learned" else None
        self.output = nn.Linear(hidden_size + extra, vocab_size)

    def initial_state(self, context: Tensor, finals: tuple | None = None) -> tuple:
        """s_0, one state per layer, from C (B, memory_size) or, for bridge="copy", the encoder's
        final states."""
        B = context.shape[0]
        zeros = tuple(c.init_state(B, context.device, context.dtype) for c in self.cells)
        if self.bridge == "copy":
            check_state(finals, zeros, "Decoder: encoder final state for bridge='copy'")
            return finals
        if self.bridge == "none":
            return zeros
        h0 = torch.tanh(self.bridge_proj(context)).chunk(self.num_layers, dim=-1)
        return tuple(replace_hidden(z, h) for z, h in zip(zeros, h0))

    def step(self, prev: Tensor, state: tuple, memory: Memory) -> tuple[Tensor, tuple, Tensor | None]:
        """prev (B,) ids of y_{t−1}, state s_{t−1} → logits (B, V) for y_t, s_t, α_t (B, S) or None."""
        parts, weights = [self.embedding(prev)], None
        if self.attention is not None:
            query = hidden_of(state[-1])  # s_{t−1} of the top layer
            ctx, weights = self.attention(query, memory.states, memory.mask, memory.keys)
            parts.append(ctx)
        if self.context_input:
            parts.append(memory.context)
        x = F.dropout(torch.cat(parts, dim=-1), self.dropout, self.training)
        new = []
        for k, cell in enumerate(self.cells):
            if k > 0:
                x = F.dropout(x, self.dropout, self.training)
            x, s = cell(x, state[k])
            new.append(s)
        out = torch.cat([x] + parts[1:], dim=-1)  # [s_t; c_t?; C?]
        return self.output(F.dropout(out, self.dropout, self.training)), tuple(new), weights


class Seq2Seq(nn.Module):
    """Encoder + decoder. The target vocabulary's `<bos>`, `<eos>` and `<pad>` ids are part of the
    model (defaults 1, 2, 0: the order `build_vocabularies` gives)."""

    def __init__(
        self,
        src_vocab_size: int,
        tgt_vocab_size: int,
        *,
        cell: str = "lstm",          # any name of rnnlab.cells.registry, encoder and decoder alike
        hidden_size: int = 128,      # per direction in the encoder; the decoder's width
        num_layers: int = 1,         # encoder and decoder depth
        embedding_size: int | None = None,  # source and target embeddings; None: hidden_size
        bidirectional: bool = False,  # bidirectional encoder (C = [h→_S; h←_1])
        attention: bool = False,     # additive attention over the encoder outputs
        attention_size: int | None = None,  # width of the attention MLP; None: hidden_size
        context_input: bool = False,  # feed C at every decoder step (Cho et al. 2014)
        bridge: str = "auto",        # auto | copy | learned | none: how C sets the decoder's state
        dropout: float = 0.0,        # on embeddings, between layers and before the softmax
        bos_index: int = 1,
        eos_index: int = 2,
        pad_index: int = 0,
    ):
        super().__init__()
        if bridge not in BRIDGES:
            raise ConfigError(f"unknown bridge {bridge!r}; choose one of: {', '.join(BRIDGES)}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
        specials = {"bos_index": bos_index, "eos_index": eos_index, "pad_index": pad_index}
        for name, i in specials.items():
            if not 0 <= i < tgt_vocab_size:
                raise ConfigError(f"{name} {i} is outside the target vocabulary (size {tgt_vocab_size})")
        if len(set(specials.values())) < 3:
            raise ConfigError(f"bos, eos and pad must be distinct tokens, got {specials}")
        self._config = dict(src_vocab_size=src_vocab_size, tgt_vocab_size=tgt_vocab_size, cell=cell,
                            hidden_size=hidden_size, num_layers=num_layers, embedding_size=embedding_size,
                            bidirectional=bidirectional, attention=attention, attention_size=attention_size,
                            context_input=context_input, bridge=bridge, dropout=dropout, **specials)
        self.bos_index, self.eos_index, self.pad_index = bos_index, eos_index, pad_index
        can_copy = not bidirectional
        if bridge == "copy" and not can_copy:
            raise ConfigError("bridge='copy' needs a unidirectional encoder (a bidirectional one has twice the "
                              "decoder's width); use 'learned'")
        self.encoder = Encoder(src_vocab_size, cell=cell, hidden_size=hidden_size, num_layers=num_layers,
                               embedding_size=embedding_size, bidirectional=bidirectional, dropout=dropout)
        self.decoder = Decoder(tgt_vocab_size, self.encoder.output_size, cell=cell, hidden_size=hidden_size,
                               num_layers=num_layers, embedding_size=embedding_size, attention=attention,
                               attention_size=attention_size, context_input=context_input,
                               bridge=("copy" if can_copy else "learned") if bridge == "auto" else bridge,
                               dropout=dropout)

    @classmethod
    def build(cls, *args, **kwargs) -> "Seq2Seq":
        """The model from names and sizes (a cell name, hidden size, layers, ...): what recipes and
        `from_config` call. The constructor itself takes modules."""
        return cls(*args, **kwargs)

    def config(self) -> dict:
        return dict(self._config)

    @classmethod
    def from_config(cls, config: dict) -> "Seq2Seq":
        try:
            return cls.build(**config)
        except TypeError as e:  # unknown or missing keys
            raise ConfigError(f"model config does not describe a Seq2Seq ({e})") from None

    @property
    def tgt_vocab_size(self) -> int:
        return self.decoder.vocab_size

    def encode(self, src: Tensor, src_lengths: Tensor | None = None) -> tuple[Memory, tuple]:
        """src (S, B) ids, src_lengths (B,) → the decoder's memory and initial state s_0."""
        _check_tokens(src, self.encoder.vocab_size, "Seq2Seq source", 2)
        S, B = src.shape
        if src_lengths is not None:
            src_lengths = check_lengths(src_lengths, S, B, src.device, "Seq2Seq source")
        states, finals = self.encoder(src, src_lengths)
        if src_lengths is None:
            mask = torch.ones(S, B, dtype=torch.bool, device=src.device)
        else:
            mask = torch.arange(S, device=src.device).unsqueeze(1) < src_lengths.unsqueeze(0)
        context = self.encoder.context(finals)
        att = self.decoder.attention
        memory = Memory(states, mask, context, None if att is None else att.keys(states), finals)
        return memory, self.decoder.initial_state(context, finals)

    def step(self, prev_token: Tensor, state: tuple, memory: Memory) -> tuple[Tensor, tuple, Tensor | None]:
        """One decoding step: prev_token (B,) → logits (B, V), new state, attention weights (B, S) or None."""
        return self.decoder.step(prev_token, state, memory)

    def forward(self, src: Tensor, src_lengths: Tensor | None, tgt: Tensor, *,
                teacher_forcing: float = 1.0) -> tuple[Tensor, Tensor | None]:
        """Score the target `tgt` (T, B): y_1..y_T ending in <eos>, padded with <pad> (the first input
        is <bos>). → logits (T, B, V) predicting tgt, attention weights (T, B, S) or None.

        Step t > 1 is fed y_{t−1} with probability `teacher_forcing`, else the model's own argmax
        at t − 1 (no gradient through the choice); a coin per token (scheduled sampling)."""
        _check_tokens(tgt, self.tgt_vocab_size, "Seq2Seq target", 2)
        if src.dim() == 2 and tgt.shape[1] != src.shape[1]:
            raise DataError(f"Seq2Seq: source batch {src.shape[1]} and target batch {tgt.shape[1]} differ")
        memory, state = self.encode(src, src_lengths)
        prev = torch.full_like(tgt[0], self.bos_index)
        logits, weights = [], []
        for t in range(tgt.shape[0]):
            out, state, w = self.step(prev, state, memory)
            logits.append(out)
            weights.append(w)
            if t + 1 < tgt.shape[0]:
                prev = choose_inputs(tgt[t], out.detach().argmax(-1), teacher_forcing)
        attention = None if weights[0] is None else torch.stack(weights)
        return torch.stack(logits), attention
