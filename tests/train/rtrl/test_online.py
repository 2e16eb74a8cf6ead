"""Online training from the command line: `rnnlab train --task copy --learning snap1|rtrl|uoro
--max-steps 50`, memory that does not grow with the stream, and exact resume (the checkpoint
carries the states and influence matrices)."""
import json

import pytest
import torch

from rnnlab.cli.main import main
from rnnlab.errors import ConfigError
from rnnlab.recipes.language_model import RECIPE, LanguageModelOptions

TINY = ["--hidden", "8", "--layers", "1", "--embedding", "4", "--batch-size", "4", "--max-chars", "3000",
        "--no-progress", "--log-every", "1"]


def rows(run):
    return [(r["kind"], r["step"], r.get("loss")) for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())]


@pytest.mark.parametrize("method", ["snap1", "rtrl", "uoro"])
def test_cli_trains_the_copy_task_online(method, tmp_path, capsys):
    out = tmp_path / method
    assert main(["train", "--task", "copy", "--learning", method, "--max-steps", "50", "--out", str(out), *TINY]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["options"]["learning"] == method
    losses = [loss for kind, _, loss in rows(out) if kind == "train"]
    assert len(losses) == 50 and all(loss == loss for loss in losses)
    assert sum(losses[-10:]) < sum(losses[:10])  # it learns something (the symbol frequencies at least)


@pytest.mark.parametrize("method", ["snap1", "uoro", "rtrl"])
def test_resume_continues_with_the_same_influence(method, tmp_path):
    """Interrupted after 4 updates (k = 2 steps each), resumed from the checkpoint in a fresh
    model and task: the same losses and weights as 8 uninterrupted updates."""
    from rnnlab.train.config import TrainConfig
    from rnnlab.train.trainer import Trainer

    def trainer(run, max_steps):
        opts = LanguageModelOptions(task="copy", learning=method, update_every=2, hidden=8, layers=1, embedding=4,
                                    batch_size=4, max_chars=3000, log_every=1, max_steps=max_steps,
                                    checkpoint_every=2)
        prepared = RECIPE.prepare(opts)
        return Trainer(prepared.model, prepared.task, TrainConfig.of(opts), run, progress=False, tensorboard=False)

    ref = trainer(tmp_path / "ref", 8)
    ref.fit()
    trainer(tmp_path / "cut", 4).fit()
    resumed = trainer(tmp_path / "cut", 8)
    resumed.restore()
    resumed.fit()
    assert rows(tmp_path / "cut") == rows(tmp_path / "ref")
    for (name, a), b in zip(ref.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), name


def test_options_refuse_what_online_learning_cannot_do():
    with pytest.raises(ConfigError, match="dropout"):
        LanguageModelOptions(task="copy", learning="rtrl", dropout=0.2)
    with pytest.raises(ConfigError, match="update-every"):
        LanguageModelOptions(task="copy", learning="bptt", update_every=3)
    with pytest.raises(ConfigError, match="influence numbers"):  # 2 × 256 LSTM, batch 32: ~100 GB of influence
        RECIPE.prepare(LanguageModelOptions(task="copy", learning="rtrl", hidden=256, layers=2, batch_size=32,
                                            max_chars=2000))


def test_memory_does_not_grow_with_the_stream():
    """The carry after 5 and after 40 updates holds the same tensors (shapes): nothing is kept per step."""
    opts = LanguageModelOptions(task="copy", learning="snap1", hidden=8, layers=2, embedding=4, batch_size=4,
                                max_chars=2000)
    prepared = RECIPE.prepare(opts)
    carry, shapes = None, []
    for i in range(40):
        carry = prepared.task.train_step(prepared.model, 1, i, carry).carry
        if i in (4, 39):
            flat = []

            def walk(v):
                if isinstance(v, torch.Tensor):
                    flat.append(tuple(v.shape))
                elif isinstance(v, (tuple, list)):
                    for x in v:
                        walk(x)
            walk(carry[1])
            shapes.append(flat)
    assert shapes[0] == shapes[1]


def test_tbptt_update_every_sets_the_window():
    prepared = RECIPE.prepare(LanguageModelOptions(task="copy", learning="tbptt", update_every=7, max_chars=2000,
                                                   hidden=8, layers=1, batch_size=4))
    assert prepared.task.tbptt.k1 == 7


@pytest.mark.parametrize("embedding,tie", [(3, False), (4, True), (0, False)])
def test_online_rtrl_update_equals_bptt_over_the_same_steps(embedding, tie):
    """The first update of exact online RTRL (k = 6 steps from the initial state) has BPTT's
    gradient for every parameter — embedding (through its own influence columns), encoder
    (2 layers) and decoder — in float64."""
    from torch.nn import functional as F

    from rnnlab.lm import LanguageModel
    from rnnlab.train.rtrl.online import OnlineLMTask
    torch.manual_seed(0)
    model = LanguageModel.build(7, cell="gru", hidden_size=4, num_layers=2, embedding_size=embedding,
                                tie_weights=tie).double()
    ids = torch.randint(0, 7, (60,))
    task = OnlineLMTask({"train": ids}, level="char", batch_size=3, method="rtrl", update_every=6)
    out = task.train_step(model, 1, 0, None)
    out.loss.backward()
    got = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    logits, _ = model(task.stream[:6])
    loss = F.cross_entropy(logits.flatten(0, 1), task.stream[1:7].flatten())
    loss.backward()
    assert abs(float(out.loss.detach()) - float(loss.detach())) < 1e-6
    for n, p in model.named_parameters():
        assert torch.allclose(got[n], p.grad, rtol=1e-10, atol=1e-13), n


# --- state carried forever: across epochs (the training text as one endless, looping stream) ---------

def _epoch_trainer(run, method, reset="never", **kw):
    from rnnlab.train.config import TrainConfig
    from rnnlab.train.trainer import Trainer
    opts = LanguageModelOptions(task="copy", learning=method, update_every=5, online_reset=reset, hidden=4, layers=1,
                                embedding=3, batch_size=4, max_chars=300, eval_batch_size=2, log_every=1, **kw)
    prepared = RECIPE.prepare(opts)
    return Trainer(prepared.model, prepared.task, TrainConfig.of(opts), run, progress=False, tensorboard=False)


def _tensors(v):
    if isinstance(v, torch.Tensor):
        return [v]
    return [t for x in v for t in _tensors(x)] if isinstance(v, (tuple, list)) else []


def _record_carries(trainer):
    seen, step = [], trainer.task.train_step

    def spy(model, epoch, index, carry):
        out = step(model, epoch, index, carry)
        seen.append((epoch, index, carry, out.carry))
        return out
    trainer.task.train_step = spy
    return seen


@pytest.mark.parametrize("method", ["snap1", "rtrl"])
def test_the_carry_survives_the_epoch_boundary(method, tmp_path):
    """The first update of epoch 2 starts from the state and influence the last update of epoch 1
    ended with (not from zero); with --online-reset epoch it starts afresh."""
    t = _epoch_trainer(tmp_path / "a", method, epochs=2)
    seen = _record_carries(t)
    t.fit()
    n = t.task.num_batches()
    first_of_2 = next(s for s in seen if s[0] == 2 and s[1] == 0)
    last_of_1 = seen[n - 1]
    assert last_of_1[:2] == (1, n - 1) and first_of_2[2] is not None
    assert first_of_2[2][0] == t.task.stream.shape[0] - 1  # the stream's end, wrapping to its start
    for a, b in zip(_tensors(first_of_2[2]), _tensors(last_of_1[3])):
        assert torch.equal(a, b)
    assert any(x.abs().sum() > 0 for x in _tensors(first_of_2[2][1][1]))  # a nonzero influence goes on
    fresh = _epoch_trainer(tmp_path / "b", method, reset="epoch", epochs=2)
    seen = _record_carries(fresh)
    fresh.fit()
    assert next(s for s in seen if s[0] == 2 and s[1] == 0)[2] is None


def test_memory_does_not_grow_over_epochs(tmp_path):
    """After 1 and after 4 passes over the stream the carry holds the same tensors, and the
    epoch-end checkpoints (weights, optimizer, carry) are the same size."""
    sizes = []
    for epochs in (1, 4):
        t = _epoch_trainer(tmp_path / str(epochs), "snap1", epochs=epochs)
        t.fit()
        sizes.append(([tuple(x.shape) for x in _tensors(t.carry)],
                      sum(f.stat().st_size for f in (tmp_path / str(epochs)).rglob("*.safetensors"))))
    assert sizes[0][0] == sizes[1][0] and sizes[0][0]
    assert sizes[0][1] == sizes[1][1]


@pytest.mark.parametrize("method,past", [("snap1", 2), ("uoro", 2), ("snap1", 0)])
def test_resume_across_an_epoch_boundary_is_exact(method, past, tmp_path):
    """Stopped `past` updates into the second epoch (0: at the boundary itself), resumed in a
    fresh trainer: the same losses and weights as 3 uninterrupted epochs."""
    ref = _epoch_trainer(tmp_path / "ref", method, epochs=3)
    ref.fit()
    n = ref.task.num_batches()
    _epoch_trainer(tmp_path / "cut", method, epochs=3, max_steps=n + past).fit()
    resumed = _epoch_trainer(tmp_path / "cut", method, epochs=3)
    resumed.restore()
    resumed.fit()
    assert rows(tmp_path / "cut") == rows(tmp_path / "ref")
    for (name, a), b in zip(ref.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), name


def test_online_reset_is_for_the_online_methods():
    with pytest.raises(ConfigError, match="online-reset"):
        LanguageModelOptions(task="copy", learning="tbptt", online_reset="epoch")
