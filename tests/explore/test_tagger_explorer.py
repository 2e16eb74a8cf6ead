"""The explorer on a sequence tagger: its examples carry gold and predicted tags (and intents), typed
text is tagged, and `rnnlab explore` serves or exports a tagging run and refuses other kinds of run."""
import json
import re
import shutil

import pytest

from rnnlab.cli.main import main as rnnlab_main
from tests.explore.conftest import make_tagger_explorer, serving
from tests.explore.test_http import get, post

FORWARD, BACKWARD = "encoder.layers.0.forward_layer", "encoder.layers.0.backward_layer"


@pytest.fixture(scope="module")
def tagger(tagger_run):
    return make_tagger_explorer(tagger_run)


def test_examples_carry_gold_tags_and_what_the_slot_filler_predicts(tagger):
    explorer, filler, valid = tagger
    predicted = filler.predict_many([ex.words for ex in valid])
    examples = [e for e in explorer.examples() if not e.typed]
    assert [e.name for e in examples] == [f"valid {k + 1}" for k in range(len(valid))]
    for e, ex, (tags, intent) in zip(examples, valid, predicted, strict=True):
        page = explorer.example(e.id, keys=[f"{FORWARD}/c"])
        assert page["tokens"] == ex.words and page["targets"] == ex.tags
        assert page["labels"] == tags
        # the run decodes the best valid BIO sequence: no I-X unless the word before is B-X or I-X
        assert not any(t.startswith("I-") and (k == 0 or tags[k - 1][2:] != t[2:]) for k, t in enumerate(tags))
        assert len(page["predictions"][0]) == 5
        assert page["intent"]["predicted"] == intent and page["intent"]["target"] == ex.intent
        assert len(page["values"][f"{FORWARD}/c"]) == len(ex.words)


def test_info_says_tagger_and_lists_both_directions(tagger):
    explorer, _, _ = tagger
    info = json.loads(json.dumps(explorer.info()))
    assert info["kind"] == "tagger" and info["level"] == "word"
    assert info["layers"] == [FORWARD, BACKWARD] and info["units"][f"{BACKWARD}/h"] == 8
    assert info["kinds"][FORWARD] == ["h", "c", "i", "f", "g", "o"]
    assert explorer.saturation["kinds"]["f"]  # gate saturation of both halves


def test_typed_text_is_tagged_without_gold_tags(tagger_run):
    explorer, filler, _ = make_tagger_explorer(tagger_run, n=2)
    text = "show me flights from boston to  zzyzx\n"
    with serving(explorer) as url:
        status, body, _ = get(url + "api/info")
        assert status == 200 and json.loads(body)["kind"] == "tagger"
        status, out = post(url + "api/analyze", {"text": text, "keys": [f"{FORWARD}/h"]})
    assert status == 200 and out["typed"]
    words = text.split()
    tags, intent = filler.predict(words)
    assert out["tokens"] == words and out["targets"] is None
    assert out["labels"] == tags and out["intent"] == {**out["intent"], "predicted": intent, "target": None}
    assert out["unknown"] == ["zzyzx"]  # read as <unk>, and said so
    assert len(out["values"][f"{FORWARD}/h"]) == len(words)


def page_data(path) -> dict:
    page = path.read_text(encoding="utf-8")
    return json.loads(re.search(r'id="rnnlab-data">(.*?)</script>', page, re.S).group(1))


def test_cli_exports_a_tagging_run(tagger_run, tagger, tmp_path):
    _, filler, valid = tagger
    out = tmp_path / "tagger.html"
    assert rnnlab_main(["explore", str(tagger_run), "--examples", "4", "--export", str(out)]) == 0
    data = page_data(out)
    assert data["info"]["kind"] == "tagger"
    assert re.fullmatch(r"1 × 8 bidirectional lstm tagger, \d+ tags, \d+ intents", data["info"]["about"]["model"])
    examples = list(data["examples"].values())
    assert [e["targets"] for e in examples] == [ex.tags for ex in valid[:4]]  # the run's validation sentences
    assert [e["labels"] for e in examples] == [tags for tags, _ in filler.predict_many([ex.words for ex in valid[:4]])]
    assert [e["intent"]["target"] for e in examples] == [ex.intent for ex in valid[:4]]

    text = tmp_path / "sentences.txt"
    text.write_text("list flights to denver\n\n  cheapest fare from boston  \n")
    assert rnnlab_main(["explore", str(tagger_run), "--text", str(text), "--export", str(out)]) == 0
    examples = list(page_data(out)["examples"].values())
    assert [e["tokens"] for e in examples] == [["list", "flights", "to", "denver"], ["cheapest", "fare", "from", "boston"]]
    assert [e["name"] for e in examples] == ["text 1", "text 2"] and all(e["targets"] is None for e in examples)


@pytest.mark.parametrize("task", ["classify", "seq2seq"])
def test_cli_refuses_other_kinds_of_run(tagger_run, tmp_path, capsys, task):
    """Only the config is read to tell the kind of run, so a copy of the tagger's with another task will do."""
    run = tmp_path / f"{task}-run"
    shutil.copytree(tagger_run, run)
    config = json.loads((run / "config.json").read_text())
    config["options"]["task"] = task
    (run / "config.json").write_text(json.dumps(config))
    assert rnnlab_main(["explore", str(run), "--export", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "supports language models and taggers" in err and f"'{task}' run" in err
    assert not (tmp_path / "x.html").exists()


def test_cli_task_is_for_language_models_only(tagger_run, tmp_path, capsys):
    assert rnnlab_main(["explore", str(tagger_run), "--task", "counting", "--export", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--task" in err and "tagging run" in err
