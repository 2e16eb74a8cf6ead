"""The digits task end to end through the CLI on the built-in generated tones: train (TDNN),
classify WAV files (the recipe's command and `rnnlab predict`), eval, and errors."""
import json

import pytest
import torch

from rnnlab.cli.main import main
from tests.cli.test_cli_tasks import run_cli as cli
from rnnlab.data.audio import write_wav
from rnnlab.datasets.tones import RATE, synthesise


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("digits") / "run"
    threads = torch.get_num_threads()  # the autouse one-thread fixture is per test, this runs before it
    torch.set_num_threads(1)
    code = main(["train", "--task", "digits", "--takes", "13", "--epochs", "4", "--lr", "0.01", "--hidden", "16",
                 "--layers", "2", "--context=-2,-1,0,1,2;-2,0,2", "--stride", "2", "--out", str(out),
                 "--no-progress"])
    torch.set_num_threads(threads)
    assert code == 0
    return out


def test_trains_and_scores_well_above_chance(run):
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    test = [r for r in rows if r["kind"] == "test"][-1]
    assert test["accuracy"] > 0.5  # 10 classes: chance is 0.1
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["encoder"] == "tdnn" and config["data"]["split"] == "own"


def test_classify_wav_files_and_eval(run, tmp_path, capsys):
    paths = []
    for digit, speaker in (("4", "ann"), ("9", "cyd")):
        paths.append(tmp_path / f"{digit}.wav")
        write_wav(paths[-1], synthesise(digit, speaker, 99), RATE)
    code, out, err = cli(capsys, "classify-audio", run, "--json", *paths)
    assert code == 0, err
    answers = [json.loads(line) for line in out.splitlines()]
    assert [a["file"] for a in answers] == [str(p) for p in paths]
    assert all(abs(sum(a["probabilities"].values()) - 1) < 1e-6 for a in answers)
    code, out2, _ = cli(capsys, "predict", run, *paths)
    assert [line.split("\t")[0] for line in out2.splitlines()] == [a["label"] for a in answers]
    code, out, _ = cli(capsys, "eval", run, "--json")
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert json.loads(out)["accuracy"] == pytest.approx([r for r in rows if r["kind"] == "test"][-1]["accuracy"])


def test_errors_are_one_line(run, tmp_path, capsys):
    code, _, err = cli(capsys, "classify-audio", run, tmp_path / "missing.wav")
    assert code == 2 and "no such WAV file" in err
    code, _, err = cli(capsys, "train", "--task", "digits", "--split", "theo", "--out", tmp_path / "x")
    assert code == 2 and "split must be 'own' or 'speaker:NAME'" in err
    code, _, err = cli(capsys, "train", "--task", "digits", "--context", "a;b", "--out", tmp_path / "x")
    assert code == 2 and "context must be offsets" in err


def test_classify_command_takes_a_digits_run_too(run, tmp_path, capsys):
    """`rnnlab classify RUN x.wav` (the issue's spelling) is served by the run's recipe through the
    registry (`shared_commands`), with the digits flags; `classify-audio` stays as it was."""
    paths = []
    for digit, speaker in (("2", "ann"), ("7", "bob")):
        paths.append(tmp_path / f"{digit}.wav")
        write_wav(paths[-1], synthesise(digit, speaker, 98), RATE)
    code, shared, err = cli(capsys, "classify", run, "--json", *paths)
    assert code == 0, err
    code, own, err = cli(capsys, "classify-audio", run, "--json", *paths)
    assert code == 0, err
    assert shared == own and len(shared.splitlines()) == 2
    code, out, err = cli(capsys, "classify", run, "--all", paths[0])
    assert code == 0 and len(out.split("\t")[1].split("  ")) == 10  # every label's probability
    with pytest.raises(SystemExit):
        main(["classify", "-h"])
    out = capsys.readouterr().out
    assert "texts" in out and "WAV" in out  # the help names both kinds of run


def test_shared_command_refuses_other_runs_naming_what_it_takes(run, capsys):
    from rnnlab.recipes.registry import serving
    assert [r.name for r in serving("classify")][:1] == ["classify"] and "digits" in [r.name for r in serving("classify")]
    assert serving("classify-audio")[0].name == "digits" and serving("no-such-command") == []
    code, _, err = cli(capsys, "tag", run, "x")
    assert code == 2 and "not a" in err
