"""Each task's options: what `rnnlab train -h` lists, how options resolve and are validated, and how
a run's saved options are read back — through the built-in recipes and the CLI's main()."""
import json
import shutil
from pathlib import Path

import pytest

from rnnlab.cli.main import main
from rnnlab.errors import ConfigError
from rnnlab.recipes import ExploreRequest, RunDir, recipe_for
from rnnlab.recipes.options import as_dict

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runs_v0_1"


def help_of(capsys, *args) -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit:
        main([*args, "-h"])
    assert exit.value.code == 0
    return capsys.readouterr().out


def flags(text: str) -> set[str]:
    return {word.strip("[],") for word in text.split() if word.startswith(("--", "[--"))}


@pytest.mark.parametrize("task, own, foreign", [
    (None, {"--bptt", "--max-chars", "--tie-weights"}, {"--beam", "--trigrams", "--pool", "--bidirectional"}),
    ("counting", {"--bptt", "--max-chars"}, {"--beam", "--dataset"}),
    ("tagging", {"--trigrams", "--jordan-feedback", "--bidirectional", "--pool"}, {"--bptt", "--beam", "--level"}),
    ("classify", {"--pool", "--level", "--max-len", "--max-vocab"}, {"--bptt", "--trigrams", "--beam"}),
    ("seq2seq", {"--beam", "--tf-k", "--attention", "--level"}, {"--bptt", "--pool", "--min-count", "--max-vocab"}),
])
def test_train_help_lists_the_tasks_options(capsys, task, own, foreign):
    text = help_of(capsys, "train", *(["--task", task] if task else []))
    listed = flags(text)
    shared = {"--task", "--lr", "--epochs", "--max-steps", "--batch-size", "--seed", "--config", "--preset"}
    assert shared | own <= listed and not listed & foreign, (listed & foreign, (shared | own) - listed)
    assert "rnnlab train --task X -h" in " ".join(text.split())


def test_help_shows_the_tasks_effective_defaults(capsys):
    text = " ".join(help_of(capsys, "train", "--task", "tagging").split())
    assert "--hidden HIDDEN units per layer (default 64)" in text  # the tagging preset's, not the field's 256
    text = " ".join(help_of(capsys, "train", "--preset", "classify").split())
    assert "--pool" in text and "--hidden HIDDEN units per layer (default 64)" in text  # the preset picks the task


def test_resolution_order():
    tagging = recipe_for("tagging")
    assert tagging.options({}).hidden == 64  # the task's preset over the field's default (256)
    assert tagging.options({"hidden": 5}).hidden == 5
    assert recipe_for("lm-char").options({}).hidden == 256 and recipe_for("counting").options({"task": "counting"}).hidden == 32


@pytest.mark.parametrize("args, message", [
    (["--lr", "0"], "lr must be > 0"), (["--lr", "-1"], "lr must be > 0"), (["--lr", "nan"], "lr must be a finite"),
    (["--eval-batch-size", "0"], "eval_batch_size must be >= 1"), (["--task", "seq2seq", "--beam", "0"], "beam must be >= 1"),
    (["--dropout", "inf"], "dropout must be a finite"), (["--task", "tagging", "--bptt", "5"], "unrecognized arguments"),
    (["--optimizer", "adam", "--momentum", "0.9"], "momentum applies to sgd only"),
    (["--bptt", "10", "--bptt-back", "5"], "bptt_back must be >= bptt"), (["--task", "nope"], "unknown task 'nope'"),
])
def test_bad_options_fail_before_anything_is_made(tmp_path, capsys, args, message):
    capsys.readouterr()
    try:
        code = main(["train", *args, "--out", str(tmp_path / "run")])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    err = capsys.readouterr().err
    assert code == 2 and message in err, err
    assert not (tmp_path / "run").exists()


def test_config_file_and_preset_must_fit_the_task(tmp_path, capsys):
    toml = tmp_path / "c.toml"
    toml.write_text('task = "tagging"\nbptt = 5\n')
    assert main(["train", "--config", str(toml), "--out", str(tmp_path / "r")]) == 2
    assert "unknown option(s) for task tagging: bptt" in capsys.readouterr().err
    assert main(["train", "--task", "tagging", "--preset", "memory", "--out", str(tmp_path / "r")]) == 2
    assert "preset memory: unknown option(s) for task tagging" in capsys.readouterr().err


def test_old_configs_are_read_leniently():
    lm = recipe_for("lm-char")
    saved = json.loads((FIXTURES / "lm" / "config.json").read_text())["options"]
    assert "trigrams" in saved and "beam" in saved  # rnnlab 0.1 stored every task's options
    del saved["bptt_back"]
    options = lm.saved_options(saved)
    assert options.bptt_back is None and options.hidden == 8 and not hasattr(options, "trigrams")
    assert set(as_dict(options)) < set(saved) | {"bptt_back", "device", "amp", "learning", "update_every",
                                                     "online_reset", "decay_every"}  # options added since 0.1


def test_predict_is_each_runs_own_command(tmp_path, capsys):
    runs = tmp_path / "runs"
    shutil.copytree(FIXTURES, runs)
    for own, generic in ((["classify", runs / "classify", "--json", "(()())"], ["predict", runs / "classify", "--json", "(()())"]),
                         (["translate", runs / "seq2seq", "--beam", "2", "dec 25 2020"],
                          ["predict", runs / "seq2seq", "--beam", "2", "dec 25 2020"]),
                         (["generate", runs / "lm", "--prime", "def ", "--length", "30", "--seed", "3"],
                          ["predict", runs / "lm", "def ", "--length", "30", "--seed", "3"])):
        capsys.readouterr()
        assert main([str(a) for a in own]) == 0
        expected = capsys.readouterr().out
        assert main([str(a) for a in generic]) == 0
        assert capsys.readouterr().out == expected and expected.strip()


def test_explore_dataset_and_its_old_spelling(tmp_path, capsys):
    run = tmp_path / "counting"
    shutil.copytree(FIXTURES / "counting", run)
    pages = []
    for flag in ("--dataset", "--task"):
        page = tmp_path / f"{flag[2:]}.html"
        assert main(["explore", str(run), flag, "counting", "--examples", "2", "--export", str(page)]) == 0
        pages.append(page.read_text(encoding="utf-8"))
    assert pages[0] == pages[1] and "counting 2" in pages[0]
    trained = recipe_for("counting").load(RunDir(run))
    with pytest.raises(ConfigError, match="unknown synthetic task 'nope'"):
        trained.recipe.explorer(trained, ExploreRequest(dataset="nope"))
