"""The built-in corpus is deterministic, split by file, cappable, and excludes tests."""
import pytest

from rnnlab.data import corpus_info, split_of, stdlib_corpus, stdlib_files, stdlib_root
from rnnlab.data.stdlib_corpus import EXCLUDED_DIRS
from rnnlab.errors import ConfigError, DataNotFoundError


def test_file_list_excludes_tests_and_site_packages():
    files = stdlib_files()
    assert files == sorted(files) and "os.py" in files and "json/decoder.py" in files
    for f in files:
        parts = f.split("/")[:-1]
        assert not any(p in EXCLUDED_DIRS or p.startswith(".") for p in parts), f
        assert f.endswith(".py")
    assert not any(f.startswith("test/") for f in files)


def test_split_of_is_a_fixed_hash_of_the_path():
    assert split_of("os.py") == split_of("os.py")
    splits = [split_of(f) for f in stdlib_files()]
    assert set(splits) == {"train", "valid", "test"}
    assert splits.count("train") > 0.8 * len(splits)


def test_each_file_is_in_exactly_one_split():
    corpus, checked = stdlib_corpus(), {"train": 0, "valid": 0, "test": 0}
    for f in stdlib_files():
        split = split_of(f)
        if checked[split] == 3:
            continue
        text = (stdlib_root() / f).read_text(encoding="utf-8")
        if len(text) < 2000:  # short files (a license header, say) may legitimately recur
            continue
        assert [s for s in corpus if text in corpus[s]] == [split], f
        checked[split] += 1
    assert checked == {"train": 3, "valid": 3, "test": 3}


def test_corpus_is_deterministic_and_cap_takes_a_prefix():
    full = stdlib_corpus()
    assert stdlib_corpus() == full
    capped = stdlib_corpus(max_chars=1000)
    assert {s: len(t) for s, t in capped.items()} == {"train": 1000, "valid": 100, "test": 100}
    assert all(full[s].startswith(capped[s]) for s in full)
    assert all(len(t) == 1 for s, t in stdlib_corpus(max_chars=5).items() if s != "train")
    with pytest.raises(ConfigError, match="max_chars"):
        stdlib_corpus(max_chars=0)


def test_corpus_info_matches_the_corpus():
    info = corpus_info()
    full = stdlib_corpus()
    assert info["chars"] == {s: len(t) for s, t in full.items()}
    assert sum(info["files"].values()) <= len(stdlib_files())
    assert info["python"] and info["root"] == str(stdlib_root())
    assert corpus_info(max_chars=1000)["files"]["train"] >= 1


def test_missing_stdlib_suggests_data(monkeypatch, tmp_path):
    monkeypatch.setattr("sysconfig.get_paths", lambda: {"stdlib": str(tmp_path)})
    with pytest.raises(DataNotFoundError, match="--data DIR"):
        stdlib_root()
