import json

import pytest
import torch

from rnnlab.errors import ConfigError, DataError
from rnnlab.seq2seq import SamplingSchedule, Seq2Seq, Seq2SeqTask, build_vocabularies, translate
from rnnlab.datasets.transduction import transduction_data
from rnnlab.train import TrainConfig, Trainer


def test_a_tiny_model_learns_to_reverse_short_strings():
    data = transduction_data("reverse", 2000, 100, 100, seed=0, min_len=2, max_len=5)
    sv, tv = build_vocabularies(data["train"])
    torch.manual_seed(0)
    model = Seq2Seq.build(len(sv), len(tv), cell="gru", hidden_size=32, embedding_size=16, attention=True)
    task = Seq2SeqTask(data, sv, tv, batch_size=32, seed=0)
    before = task.evaluate(model, "valid")
    summary = Trainer(model, task, TrainConfig(epochs=5, lr=1e-2), progress=False).fit()
    after = task.evaluate(model, "test")
    assert before["exact_match"] < 0.05
    assert summary["valid"]["exact_match"] >= 0.9 and after["exact_match"] >= 0.9
    assert after["error"] == pytest.approx(1 - after["exact_match"])
    assert after["token_accuracy"] > 0.95 and after["loss"] < 0.2
    sources, targets = zip(*data["test"])
    greedy = translate(model, sv, tv, sources)
    assert sum(o == t for o, t in zip(greedy, targets)) == round(after["exact_match"] * len(targets))
    beam = translate(model, sv, tv, sources[:20], beam_size=3)
    assert sum(o == t for o, t in zip(beam, targets)) >= 18
    # evaluation with a beam scores what beam decoding outputs
    short = {"train": data["train"], "test": data["test"][:20]}
    beamed = Seq2SeqTask(short, sv, tv, beam_size=3, length_penalty=0.6).evaluate(model, "test")
    outputs = translate(model, sv, tv, sources[:20], beam_size=3, length_penalty=0.6)
    assert beamed["exact_match"] == sum(o == t for o, t in zip(outputs, targets)) / 20


def _pairs():
    return [(list("ab"), list("ba")), (list("abc"), list("cba")), (list("c"), list("c"))]


def test_vocabularies_and_metrics_by_hand():
    sv, tv = build_vocabularies(_pairs())
    assert tv.tokens[:3] == ("<pad>", "<bos>", "<eos>") and sv.tokens[0] == "<pad>"
    assert set(tv.tokens[3:]) == {"a", "b", "c"} and sv.unk is None
    task = Seq2SeqTask({"train": _pairs(), "valid": _pairs()}, sv, tv, batch_size=2)
    assert task.num_batches() == 2
    src, lengths, tgt = task.batch([task.splits["train"][i] for i in (0, 1)])
    assert lengths.tolist() == [2, 3] and src.shape == (3, 2)
    assert tv.decode(tgt[:, 1]) == ["c", "b", "a", "<eos>"] and tv.decode(tgt[:, 0]) == ["b", "a", "<eos>", "<pad>"]
    torch.manual_seed(0)
    model = Seq2Seq.build(len(sv), len(tv), cell="gru", hidden_size=4)
    m = task.evaluate(model, "valid")
    logits, _ = model(*task.batch(task.splits["valid"]))
    _, _, tgt = task.batch(task.splits["valid"])
    real = tgt != 0
    expected = torch.nn.functional.cross_entropy(logits[real], tgt[real]).item()
    assert m["loss"] == pytest.approx(expected, rel=1e-6)
    assert m["token_accuracy"] == pytest.approx((logits.argmax(-1) == tgt)[real].float().mean().item())
    assert set(m) == {"loss", "token_accuracy", "exact_match", "error"} and task.metric == "error"


def test_train_step_loss_is_the_mean_over_real_tokens():
    sv, tv = build_vocabularies(_pairs())
    task = Seq2SeqTask({"train": _pairs()}, sv, tv, batch_size=3)
    torch.manual_seed(0)
    model = Seq2Seq.build(len(sv), len(tv), cell="gru", hidden_size=4)
    out = task.train_step(model, 1, 0, None)
    assert out.tokens == 3 + 4 + 2  # targets plus <eos>, no padding
    order = task.epoch_order(1)
    src, lengths, tgt = task.batch([task.splits["train"][i] for i in order])
    logits, _ = model(src, lengths, tgt)
    per_token = torch.nn.functional.cross_entropy(logits.flatten(0, 1), tgt.flatten(), reduction="none")
    assert out.loss.item() == pytest.approx((per_token[tgt.flatten() != 0].sum() / 9).item(), rel=1e-6)


def test_errors():
    sv, tv = build_vocabularies(_pairs())
    with pytest.raises(DataError, match="train"):
        Seq2SeqTask({"valid": _pairs()}, sv, tv)
    with pytest.raises(DataError, match="<bos>"):
        Seq2SeqTask({"train": _pairs()}, sv, sv)
    with pytest.raises(DataError, match="empty source"):
        Seq2SeqTask({"train": [([], ["a"])]}, sv, tv)
    with pytest.raises(DataError, match="example 1.*not in the vocabulary"):
        Seq2SeqTask({"train": [(["a"], ["a"]), (["z"], ["a"])]}, sv, tv)
    with pytest.raises(ConfigError, match="beam_size >= 1"):
        Seq2SeqTask({"train": _pairs()}, sv, tv, beam_size=0)
    task = Seq2SeqTask({"train": _pairs()}, sv, tv, teacher_forcing=SamplingSchedule.exponential(0.5))
    assert task.teacher_forcing_at(1, 1) == 0.5
    with pytest.raises(DataError, match="'test'"):
        task.evaluate(Seq2Seq.build(len(sv), len(tv), hidden_size=4), "test")
    with pytest.raises(ConfigError, match="ids"):
        task.train_step(Seq2Seq.build(len(sv), len(tv), hidden_size=4, bos_index=3), 1, 0, None)
    with pytest.raises(ConfigError):
        Seq2SeqTask({"train": _pairs()}, sv, tv, teacher_forcing=1.5)


def _train_losses(run_dir):
    rows = [json.loads(line) for line in open(run_dir / "metrics.jsonl")]
    train = [(r["step"], r["loss"]) for r in rows if r["kind"] == "train"]
    return train, [r["error"] for r in rows if r["kind"] == "valid"]


def test_resume_with_scheduled_sampling_is_exact(tmp_path):
    """Shuffling from (seed, epoch) and coins from the checkpointed global RNG: an interrupted and
    resumed run computes the same losses as an uninterrupted one."""
    data = transduction_data("sort", 120, 20, 0, seed=1, min_len=2, max_len=5)
    sv, tv = build_vocabularies(data["train"])
    cfg = dict(epochs=2, lr=1e-2, log_every=1)

    def setup(seed=0):
        torch.manual_seed(seed)
        model = Seq2Seq.build(len(sv), len(tv), cell="gru", hidden_size=8, attention=True, dropout=0.2)
        return model, Seq2SeqTask(data, sv, tv, batch_size=20, seed=3,
                                  teacher_forcing=SamplingSchedule.linear(0.05, epsilon=0.3))

    model, task = setup()
    Trainer(model, task, TrainConfig(**cfg), tmp_path / "a", progress=False, tensorboard=False).fit()
    reference = _train_losses(tmp_path / "a")
    model, task = setup()
    Trainer(model, task, TrainConfig(**cfg, max_steps=8), tmp_path / "b", progress=False, tensorboard=False).fit()
    torch.manual_seed(12345)  # disturb the global RNG: the checkpoint must restore it
    model, task = setup(seed=99)
    trainer = Trainer(model, task, TrainConfig(**cfg), tmp_path / "b", progress=False, tensorboard=False)
    trainer.restore()
    assert (trainer.epoch, trainer.index) == (2, 2)
    trainer.fit()
    assert _train_losses(tmp_path / "b") == reference


def test_attention_vs_length_example_runs(tmp_path):
    from tests.helpers import load_script
    example = load_script("examples/attention_vs_length.py")
    out = example.main(["--steps", "3", "--train", "200", "--test", "40", "--hidden", "8", "--max-len", "9",
                        "--plot", str(tmp_path / "p.png"), "--json", str(tmp_path / "r.json")])
    assert (tmp_path / "p.png").stat().st_size > 1000 and (tmp_path / "r.json").exists()
    assert out["ranges"] == [(2, 5), (6, 9)]
    assert sum(n for n, _ in out["by_length"]["attention"]) == 40
