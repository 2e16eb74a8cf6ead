"""Expected failures are one line at the CLI boundary (rnnlab.cli.main.expected_failure), with
`--debug` for the traceback; bugs keep theirs. In-process through main() on copies of the
fixture runs (no training needed)."""
import json
import shutil
from pathlib import Path

import pytest

from rnnlab.cli import main as cli_main
from rnnlab.cli.main import expected_failure, main
from rnnlab.errors import ConfigError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runs_v0_1"


@pytest.fixture
def lm_run(tmp_path):
    run = tmp_path / "lm"
    shutil.copytree(FIXTURES / "lm", run)
    return run


def one_line(capsys, args, *needles):
    capsys.readouterr()
    try:
        code = main(args)
    except SystemExit as e:  # argparse's own errors
        code = e.code
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in captured.err, captured.err
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert captured.out == ""  # nothing printed before the error
    return lines[0]


def test_config_that_is_binary_or_a_directory(tmp_path, capsys):
    binary = tmp_path / "bin.toml"
    binary.write_bytes(bytes(range(256)))
    one_line(capsys, ["train", "--config", str(binary), "--out", str(tmp_path / "r")], str(binary), "not UTF-8")
    one_line(capsys, ["train", "--config", str(tmp_path), "--out", str(tmp_path / "r")], "is a directory")
    assert not (tmp_path / "r").exists()


def test_seed_beyond_64_bits(tmp_path, capsys, lm_run):
    one_line(capsys, ["train", "--seed", str(2**64), "--out", str(tmp_path / "r")], "seed must fit in 64 bits")
    one_line(capsys, ["generate", str(lm_run), "--seed", str(-2**70)], "seed must fit in 64 bits")


def test_out_that_cannot_be_created(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    one_line(capsys, ["train", "--out", str(tmp_path / "file" / "run")], "--out", "is not a directory")


def test_allocation_failure_is_one_line(tmp_path, capsys, monkeypatch):
    """A --hidden too big for memory: torch's allocator raises a RuntimeError, shown as one line
    (simulated: a real one would depend on this machine's memory)."""
    from rnnlab.recipes.language_model import LanguageModelRecipe

    def too_big(self, options, vocabs=None):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't allocate memory: "
                           "you tried to allocate 144000000000000 bytes. Error code 12")
    monkeypatch.setattr(LanguageModelRecipe, "prepare", too_big)
    line = one_line(capsys, ["train", "--hidden", "3000000", "--out", str(tmp_path / "r")], "out of memory",
                    "144000000000000 bytes", "--hidden")
    assert "alloc_cpu" not in line
    with pytest.raises(RuntimeError, match="can't allocate"):  # --debug: the traceback
        main(["train", "--hidden", "3000000", "--out", str(tmp_path / "r"), "--debug"])


def test_memory_error_and_os_error_are_expected_but_bugs_are_not():
    assert "out of memory" in expected_failure(MemoryError())
    assert expected_failure(PermissionError(13, "Permission denied", "/x/y")) == "/x/y: Permission denied"
    assert expected_failure(ConfigError("lr must be > 0")) == "lr must be > 0"
    assert "not UTF-8" in expected_failure(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"))
    for bug in (KeyError("x"), AttributeError("y"), RuntimeError("mat1 and mat2 shapes cannot be multiplied"),
                ZeroDivisionError()):
        assert expected_failure(bug) is None


def test_a_bug_keeps_its_traceback(tmp_path, monkeypatch):
    from rnnlab.recipes.language_model import LanguageModelRecipe

    def buggy(self, options, vocabs=None):
        raise KeyError("a bug")
    monkeypatch.setattr(LanguageModelRecipe, "prepare", buggy)
    with pytest.raises(KeyError):
        main(["train", "--out", str(tmp_path / "r")])


def test_generate_temperature_nan(capsys, lm_run):
    one_line(capsys, ["generate", str(lm_run), "--temperature", "nan"], "temperature must be a finite")


def test_vocabulary_one_token_short_is_refused_before_output(capsys, lm_run):
    vocab = json.loads((lm_run / "vocab.json").read_text())
    vocab["tokens"] = vocab["tokens"][:-1]
    (lm_run / "vocab.json").write_text(json.dumps(vocab))
    one_line(capsys, ["generate", str(lm_run), "--length", "50"], "vocab.json has 91 entries", "built for 92")


@pytest.mark.parametrize("name, files", [("tagging", ("words", "tags", "intents", "trigrams")),
                                         ("seq2seq", ("source", "target")), ("classify", ("tokens", "labels"))])
def test_every_recipe_checks_its_vocabularies(tmp_path, capsys, name, files):
    for vocab in files:
        run = tmp_path / f"{name}-{vocab}"
        shutil.copytree(FIXTURES / name, run)
        path = run / f"vocab-{vocab}.json"
        data = json.loads(path.read_text())
        data["tokens"] = data["tokens"][:-1]
        path.write_text(json.dumps(data))
        one_line(capsys, ["eval", str(run)], f"vocab-{vocab}.json has", "was built for")


@pytest.mark.parametrize("command", ["resume", "generate", "eval"])
def test_config_json_option_of_the_wrong_type(capsys, lm_run, command):
    config = json.loads((lm_run / "config.json").read_text())
    config["options"]["hidden"] = "8"
    (lm_run / "config.json").write_text(json.dumps(config))
    one_line(capsys, [command, str(lm_run)], "config.json is corrupt", "hidden must be an int")


def test_eval_batch_size_zero_is_an_error(capsys, lm_run):
    one_line(capsys, ["eval", str(lm_run), "--batch-size", "0"], "--batch-size must be >= 1")


def test_debug_shows_the_traceback_of_expected_failures(tmp_path):
    with pytest.raises(ConfigError, match="seed must fit"):
        main(["--debug", "train", "--seed", str(2**64), "--out", str(tmp_path / "r")])


def test_every_command_goes_through_the_boundary():
    """main() is the boundary: every command's run() is called inside its handler (the command
    modules raise; none prints errors itself)."""
    for name in cli_main.COMMANDS:
        source = (Path(cli_main.__file__).parent / f"{name}.py").read_text()
        assert "sys.exit(" not in source and "traceback" not in source, name
