"""The command line for tagging, classification and encoder–decoder runs, in process on tiny settings:
train → run directory → tag / classify / translate / eval / resume, and the errors users make."""
import json

import pytest
import torch

from rnnlab.cli.main import main

QUIET = ["--no-progress", "--log-every", "5"]
TAGGER = ["--task", "tagging", "--train-examples", "400", "--hidden", "32", "--embedding", "16", "--projection", "16",
          "--batch-size", "8", "--lr", "0.01", "--epochs", "4", *QUIET]
SENTENCE = "i would like to arrive taipei on november 2nd"


def run_cli(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def tagger_run(tmp_path_factory):
    torch.set_num_threads(1)  # module fixtures run before the per-test one-thread fixture
    out = tmp_path_factory.mktemp("runs") / "tagger"
    assert main(["train", *TAGGER, "--out", str(out)]) == 0
    return out


def test_tagging_run_directory_and_tag_command(tagger_run, capsys):
    for name in ("config.json", "vocab-words.json", "vocab-trigrams.json", "vocab-tags.json", "vocab-intents.json",
                 "best.safetensors", "metrics.jsonl"):
        assert (tagger_run / name).is_file(), name
    code, out, err = run_cli(capsys, "tag", tagger_run, "--format", "pairs", SENTENCE, "i want to leave taipei in the morning",
                             "i want zyzzyva")
    assert code == 0
    lines = out.splitlines()
    # the same city, destination after "arrive", departure after "leave": only context tells
    assert "arrive/O taipei/B-toloc.city_name" in lines[0] and "november/B-arrive_date.month_name" in lines[0]
    assert lines[1] == "intent: atis_flight"
    assert "leave/O taipei/B-fromloc.city_name" in lines[2]
    assert "zyzzyva" in err  # an unseen word is named on stderr
    code, out, _ = run_cli(capsys, "tag", tagger_run, SENTENCE)
    assert out.splitlines()[5].split() == ["taipei", "B-toloc.city_name"]  # columns: word, tag


def test_tag_reads_stdin_and_writes_json(tagger_run, capsys, monkeypatch):
    import io
    monkeypatch.setattr("sys.stdin", io.StringIO("from boston to denver\n\nleave denver\n"))
    code, out, _ = run_cli(capsys, "tag", tagger_run, "--format", "json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["words"] for r in rows] == [["from", "boston", "to", "denver"], ["leave", "denver"]]
    assert rows[0]["tags"] == ["O", "B-fromloc.city_name", "O", "B-toloc.city_name"] and rows[0]["intent"]


def test_tagging_eval_matches_the_training_runs_test_row(tagger_run, capsys):
    code, out, _ = run_cli(capsys, "eval", tagger_run, "--json")
    metrics = json.loads(out)
    test_row = [json.loads(line) for line in (tagger_run / "metrics.jsonl").read_text().splitlines()][-1]
    assert test_row["kind"] == "test" and metrics["slot_f1"] == pytest.approx(test_row["slot_f1"])
    assert metrics["slot_f1"] > 0.95 and metrics["intent_accuracy"] > 0.95


@pytest.mark.parametrize("extra", [[], ["--crf", "true"]], ids=["softmax", "crf"])
def test_tagging_resume_equals_an_uninterrupted_run(tmp_path, extra):
    args = ["train", "--task", "tagging", "--train-examples", "200", "--hidden", "8", "--embedding", "8",
            "--projection", "8", "--batch-size", "16", "--epochs", "2", "--dropout", "0.3", "--no-progress",
            "--log-every", "1", *extra]
    assert main([*args, "--out", str(tmp_path / "ref")]) == 0
    assert main([*args, "--max-steps", "7", "--out", str(tmp_path / "cut")]) == 0
    assert main(["resume", str(tmp_path / "cut"), "--no-progress"]) == 0

    def rows(run):
        return [(r["kind"], r["step"], r["loss"]) for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())]
    assert rows(tmp_path / "cut") == rows(tmp_path / "ref")


def write_tagged_dirs(root):
    """The same tiny corpus in the three layouts `--data` reads."""
    sents = [("fly from boston to denver", "O O B-from O B-to", "flight"),
             ("fly from denver to boston", "O O B-from O B-to", "flight"),
             ("fares to new york", "O O B-to I-to", "fare")] * 10
    atis = root / "atis"
    for split in ("train", "valid", "test"):
        (atis / split).mkdir(parents=True)
        (atis / split / "seq.in").write_text("\n".join(w for w, _, _ in sents) + "\n")
        (atis / split / "seq.out").write_text("\n".join(t for _, t, _ in sents) + "\n")
        (atis / split / "label").write_text("\n".join(i for _, _, i in sents) + "\n")
    tab, conll = root / "tab", root / "conll"
    tab.mkdir()
    conll.mkdir()
    for split in ("train", "valid"):
        (tab / f"{split}.tsv").write_text("".join(f"{w}\t{t}\t{i}\n" for w, t, i in sents))
        (conll / f"{split}.txt").write_text("\n".join("".join(f"{a} {b}\n" for a, b in zip(w.split(), t.split()))
                                                      for w, t, _ in sents))
    return atis, tab, conll


def test_tagging_reads_atis_tab_and_conll_layouts(tmp_path, capsys):
    atis, tab, conll = write_tagged_dirs(tmp_path)
    small = ["--task", "tagging", "--hidden", "8", "--embedding", "8", "--epochs", "1", "--no-progress"]
    for data, layout in ((atis, "atis"), (tab, "tab"), (conll, "conll")):
        out = tmp_path / f"run-{layout}"
        code, _, err = run_cli(capsys, "train", *small, "--data", data, "--out", out)
        assert code == 0, err
        config = json.loads((out / "config.json").read_text())
        assert config["data"]["layout"] == layout
        assert config["data"]["sentences"]["train"] == 30
        assert (out / "vocab-intents.json").is_file() == (layout != "conll")


def test_tagging_data_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "train.txt").write_text("fly O\n")
    code, _, err = run_cli(capsys, "train", "--task", "tagging", "--data", tmp_path / "d", "--out", tmp_path / "r")
    assert code == 2 and "no valid data" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(capsys, "train", "--task", "tagging", "--dataset", "nope", "--out", tmp_path / "r")
    assert code == 2 and "dataset must be one of: flights" in err
    code, _, err = run_cli(capsys, "train", "--task", "tagging", "--jordan-feedback", "yes", "--out", tmp_path / "r")
    assert code == 2 and "jordan_feedback must be one of" in err


def test_commands_refuse_runs_of_another_kind(tagger_run, capsys):
    code, _, err = run_cli(capsys, "generate", tagger_run)
    assert code == 2 and "'tagging' run, not a language model" in err
    code, _, err = run_cli(capsys, "translate", tagger_run, "x")
    assert code == 2 and "not a seq2seq run" in err
    code, _, err = run_cli(capsys, "classify", tagger_run, "x")
    assert code == 2 and "not a classify run" in err


def test_classify_built_in_and_files(tmp_path, capsys):
    out = tmp_path / "parity"
    code, _, err = run_cli(capsys, "train", "--task", "classify", "--dataset", "parity", "--max-len", "6",
                           "--train-examples", "24", "--epochs", "1", "--hidden", "8", *QUIET, "--out", out)
    assert code == 0, err
    assert (out / "vocab-tokens.json").is_file() and (out / "vocab-labels.json").is_file()
    code, text, _ = run_cli(capsys, "classify", out, "0110", "1", "--json")
    rows = [json.loads(line) for line in text.splitlines()]
    assert [r["text"] for r in rows] == ["0110", "1"]
    assert all(r["label"] in ("even", "odd") and sum(r["probabilities"].values()) == pytest.approx(1) for r in rows)

    d = tmp_path / "reviews"
    d.mkdir()
    lines = "pos\ta fine film\nneg\ta dull film\npos\tfine acting\nneg\tdull plot\n" * 5
    (d / "train.tsv").write_text(lines)
    (d / "valid.tsv").write_text(lines)
    code, _, err = run_cli(capsys, "train", "--task", "classify", "--data", d, "--epochs", "15", "--hidden", "8",
                           "--lr", "0.03", *QUIET, "--out", tmp_path / "rev")
    assert code == 0, err
    code, text, _ = run_cli(capsys, "classify", tmp_path / "rev", "a fine plot", "dull dull film")
    assert [line.split("\t")[0] for line in text.splitlines()] == ["pos", "neg"]
    code, text, _ = run_cli(capsys, "eval", tmp_path / "rev", "--split", "valid")
    assert text.startswith("valid: accuracy 100.00%")


def test_seq2seq_built_in_and_files(tmp_path, capsys):
    out = tmp_path / "rev"
    code, _, err = run_cli(capsys, "train", "--task", "seq2seq", "--dataset", "reverse", "--max-len", "3",
                           "--train-examples", "64", "--epochs", "1", "--hidden", "8", "--embedding", "8", *QUIET,
                           "--out", out)
    assert code == 0, err
    for beam in ("1", "3"):
        code, text, _ = run_cli(capsys, "translate", out, "abc", "zz", "--beam", beam, "--json")
        rows = [json.loads(line) for line in text.splitlines()]
        assert [r["source"] for r in rows] == ["abc", "zz"] and all(isinstance(r["output"], str) for r in rows)
    code, _, err = run_cli(capsys, "translate", out, "ABC")  # characters the model never saw
    assert code == 2 and "never saw" in err

    d = tmp_path / "words"
    d.mkdir()
    pairs = "one two\t1 2\ntwo one\t2 1\none one\t1 1\n" * 8
    (d / "train.txt").write_text(pairs)
    (d / "valid.txt").write_text(pairs)
    code, _, err = run_cli(capsys, "train", "--task", "seq2seq", "--data", d, "--level", "word", "--epochs", "30",
                           "--hidden", "16", "--embedding", "8", "--lr", "0.02", "--batch-size", "8", *QUIET,
                           "--out", tmp_path / "w")
    assert code == 0, err
    code, text, _ = run_cli(capsys, "translate", tmp_path / "w", "two one", "one two", "--beam", "2")
    assert text.splitlines() == ["2 1", "1 2"]
    code, text, _ = run_cli(capsys, "eval", tmp_path / "w", "--split", "valid", "--json")
    assert json.loads(text)["exact_match"] == 1.0
