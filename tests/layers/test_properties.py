"""Property-based tests (hypothesis) of the core layers: random shapes, lengths, dtypes, initial
states and garbage (NaN, ±inf, 1e30) in the padding, checked against

- the per-sequence unroll: each sequence alone, unpadded, through the cell's step path — outputs,
  final states, and gradients (of the input, the initial state and every parameter), which must
  be finite and equal, so nothing in a padded step reaches any value or gradient;
- torch.nn for the layers torch has (rnnlab.RNN / LSTM / GRU on packed sequences).

Derandomized (a fixed seed) so the suite is reproducible; the example counts are at the top.
"""
import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnlab
from rnnlab.cells import (ClockworkCell, DeepOutput, DeepTransition, ElmanCell, FeedForwardCell, GRUCell,
                          JordanCell, LeakyCell, LSTMCell, RecurrentDropout, ResidualCell, SkipCell, Zoneout)
from rnnlab.cells._state import leaves
from rnnlab.classify import SequenceClassifier
from rnnlab.layers import Bidirectional, Stacked

SETTINGS = dict(derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CELLS = {
    "elman": lambda d, h: ElmanCell(d, h),
    "elman-relu": lambda d, h: ElmanCell(d, h, activation="relu"),
    "lstm": lambda d, h: LSTMCell(d, h),
    "lstm-peephole": lambda d, h: LSTMCell(d, h, peephole=True),
    "lstm-layernorm": lambda d, h: LSTMCell(d, h, layer_norm=True),
    "lstm-proj": lambda d, h: LSTMCell(d, h + 1, proj_size=h),
    "gru": lambda d, h: GRUCell(d, h),
    "gru-cho": lambda d, h: GRUCell(d, h, reset_after=False),
    "gru-layernorm": lambda d, h: GRUCell(d, h, layer_norm=True),
    "jordan": lambda d, h: JordanCell(d, h, h, output_activation="tanh"),
    "feedforward": lambda d, h: FeedForwardCell(d, h),
    "leaky-elman": lambda d, h: LeakyCell(ElmanCell(d, h), 0.3, learn_alpha=True),
    "leaky-lstm": lambda d, h: LeakyCell(LSTMCell(d, h), 0.6),
    "clockwork": lambda d, h: ClockworkCell(ElmanCell(d, 2 * h), [1, 3]),
    "skip-gru": lambda d, h: SkipCell(GRUCell(d, h), 2),
    "residual": lambda d, h: ResidualCell(ElmanCell(d, h)),
    "zoneout": lambda d, h: Zoneout(LSTMCell(d, h), 0.3),
    "recurrent-dropout": lambda d, h: RecurrentDropout(GRUCell(d, h), 0.3),
    "deep-transition": lambda d, h: DeepTransition(ElmanCell(d, h), 2),
    "deep-output": lambda d, h: DeepOutput(GRUCell(d, h), [3, 2]),
}
GARBAGE = [math.nan, math.inf, -math.inf, 1e30]
TOL = {torch.float32: dict(atol=2e-5, rtol=1e-4), torch.float64: dict(atol=1e-10, rtol=1e-9)}


@st.composite
def batches(draw, max_t=6, max_b=4):
    """(T, B, lengths with at least one of T, dtype, garbage for the padded steps)."""
    T = draw(st.integers(1, max_t))
    B = draw(st.integers(1, max_b))
    lengths = draw(st.lists(st.integers(1, T), min_size=B, max_size=B))
    lengths[draw(st.integers(0, B - 1))] = T  # a padded batch is as long as its longest sequence
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    return T, B, lengths, dtype, draw(st.sampled_from(GARBAGE))


def padded_input(T, B, D, lengths, dtype, garbage, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(T, B, D, generator=g, dtype=dtype)
    for b, n in enumerate(lengths):
        x[n:, b] = garbage
    return x.requires_grad_()


def random_state(cell, B, dtype, seed):
    """A random initial state of the cell's structure (integer leaves, a clockwork counter, kept)."""
    g = torch.Generator().manual_seed(seed)

    def fill(s):
        if isinstance(s, torch.Tensor):
            return torch.randn(s.shape, generator=g, dtype=dtype) * 0.5 if s.is_floating_point() else s
        return tuple(fill(p) for p in s)
    return fill(cell.init_state(B, dtype=dtype))


def rows(state, b):
    """Sequence b's part of a state."""
    return state[b:b + 1] if isinstance(state, torch.Tensor) else tuple(rows(s, b) for s in state)


def weights_for(y_or_state, seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(t.shape, generator=g, dtype=t.dtype) if t.is_floating_point() else None
            for t in leaves(y_or_state)]


def scalar(outputs, final, seed):
    """A loss reading every real output and the final state (weighted, so each counts differently)."""
    total = 0
    for t, w in zip(leaves(outputs) + leaves(final), weights_for(outputs, seed) + weights_for(final, seed + 1)):
        if w is not None:
            total = total + (t * w).sum()
    return total


def unroll_one(cell, x_b, state_b, reverse):
    """One sequence (L, 1, D), unpadded, through cell.step — the reference."""
    outs = [None] * x_b.shape[0]
    order = range(x_b.shape[0] - 1, -1, -1) if reverse else range(x_b.shape[0])
    for t in order:
        outs[t], state_b, _ = cell.step(x_b[t], state_b)
    return torch.stack(outs), state_b


def grads(loss, tensors):
    tensors = [t for t in tensors if t.requires_grad]
    return tensors, torch.autograd.grad(loss, tensors, allow_unused=True)


@settings(max_examples=400, **SETTINGS)
@given(name=st.sampled_from(sorted(CELLS)), batch=batches(), d=st.integers(1, 4), h=st.integers(1, 4),
       with_state=st.booleans(), reverse=st.booleans(), fused=st.sampled_from(["auto", False]),
       seed=st.integers(0, 2**16))
def test_recurrent_equals_the_per_sequence_unroll(name, batch, d, h, with_state, reverse, fused, seed):
    T, B, lengths, dtype, garbage = batch
    torch.manual_seed(seed)
    cell = CELLS[name](d, h).to(dtype).eval()  # eval: the stochastic wrappers are deterministic
    layer = rnnlab.Recurrent(cell, reverse=reverse, fused=fused)
    x = padded_input(T, B, d, lengths, dtype, garbage, seed)
    state = random_state(cell, B, dtype, seed + 1) if with_state else cell.init_state(B, dtype=dtype)
    for leaf in leaves(state):
        if leaf.is_floating_point():
            leaf.requires_grad_()
    params = list(cell.parameters())
    y, final = layer(x, state, lengths=torch.tensor(lengths))

    # the reference: sequence b alone, its own L steps, through the step path
    ref_total = 0
    for b, n in enumerate(lengths):
        y_b, final_b = unroll_one(cell, x[:n, b:b + 1], rows(state, b), reverse)
        for a, r in zip(leaves(final), leaves(final_b)):
            torch.testing.assert_close(a[b:b + 1], r, **TOL[dtype]) if a.is_floating_point() else None
        torch.testing.assert_close(y[:n, b:b + 1], y_b, **TOL[dtype])
        assert (y[n:, b] == 0).all()  # padded outputs are exactly 0, whatever the padding held
        ref_total = ref_total + scalar(y_b, final_b, seed + b)

    ours_total = sum(scalar(y[:n, b:b + 1], rows(final, b), seed + b) for b, n in enumerate(lengths))
    wrt = [x, *leaves(state), *params]
    wrt, g = grads(ours_total, wrt)
    _, g_ref = grads(ref_total, wrt)
    for t, a, r in zip(wrt, g, g_ref):
        if a is None or r is None:
            assert a is None or not a.any() and (r is None or not r.any())
            continue
        assert torch.isfinite(a).all(), f"non-finite gradient of a {tuple(t.shape)} tensor"
        torch.testing.assert_close(a, r, **TOL[dtype])
    for b, n in enumerate(lengths):
        assert (g[0][n:, b] == 0).all()  # no gradient reaches a padded input


@settings(max_examples=200, **SETTINGS)
@given(name=st.sampled_from(["elman", "lstm", "gru", "leaky-lstm", "skip-gru", "jordan"]), batch=batches(),
       d=st.integers(1, 3), h=st.integers(1, 3), layers=st.integers(1, 3), bidirectional=st.booleans(),
       residual=st.booleans(), fused=st.sampled_from(["auto", False]), seed=st.integers(0, 2**16))
def test_stacked_and_bidirectional_equal_each_sequence_alone(name, batch, d, h, layers, bidirectional, residual,
                                                             fused, seed):
    T, B, lengths, dtype, garbage = batch
    torch.manual_seed(seed)

    def layer(width):
        if bidirectional:
            return Bidirectional(rnnlab.Recurrent(CELLS[name](width, h), fused=fused),
                                 rnnlab.Recurrent(CELLS[name](width, h), reverse=True, fused=fused))
        return rnnlab.Recurrent(CELLS[name](width, h), fused=fused)
    out = 2 * h if bidirectional else h
    stack = Stacked([layer(d if k == 0 else out) for k in range(layers)], residual=residual and layers > 1
                    and d == out).to(dtype).eval()
    x = padded_input(T, B, d, lengths, dtype, garbage, seed)
    y, final = stack(x, lengths=torch.tensor(lengths))
    params = list(stack.parameters())
    ref_total, ours_total = 0, 0
    for b, n in enumerate(lengths):
        y_b, final_b = stack(x[:n, b:b + 1])  # alone and unpadded
        torch.testing.assert_close(y[:n, b:b + 1], y_b, **TOL[dtype])
        assert (y[n:, b] == 0).all()
        for a, r in zip(leaves(final), leaves(final_b)):
            torch.testing.assert_close(a[b:b + 1], r, **TOL[dtype])
        ref_total = ref_total + scalar(y_b, final_b, seed + b)
        ours_total = ours_total + scalar(y[:n, b:b + 1], rows(final, b), seed + b)
    wrt, g = grads(ours_total, [x, *params])
    _, g_ref = grads(ref_total, wrt)
    for a, r in zip(g, g_ref):
        assert torch.isfinite(a).all()
        torch.testing.assert_close(a, r, **TOL[dtype])


def test_residual_stack_keeps_padded_outputs_zero():
    stack = Stacked([rnnlab.Recurrent(ElmanCell(2, 2)), rnnlab.Recurrent(ElmanCell(2, 2))], residual=True)
    x = torch.randn(3, 2, 2)
    x[2:, 1] = math.nan
    y, _ = stack(x, lengths=torch.tensor([3, 2]))
    assert (y[2:, 1] == 0).all()


TORCH = {"RNN": (nn.RNN, rnnlab.RNN), "LSTM": (nn.LSTM, rnnlab.LSTM), "GRU": (nn.GRU, rnnlab.GRU)}


@settings(max_examples=200, **SETTINGS)
@given(kind=st.sampled_from(sorted(TORCH)), batch=batches(), d=st.integers(1, 4), h=st.integers(2, 4),
       layers=st.integers(1, 2), bidirectional=st.booleans(), batch_first=st.booleans(), proj=st.booleans(),
       with_state=st.booleans(), fused=st.sampled_from(["auto", False]), seed=st.integers(0, 2**16))
def test_drop_ins_equal_torch_nn_on_packed_sequences(kind, batch, d, h, layers, bidirectional, batch_first, proj,
                                                     with_state, fused, seed):
    T, B, lengths, dtype, garbage = batch
    torch.manual_seed(seed)
    extra = {"proj_size": h - 1} if kind == "LSTM" and proj else {}
    ref = TORCH[kind][0](d, h, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first,
                         **extra).to(dtype)
    ours = rnnlab.from_torch(ref, fused=fused)
    x = padded_input(T, B, d, lengths, dtype, garbage, seed)
    xin = x.transpose(0, 1) if batch_first else x
    hx = None
    if with_state:
        n = layers * (2 if bidirectional else 1)
        hx = torch.randn(n, B, extra.get("proj_size", h), dtype=dtype, requires_grad=True)
        if kind == "LSTM":
            hx = (hx, torch.randn(n, B, h, dtype=dtype, requires_grad=True))
    packed = pack_padded_sequence(xin, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
    y_ref, h_ref = ref(packed, hx)
    y, h_n = ours(packed, hx)
    y_ref = pad_packed_sequence(y_ref, batch_first=batch_first, total_length=T)[0]
    y = pad_packed_sequence(y, batch_first=batch_first, total_length=T)[0]
    torch.testing.assert_close(y, y_ref, **TOL[dtype])
    for a, r in zip(leaves(h_n), leaves(h_ref)):
        torch.testing.assert_close(a, r, **TOL[dtype])
    gy = torch.randn_like(y)
    gh = [torch.randn_like(t) for t in leaves(h_n)]
    inputs = [x] + ([t for t in leaves(hx)] if hx is not None else [])
    g_ref = torch.autograd.grad([y_ref, *leaves(h_ref)], inputs + list(ref.parameters()), [gy, *gh],
                                retain_graph=True)  # the packing of x is shared by both graphs
    ours_params = [getattr(cell, n) for _, cell in ours.cells()
                   for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
                   if getattr(cell, n, None) is not None]
    g = torch.autograd.grad([y, *leaves(h_n)], inputs + ours_params, [gy, *gh])
    for a, r in zip(g, g_ref):
        assert torch.isfinite(a).all()
        torch.testing.assert_close(a, r, **{k: 10 * v for k, v in TOL[dtype].items()})


@settings(max_examples=100, **SETTINGS)
@given(cell=st.sampled_from(["lstm", "gru", "elman", "leaky"]), batch=batches(), bidirectional=st.booleans(),
       pool=st.sampled_from(["last", "mean", "attention"]), seed=st.integers(0, 2**16))
def test_classifier_reads_each_sequence_as_if_alone(cell, batch, bidirectional, pool, seed):
    """Padding may hold any id: logits and gradients equal those of each sequence alone."""
    T, B, lengths, dtype, _ = batch
    torch.manual_seed(seed)
    model = SequenceClassifier.build(7, 3, cell=cell, hidden_size=4, num_layers=2, bidirectional=bidirectional,
                                     embedding_size=3, pool=pool).to(dtype).eval()
    tokens = torch.randint(0, 7, (T, B), generator=torch.Generator().manual_seed(seed))
    logits = model(tokens, torch.tensor(lengths))
    alone = torch.cat([model(tokens[:n, b:b + 1]) for b, n in enumerate(lengths)])
    torch.testing.assert_close(logits, alone, **TOL[dtype])
    params = list(model.parameters())
    w = torch.randn(logits.shape, dtype=dtype, generator=torch.Generator().manual_seed(seed))
    g = torch.autograd.grad((logits * w).sum(), params, allow_unused=True)
    g_ref = torch.autograd.grad((alone * w).sum(), params, allow_unused=True)
    for a, r in zip(g, g_ref):
        if a is not None:
            assert torch.isfinite(a).all()
            torch.testing.assert_close(a, r, **TOL[dtype])


@pytest.mark.parametrize("lengths", [torch.tensor([True, True]), [True, True], torch.tensor([2.0, 1.0]),
                                     [[2], [1, 1]], "ab", [None, 2], torch.tensor([[2, 1]])])
def test_malformed_lengths_are_named_everywhere(lengths):
    """Every layer and model goes through the one check (bool tensors are refused, not read as 1)."""
    x = torch.randn(3, 2, 2)
    users = [rnnlab.Recurrent(ElmanCell(2, 3)), Bidirectional(ElmanCell(2, 3), ElmanCell(2, 3)),
             Stacked([rnnlab.Recurrent(ElmanCell(2, 3))]), rnnlab.LSTM(2, 3)]
    for layer in users:
        with pytest.raises(ValueError, match="lengths"):
            layer(x, lengths=lengths)
    with pytest.raises(ValueError, match="lengths"):
        SequenceClassifier.build(5, 2, hidden_size=3, embedding_size=2)(torch.zeros(3, 2, dtype=torch.long), lengths)


WORDS = ["show", "flights", "from", "boston", "to", "denver", "on", "monday", "cheapest"]


@settings(max_examples=100, **SETTINGS)
@given(sentences=st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=5), min_size=1, max_size=4),
       cell=st.sampled_from(["lstm", "gru", "elman"]), bidirectional=st.booleans(), trigrams=st.booleans(),
       jordan=st.booleans(), intent_from=st.sampled_from(["last", "mean", "attention"]), seed=st.integers(0, 2**16))
def test_tagger_reads_each_sentence_as_if_alone(sentences, cell, bidirectional, trigrams, jordan, intent_from, seed):
    """Padded word slots hold arbitrary (valid) ids: tag and intent logits, and every parameter's
    gradient, equal those of each sentence encoded and tagged alone."""
    from rnnlab.data.words import WordEncoder
    from rnnlab.layers.word_features import WordFeatures
    from rnnlab.tagging import Tagger

    torch.manual_seed(seed)
    enc = WordEncoder.build([WORDS], trigrams=trigrams)
    features = WordFeatures(enc.word_vocab, enc.trigram_vocab, trigrams=trigrams, embedding_size=3)
    model = Tagger.build(features, 4, cell=cell, hidden_size=3, bidirectional=bidirectional,
                         jordan_feedback=jordan and not bidirectional, num_intents=2,
                         intent_from=intent_from).double().eval()
    batch = enc.encode(sentences)
    ids = batch.word_ids.clone()
    junk = torch.randint(0, len(enc.word_vocab), ids.shape, generator=torch.Generator().manual_seed(seed))
    pad = ~(torch.arange(ids.shape[0]).unsqueeze(1) < batch.lengths)
    batch = batch._replace(word_ids=torch.where(pad, junk, ids))
    tags, intents = model(batch)
    params = [p for p in model.parameters() if p.requires_grad]
    total, ref = 0, 0
    for b, sentence in enumerate(sentences):
        tags_b, intents_b = model(enc.encode([sentence]))
        n = len(sentence)
        torch.testing.assert_close(tags[:n, b:b + 1], tags_b, **TOL[torch.float64])
        torch.testing.assert_close(intents[b:b + 1], intents_b, **TOL[torch.float64])
        w = torch.randn(tags_b.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed + b))
        total = total + (tags[:n, b:b + 1] * w).sum() + intents[b].sum()
        ref = ref + (tags_b * w).sum() + intents_b.sum()
    g = torch.autograd.grad(total, params, allow_unused=True)
    g_ref = torch.autograd.grad(ref, params, allow_unused=True)
    for a, r in zip(g, g_ref):
        if a is not None and r is not None:
            assert torch.isfinite(a).all()
            torch.testing.assert_close(a, r, **TOL[torch.float64])
