"""`--context`, `--chars` and `--word-dropout` through the command line on the built-in flight corpus: train, tag an
unseen word, evaluate as training did, resume; and an ensemble of two seeds scored by `load_ensemble`."""
import json

import pytest
import torch

from rnnlab.cli.main import main
from rnnlab.recipes.registry import recipe_for
from rnnlab.recipes.run_dir import RunDir
from rnnlab.recipes.tagging import load_ensemble
from rnnlab.tagging.chars import CharWordFeatures
from rnnlab.tagging.context import ContextWindow
from rnnlab.tagging.ensemble import TaggerEnsemble
from rnnlab.tagging.word_dropout import WordDropout

SMALL = ["--task", "tagging", "--train-examples", "200", "--hidden", "16", "--embedding", "8", "--projection", "8",
         "--batch-size", "16", "--lr", "0.01", "--max-steps", "15", "--no-progress"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("inputs")
    for seed in (0, 1):
        flags = [*SMALL, "--context", "1", "--chars", "cnn", "--char-hidden", "8", "--crf", "true", "--word-dropout", "0.1",
                 "--seed", str(seed)]
        assert main(["train", *flags, "--out", str(root / f"s{seed}")]) == 0
    return root


def test_window_and_chars_train_tag_evaluate_and_resume(runs, capsys):
    run = runs / "s0"
    config = json.loads((run / "config.json").read_text())
    assert config["options"]["context"] == 1 and config["options"]["chars"] == "cnn"
    assert (run / "vocab-chars.json").is_file()
    trained = recipe_for("tagging").load(RunDir(run))
    assert isinstance(trained.model.features, ContextWindow)
    assert isinstance(trained.model.features.inner, CharWordFeatures)
    assert isinstance(trained.model.features.inner.inner, WordDropout) and trained.model.features.inner.inner.p == 0.1
    capsys.readouterr()
    assert main(["tag", str(run), "--format", "json", "i want to leave taipeiq"]) == 0
    out = json.loads(capsys.readouterr().out.splitlines()[0])
    assert len(out["tags"]) == 5
    assert main(["eval", str(run), "--split", "valid", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    valid = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    valid = [row for row in valid if row["kind"] == "valid"]
    assert len(valid) == 1 and metrics["slot_f1"] == pytest.approx(valid[0]["slot_f1"])  # the saved weights
    assert main(["resume", str(run), "--max-steps", "17", "--no-progress"]) == 0
    page = runs / "page.html"  # the explorer shows a character-CNN + window tagger
    assert main(["explore", str(run), "--examples", "3", "--export", str(page)]) == 0 and page.stat().st_size > 0


def test_an_ensemble_of_seeds_scores_through_the_recipe(runs):
    recipe = recipe_for("tagging")
    ensemble = load_ensemble([runs / "s0", runs / "s1"])
    assert isinstance(ensemble.model, TaggerEnsemble) and ensemble.model.crf is not None
    metrics = recipe.evaluate(ensemble, "valid")
    single = recipe.evaluate(recipe.load(RunDir(runs / "s0")), "valid")
    assert set(metrics) == set(single) and 0.0 <= metrics["slot_f1"] <= 1.0
    tags, _ = ensemble.predictor.predict("i would like to arrive taipei on november 2nd")
    assert len(tags) == 9


def test_bad_values_are_refused_before_any_work(tmp_path, capsys):
    for flags in (["--context", "-1"], ["--chars", "gru"], ["--char-hidden", "0"], ["--word-dropout", "1"]):
        assert main(["train", "--task", "tagging", *flags, "--out", str(tmp_path / "x")]) != 0
        assert not (tmp_path / "x").exists()
