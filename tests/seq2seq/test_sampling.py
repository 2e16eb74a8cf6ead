"""Teacher forcing, free running and scheduled sampling."""
import math

import pytest
import torch
from torch.nn import functional as F

from rnnlab.errors import ConfigError
from rnnlab.seq2seq import SamplingSchedule, Seq2Seq, Seq2SeqTask, build_vocabularies, choose_inputs


def test_schedule_values():
    lin = SamplingSchedule.linear(0.1, k=1.0, epsilon=0.25)
    assert [lin(i) for i in (0, 1, 5, 7, 8, 100)] == pytest.approx([1.0, 0.9, 0.5, 0.3, 0.25, 0.25])
    exp = SamplingSchedule.exponential(0.9)
    assert [exp(i) for i in (0, 1, 10)] == pytest.approx([1.0, 0.9, 0.9**10])
    sig = SamplingSchedule.inverse_sigmoid(10)
    assert [sig(i) for i in (0, 10, 50)] == pytest.approx([10 / 11, 10 / (10 + math.e), 10 / (10 + math.exp(5))])
    assert 0.0 <= sig(10**9) < 1e-300  # no overflow
    values = [sig(i) for i in range(0, 200, 10)]
    assert all(a > b for a, b in zip(values, values[1:]))  # decays monotonically
    assert SamplingSchedule.teacher_forcing()(123) == 1.0 and SamplingSchedule.free_running()(0) == 0.0
    assert SamplingSchedule.from_dict(sig.to_dict()) == sig


@pytest.mark.parametrize("kw", [dict(kind="linear", c=-1), dict(kind="exponential", k=1.5),
                                dict(kind="inverse-sigmoid", k=0.5), dict(kind="constant", k=2),
                                dict(kind="cosine")])
def test_bad_schedules(kw):
    with pytest.raises(ConfigError):
        SamplingSchedule(**kw)


def test_choose_inputs_mixes_per_token_from_the_global_rng():
    true, pred = torch.zeros(20_000, dtype=torch.long), torch.ones(20_000, dtype=torch.long)
    before = torch.get_rng_state()
    assert choose_inputs(true, pred, 1.0) is true and choose_inputs(true, pred, 0.0) is pred
    assert torch.equal(torch.get_rng_state(), before)  # the extremes draw nothing
    torch.manual_seed(3)
    a = choose_inputs(true, pred, 0.3)
    assert abs((a == 0).float().mean().item() - 0.3) < 0.02
    torch.manual_seed(3)
    assert torch.equal(choose_inputs(true, pred, 0.3), a)  # restoring the RNG replays the coins


def _model():
    torch.manual_seed(0)
    return Seq2Seq.build(8, 7, cell="gru", hidden_size=8, embedding_size=4, attention=True)


def _batch():
    g = torch.Generator().manual_seed(2)
    src, tgt = torch.randint(3, 8, (5, 4), generator=g), torch.randint(3, 7, (6, 4), generator=g)
    return src, torch.tensor([5, 3, 4, 1]), tgt


def _manual(model, src, lengths, tgt, feed):
    """The decoder loop written out: `feed(t, logits)` gives the input for step t + 1."""
    memory, state = model.encode(src, lengths)
    prev, out = torch.full((4,), model.bos_index), []
    for t in range(tgt.shape[0]):
        logits, state, _ = model.step(prev, state, memory)
        out.append(logits)
        prev = feed(t, logits)
    return torch.stack(out)


def test_teacher_forcing_free_running_and_mixtures():
    model, (src, lengths, tgt) = _model(), _batch()
    teacher = _manual(model, src, lengths, tgt, lambda t, logits: tgt[t])
    free = _manual(model, src, lengths, tgt, lambda t, logits: logits.argmax(-1))
    torch.testing.assert_close(model(src, lengths, tgt)[0], teacher, rtol=0, atol=0)
    torch.testing.assert_close(model(src, lengths, tgt, teacher_forcing=1.0)[0], teacher, rtol=0, atol=0)
    torch.testing.assert_close(model(src, lengths, tgt, teacher_forcing=0.0)[0], free, rtol=0, atol=0)
    assert not torch.allclose(teacher, free)
    torch.manual_seed(5)
    mixed = model(src, lengths, tgt, teacher_forcing=0.5)[0]
    torch.manual_seed(5)
    coins = [torch.rand(4) < 0.5 for _ in range(tgt.shape[0] - 1)]
    replay = _manual(model, src, lengths, tgt, lambda t, logits: torch.where(coins[t], tgt[t], logits.argmax(-1))
                     if t < len(coins) else tgt[t])
    torch.testing.assert_close(mixed, replay, rtol=0, atol=0)
    assert not torch.allclose(mixed, teacher) and not torch.allclose(mixed, free)


def _task(teacher_forcing):
    pairs = [(list("abc"), list("cba")), (list("ab"), list("ba")), (list("cab"), list("bac")), (list("b"), list("b"))]
    sv, tv = build_vocabularies(pairs)
    return Seq2SeqTask({"train": pairs * 3, "valid": pairs}, sv, tv, batch_size=4, seed=1,
                       teacher_forcing=teacher_forcing), sv, tv


def test_task_loss_with_epsilon_one_is_teacher_forcing_and_zero_is_free_running():
    task, sv, tv = _task(SamplingSchedule.linear(0.5))  # ε = 1, 0.5, 0, 0, …
    torch.manual_seed(0)
    model = Seq2Seq.build(len(sv), len(tv), cell="gru", hidden_size=8, attention=True)
    order = task.epoch_order(1)[:4]
    src, lengths, tgt = task.batch([task.splits["train"][i] for i in order])

    def loss(eps):
        logits, _ = model(src, lengths, tgt, teacher_forcing=eps)
        return F.cross_entropy(logits.flatten(0, 1), tgt.flatten(), ignore_index=task.pad)

    assert [task.teacher_forcing_at(1, i) for i in range(3)] == [1.0, 0.5, 0.0]
    assert task.teacher_forcing_at(2, 0) == 0.0  # the count runs on across epochs (3 batches per epoch)
    assert task.train_step(model, 1, 0, None).loss.item() == loss(1.0).item()
    # update 2 of epoch 1 has ε = 0: its batch, run free, gives the same loss
    order = task.epoch_order(1)[8:12]
    src, lengths, tgt = task.batch([task.splits["train"][i] for i in order])
    assert task.train_step(model, 1, 2, None).loss.item() == loss(0.0).item()
    assert loss(0.0).item() != loss(1.0).item()
    # update 1 (ε = 0.5) is replayed exactly from the same RNG state
    torch.manual_seed(4)
    a = task.train_step(model, 1, 1, None).loss.item()
    torch.manual_seed(4)
    assert task.train_step(model, 1, 1, None).loss.item() == a


def test_epoch_order_depends_on_seed_and_epoch_only():
    task, _, _ = _task(1.0)
    again, _, _ = _task(1.0)
    assert (task.epoch_order(3) == again.epoch_order(3)).all()
    assert sorted(task.epoch_order(1).tolist()) == list(range(12))
    assert (task.epoch_order(1) != task.epoch_order(2)).any()
