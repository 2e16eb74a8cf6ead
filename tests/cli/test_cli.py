"""The command line, end to end, through subprocesses on tiny settings."""
import json
import os
import subprocess
import sys

import pytest

TINY = ["--hidden", "16", "--layers", "1", "--embedding", "8", "--bptt", "10", "--batch-size", "2",
        "--eval-batch-size", "1", "--no-progress"]
CORPUS = "def add(a, b):\n    return a + b\n\n" * 30


def rnnlab(*args, cwd=None, check=True):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "rnnlab", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"rnnlab {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def char_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("chars")
    (d / "train.txt").write_text(CORPUS)
    (d / "valid.txt").write_text(CORPUS[:300])
    (d / "test.txt").write_text(CORPUS[:200])
    return d


@pytest.fixture(scope="module")
def char_run(char_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "char"
    rnnlab("train", "--data", char_data, "--epochs", "2", "--out", out, *TINY)
    return out


def test_train_writes_a_complete_run(char_run):
    for name in ("config.json", "vocab.json", "best.safetensors", "metrics.jsonl", "loss.png",
                 "checkpoint/model.safetensors", "checkpoint/trainer.json", "checkpoint/trainer.safetensors"):
        assert (char_run / name).is_file(), name
    rows = [json.loads(line) for line in (char_run / "metrics.jsonl").read_text().splitlines()]
    assert [r["kind"] for r in rows].count("valid") == 2 and rows[-1]["kind"] == "test"
    config = json.loads((char_run / "config.json").read_text())
    assert config["options"]["hidden"] == 16 and config["model"]["cell"] == "lstm"


def test_generate_continues_the_prime(char_run):
    out = rnnlab("generate", char_run, "--prime", "def ", "--length", "40", "--seed", "1").stdout
    assert out.startswith("def ") and len(out) >= 44
    again = rnnlab("generate", char_run, "--prime", "def ", "--length", "40", "--seed", "1").stdout
    assert again == out
    greedy = rnnlab("generate", char_run, "--length", "20", "--temperature", "0", "--top-k", "3").stdout
    assert len(greedy) >= 20


def test_eval_prints_metrics(char_run, char_data):
    out = json.loads(rnnlab("eval", char_run, "--json").stdout)
    assert out["split"] == "test" and out["bpc"] > 0 and out["ppl"] > 1
    other = rnnlab("eval", char_run, "--data", char_data, "--split", "valid").stdout
    assert other.startswith("valid: loss")


def test_resume_continues_and_extends(char_data, tmp_path):
    out = tmp_path / "r"
    first = rnnlab("train", "--data", char_data, "--epochs", "2", "--max-steps", "5", "--log-every", "1", "--out", out, *TINY)
    assert "continue with: rnnlab resume" in first.stderr
    rnnlab("resume", out, "--no-progress")
    ref = tmp_path / "ref"
    rnnlab("train", "--data", char_data, "--epochs", "2", "--log-every", "1", "--out", ref, *TINY)

    def losses(run):
        return [(r["step"], r["loss"]) for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
                if r["kind"] in ("train", "valid")]
    assert losses(out) == losses(ref)
    rnnlab("resume", out, "--epochs", "3", "--no-progress")  # a finished run can be extended
    assert json.loads((out / "config.json").read_text())["options"]["epochs"] == 3


def test_word_level_ptb_layout(tmp_path):
    d = tmp_path / "ptb"
    d.mkdir()
    words = "the cat sat on the mat\nthe dog ate the <unk>\n" * 20
    for split in ("train", "valid", "test"):
        (d / f"ptb.{split}.txt").write_text(words)
    rnnlab("train", "--task", "lm-word", "--data", d, "--epochs", "1", "--out", tmp_path / "w", *TINY)
    vocab = json.loads((tmp_path / "w" / "vocab.json").read_text())
    assert "<eos>" in vocab["tokens"] and vocab["unk"] == "<unk>"
    out = rnnlab("generate", tmp_path / "w", "--prime", "the cat", "--length", "5", "--seed", "0").stdout
    assert out.startswith("the cat ")


def test_toml_config_and_preset(char_data, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('cell = "gru"\nhidden = 12\n[train]\nepochs = 1\nlr = 0.01\n')
    rnnlab("train", "--config", cfg, "--data", char_data, "--out", tmp_path / "t", "--layers", "1",
           "--bptt", "10", "--batch-size", "2", "--no-progress")
    options = json.loads((tmp_path / "t" / "config.json").read_text())["options"]
    assert (options["cell"], options["hidden"], options["epochs"], options["lr"]) == ("gru", 12, 1, 0.01)


def test_default_corpus_smoke(tmp_path):
    rnnlab("train", "--max-chars", "4000", "--epochs", "1", "--out", tmp_path / "d", *TINY)
    assert json.loads((tmp_path / "d" / "config.json").read_text())["data"]["source"] == "python-stdlib"


def _one_line_error(proc, pattern):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert pattern in lines[0], lines[0]


def test_user_errors_are_one_line(char_run, char_data, tmp_path):
    _one_line_error(rnnlab("train", "--data", tmp_path / "missing", "--out", tmp_path / "x", check=False),
                    "does not exist")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "train.txt").write_text("")
    (empty / "valid.txt").write_text("x")
    _one_line_error(rnnlab("train", "--data", empty, "--out", tmp_path / "x", check=False), "empty")
    _one_line_error(rnnlab("train", "--cell", "lsmt", "--out", tmp_path / "x", check=False), "unknown cell 'lsmt'")
    _one_line_error(rnnlab("train", "--data", char_data, "--out", char_run, check=False), "already holds a run")
    _one_line_error(rnnlab("resume", char_run, "--hidden", "32", check=False), "cannot resume")
    _one_line_error(rnnlab("generate", tmp_path / "nope", check=False), "run directory not found")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "config.json").write_text('{"name": "bert"}')
    _one_line_error(rnnlab("generate", foreign, check=False), "not written by rnnlab")
    _one_line_error(rnnlab("train", "--lr", "fast", "--out", tmp_path / "x", check=False), "not a valid float")


def test_corrupt_checkpoint_is_reported(char_run, tmp_path):
    import shutil
    broken = tmp_path / "broken"
    shutil.copytree(char_run, broken)
    (broken / "best.safetensors").write_bytes(b"not a safetensors file at all")
    _one_line_error(rnnlab("generate", broken, check=False), "corrupt")
    (broken / "checkpoint" / "trainer.json").write_text("{trunc")
    _one_line_error(rnnlab("resume", broken, check=False), "corrupt")


def test_help_and_python_m(tmp_path):
    out = rnnlab("--help").stdout
    for command in ("train", "resume", "generate", "eval", "gradients", "cells"):
        assert command in out
    assert "lstm-peephole" in rnnlab("cells").stdout
