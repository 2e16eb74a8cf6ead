"""Encoder–decoder (asynchronous sequence → sequence): Sutskever et al. 2014, Cho et al. 2014,
Bahdanau et al. 2015.

    source x_1..x_S ──Encoder──▶ h_1..h_S (memory), C (context)
    C ──bridge──▶ decoder state s_0
    for t = 1..T:   s_t = cell([E y_{t−1}; c_t?; C?], s_{t−1}),   p(y_t | y_<t, x) = softmax(W_o [s_t; c_t?; C?])

The encoder is any registry cell unrolled by `Recurrent` (`build_encoder`: stacked, optionally
bidirectional), with source lengths respected. C is the top layer's final hidden vector, [h→_S; h←_1] when
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
from rnnlab.errors import ConfigError, DataError
from rnnlab.layers.described import Described, described
from rnnlab.layers.encoder import build_encoder, cell_factory
from rnnlab.layers.sequence import check_lengths, check_tokens, length_mask
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


class Encoder(nn.Module):
    """Source ids (S, B) → `embedding` → `rnn` (a recurrent encoder, e.g. `build_encoder`) →
    outputs (S, B, output_size) and the final state per layer."""

    def __init__(self, embedding: nn.Embedding, rnn: nn.Module, *, dropout: float = 0.0):
        """`dropout` acts on the embedded source (the rnn has its own between layers)."""
        super().__init__()
        if embedding.embedding_dim != rnn.input_size:
            raise ConfigError(f"Encoder: the embedding is {embedding.embedding_dim} wide but the rnn reads {rnn.input_size}")
        self.embedding, self.rnn, self.dropout = embedding, rnn, dropout
        self.vocab_size, self.output_size = embedding.num_embeddings, rnn.output_size
        self.bidirectional = getattr(rnn, "directions", 1) == 2

    def forward(self, src: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, tuple]:
        """src (S, B) ids, lengths (B,) in [1, S] (None: all S) → outputs (S, B, output_size), finals."""
        check_tokens(src, self.vocab_size, "Encoder")
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
    """A stack of cells run one step at a time, conditioned on the encoder's `Memory`:
    prev ids (B,) → logits (B, V), one state per cell, attention weights (B, S) or None.

    Modules: `embedding` (V × E), `attention` (`AdditiveAttention` or None), `cells` (the stack;
    the first reads E + memory_size × (attention + context_input) features), `bridge_proj`
    (memory_size → layers × hidden, for bridge="learned") and `output` (the softmax layer)."""

    def __init__(self, embedding: nn.Embedding, cells, memory_size: int, *, attention: AdditiveAttention | None = None,
                 context_input: bool = False, bridge: str = "learned", dropout: float = 0.0):
        """`memory_size` is the encoder's output width (= the width of C). `bridge` is "learned",
        "copy" or "none" here (Seq2Seq.build resolves "auto")."""
        super().__init__()
        cells = nn.ModuleList(cells)
        if not len(cells):
            raise ConfigError("Decoder: needs at least one cell")
        if bridge not in ("learned", "copy", "none"):
            raise ConfigError(f"Decoder: bridge must be 'learned', 'copy' or 'none', got {bridge!r}")
        if bridge == "none" and not (attention or context_input):
            raise ConfigError("Decoder: with bridge='none' and neither attention nor context_input the "
                              "decoder never sees the source")
        extra = memory_size * (int(attention is not None) + int(context_input))  # c_t and/or C, at input and output
        widths = [embedding.embedding_dim + extra] + [c.output_size for c in cells[:-1]]
        for k, (cell, width) in enumerate(zip(cells, widths)):
            if cell.input_size != width:
                raise ConfigError(f"Decoder: cell {k} reads {cell.input_size} features but gets {width}")
        self.vocab_size, self.hidden_size, self.num_layers = embedding.num_embeddings, cells[-1].output_size, len(cells)
        self.memory_size, self.context_input, self.bridge, self.dropout = memory_size, context_input, bridge, dropout
        self.embedding, self.attention, self.cells = embedding, attention, cells
        self.bridge_proj = nn.Linear(memory_size, sum(c.hidden_size for c in cells)) if bridge == "learned" else None
        self.output = nn.Linear(self.hidden_size + extra, self.vocab_size)

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


class Seq2Seq(Described, nn.Module):
    """Encoder + decoder: src (S, B) ids, src lengths (B,), target (T, B) ids → logits (T, B, V)
    and attention weights (T, B, S) or None. The target vocabulary's `<bos>`, `<eos>` and `<pad>`
    ids are part of the model (defaults 1, 2, 0: the order `build_vocabularies` gives).

    `Seq2Seq(encoder, decoder)` takes the modules; `Seq2Seq.build(src_vocab_size, tgt_vocab_size,
    cell="lstm", ...)` makes them from a cell name and sizes and is what `config()` describes."""

    def __init__(self, encoder: Encoder, decoder: Decoder, *, bos_index: int = 1, eos_index: int = 2,
                 pad_index: int = 0):
        super().__init__()
        specials = {"bos_index": bos_index, "eos_index": eos_index, "pad_index": pad_index}
        for name, i in specials.items():
            if not 0 <= i < decoder.vocab_size:
                raise ConfigError(f"{name} {i} is outside the target vocabulary (size {decoder.vocab_size})")
        if len(set(specials.values())) < 3:
            raise ConfigError(f"bos, eos and pad must be distinct tokens, got {specials}")
        if decoder.memory_size != encoder.output_size:
            raise ConfigError(f"the decoder reads a {decoder.memory_size}-wide memory but the encoder gives "
                              f"{encoder.output_size}")
        if decoder.bridge == "copy" and encoder.bidirectional:
            raise ConfigError("bridge='copy' needs a unidirectional encoder (a bidirectional one has twice the "
                              "decoder's width); use 'learned'")
        self.bos_index, self.eos_index, self.pad_index = bos_index, eos_index, pad_index
        self.encoder, self.decoder = encoder, decoder

    @classmethod
    def build(
        cls,
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
    ) -> "Seq2Seq":
        """The model from a cell name and sizes (see the module docstring for the options)."""
        if bridge not in BRIDGES:
            raise ConfigError(f"unknown bridge {bridge!r}; choose one of: {', '.join(BRIDGES)}")
        if bridge == "copy" and bidirectional:
            raise ConfigError("bridge='copy' needs a unidirectional encoder (a bidirectional one has twice the "
                              "decoder's width); use 'learned'")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
        arguments = dict(src_vocab_size=src_vocab_size, tgt_vocab_size=tgt_vocab_size, cell=cell,
                         hidden_size=hidden_size, num_layers=num_layers, embedding_size=embedding_size,
                         bidirectional=bidirectional, attention=attention, attention_size=attention_size,
                         context_input=context_input, bridge=bridge, dropout=dropout, bos_index=bos_index,
                         eos_index=eos_index, pad_index=pad_index)
        embedding_size = hidden_size if embedding_size is None else embedding_size
        if min(src_vocab_size, tgt_vocab_size, hidden_size, num_layers, embedding_size) < 1:
            raise ConfigError(f"vocabulary sizes, hidden_size, num_layers and embedding_size must be >= 1, got "
                              f"{src_vocab_size}, {tgt_vocab_size}, {hidden_size}, {num_layers}, {embedding_size}")
        encoder = Encoder(nn.Embedding(src_vocab_size, embedding_size),
                          build_encoder(cell, embedding_size, hidden_size, num_layers, bidirectional=bidirectional,
                                        dropout=dropout), dropout=dropout)
        memory = encoder.output_size
        target_embedding = nn.Embedding(tgt_vocab_size, embedding_size)
        attend = AdditiveAttention(hidden_size, memory, attention_size or hidden_size) if attention else None
        make = cell_factory(cell)
        width = embedding_size + memory * (int(attention) + int(context_input))
        cells = [make(width if k == 0 else hidden_size, hidden_size) for k in range(num_layers)]
        decoder = Decoder(target_embedding, cells, memory, attention=attend, context_input=context_input,
                          bridge=("learned" if bidirectional else "copy") if bridge == "auto" else bridge,
                          dropout=dropout)
        model = cls(encoder, decoder, bos_index=bos_index, eos_index=eos_index, pad_index=pad_index)
        return described(model, arguments)

    @property
    def tgt_vocab_size(self) -> int:
        return self.decoder.vocab_size

    def encode(self, src: Tensor, src_lengths: Tensor | None = None) -> tuple[Memory, tuple]:
        """src (S, B) ids, src_lengths (B,) → the decoder's memory and initial state s_0."""
        checked = check_tokens(src, self.encoder.vocab_size, "Seq2Seq source")
        if src_lengths is not None:
            src_lengths = checked = check_lengths(src_lengths, *src.shape, src.device, "Seq2Seq source")
        states, finals = self.encoder(src, src_lengths)
        mask = length_mask(checked, src.shape[0])  # (S, B)
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
        check_tokens(tgt, self.tgt_vocab_size, "Seq2Seq target")
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
