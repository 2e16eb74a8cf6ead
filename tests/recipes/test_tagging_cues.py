"""Issue 16, item 1: `rnnlab train --task tagging` with its defaults learns the cue, not the
phrasing — the seed lecture's pair ("i would like to arrive / leave taipei on november 2nd") and
every other request phrasing with both cues give taipei the cue's role."""
import pytest
import torch

from rnnlab.cli.main import main
from rnnlab.datasets.flights import PHRASINGS
from rnnlab.recipes.registry import recipe_for
from rnnlab.recipes.run_dir import RunDir


def tag(run, sentences):
    trained = recipe_for("tagging").load(RunDir(run))
    return [tags for tags, _ in trained.predictor.predict_many([s.split() for s in sentences])]


@pytest.mark.parametrize("extra", [[], ["--crf", "true"]], ids=["softmax", "crf"])
def test_default_tagger_gives_the_city_the_cues_role_for_every_phrasing(tmp_path, extra):
    torch.set_num_threads(1)
    assert main(["train", "--task", "tagging", *extra, "--no-progress", "--out", str(tmp_path / "run")]) == 0
    sentences = [f"{p} {cue} taipei on november 2nd" for p in PHRASINGS for cue in ("arrive", "leave")]
    for sentence, tags in zip(sentences, tag(tmp_path / "run", sentences)):
        role = "toloc" if " arrive " in sentence else "fromloc"
        assert tags[sentence.split().index("taipei")] == f"B-{role}.city_name", (sentence, tags)


def test_runs_saved_before_corpus_versions_regenerate_version_1():
    recipe = recipe_for("tagging")
    assert recipe.saved_options({"task": "tagging"}).flights_version == 1
    assert recipe.saved_options({"task": "tagging", "flights_version": 2}).flights_version == 2
    assert recipe.Options().flights_version == 2  # new runs: the corpus without the shortcut
