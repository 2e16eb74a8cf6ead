"""Fixtures for the explorer's server and page: a tiny trained character LM and a live server.

The model is a 2 × 16 LSTM trained for a few seconds on the `counting` task (aaaXbbb), enough for
units to differ visibly; everything is session-scoped so it is trained and recorded once. The
tagger (`tagger_run`) is a 1 × 8 bidirectional LSTM trained for one epoch on 200 sentences of the
built-in flight corpus: its tags are mostly wrong, which is what the page must mark.
"""
import contextlib
import threading

import pytest

from rnnlab.cli.main import main as rnnlab_main
from rnnlab.datasets.synthetic import synthetic_corpus, synthetic_sequences
from rnnlab.explore.hypotheses import dataset_hypotheses

TASK = "counting"


@pytest.fixture(scope="session")
def lm_run(tmp_path_factory):
    """A run directory: `rnnlab train` in-process on a 6,000-character counting corpus."""
    import torch
    torch.set_num_threads(1)
    data = tmp_path_factory.mktemp("counting-data")
    for split, text in synthetic_corpus(TASK, max_chars=6000).items():
        (data / f"{split}.txt").write_text(text)
    out = tmp_path_factory.mktemp("runs") / "counting-lstm"
    code = rnnlab_main(["train", "--data", str(data), "--out", str(out), "--hidden", "16", "--layers", "2",
                        "--embedding", "8", "--bptt", "20", "--batch-size", "8", "--epochs", "2", "--lr", "0.01",
                        "--eval-batch-size", "1", "--no-progress"])
    assert code == 0
    return out


def make_explorer(run_dir):
    from rnnlab.explore.service import Explorer
    from rnnlab.recipes import recipe_for
    from rnnlab.recipes.run_dir import RunDir
    trained = recipe_for("lm-char").load(RunDir(run_dir))
    model, vocab = trained.model, trained.vocabs["vocab"]
    examples = [(f"{TASK} {k + 1}", list(line)) for k, line in enumerate(synthetic_sequences(TASK, 12, seed=1))]
    return Explorer(model, vocab, "char", examples, hypotheses=dataset_hypotheses(TASK),
                    about={"run": str(run_dir), "model": "2 × 16 lstm", "source": f"task {TASK}"})


@pytest.fixture(scope="session")
def tagger_run(tmp_path_factory):
    """A tagging run directory: `rnnlab train --task tagging` in-process (a few seconds)."""
    import torch
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("runs") / "flights-tagger"
    code = rnnlab_main(["train", "--task", "tagging", "--train-examples", "200", "--hidden", "8", "--embedding", "8",
                        "--projection", "8", "--epochs", "1", "--no-progress", "--out", str(out)])
    assert code == 0
    return out


def make_tagger_explorer(run_dir, n: int = 6):
    """The tagger's explorer on its first `n` validation sentences (with gold tags); also returns the
    `SlotFiller` and those sentences."""
    from rnnlab.explore.service import tagger_explorer
    from rnnlab.recipes import recipe_for, tagging
    from rnnlab.recipes.run_dir import RunDir
    trained = recipe_for("tagging").load(RunDir(run_dir))
    model, filler = trained.model, trained.predictor
    valid = tagging.load_examples(trained.options)[0]["valid"][:n]
    explorer = tagger_explorer(model, filler, [(f"valid {k + 1}", ex) for k, ex in enumerate(valid)],
                               about={"run": str(run_dir), "model": "1 × 8 bidirectional lstm tagger"})
    return explorer, filler, valid


@contextlib.contextmanager
def serving(explorer):
    """The explorer served on 127.0.0.1 at an ephemeral port, in a background thread; yields its URL."""
    from rnnlab.explore.http import make_server, url_of
    server = make_server(explorer, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield url_of(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def explorer(lm_run):
    return make_explorer(lm_run)


@pytest.fixture(scope="session")
def server_url(explorer):
    """A server whose examples no test changes (typed text goes to `scratch_url`)."""
    with serving(explorer) as url:
        yield url


@pytest.fixture
def scratch_url(lm_run):
    """A server of its own, for tests that add typed examples."""
    with serving(make_explorer(lm_run)) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for every browser test module (each module calls
    `tests.explore.chromium.require_browser()` first, so this only runs where it exists)."""
    from tests.explore.chromium import CHROMIUM, require_browser
    sync_api = require_browser()
    with sync_api.sync_playwright() as p:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def open_page(browser):
    """open_page(url) → a loaded page; afterwards, asserts that nothing was logged as an error.
    `requests`, if given, collects the URL of every request the page makes."""
    pages, problems = [], []

    def open_(url: str, requests: list | None = None, height: int = 900):
        page = browser.new_page(viewport={"width": 1400, "height": height})
        if requests is not None:
            page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"uncaught: {e}"))
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]", timeout=15_000)
        pages.append(page)
        return page

    yield open_
    for page in pages:
        page.close()
    assert not problems, problems
