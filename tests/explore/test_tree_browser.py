"""The explorer's tree view in headless Chromium (Playwright): a sentiment run's validation tree is
drawn with one circle per node, coloured by the chosen unit, each node's predicted label inside
and the gold label beside the misses; picking another unit or gate recolours the tree; typed text
is drawn as a balanced tree; the static export draws it offline.

Skipped without /usr/bin/chromium or playwright, like tests/explore/test_browser.py.
"""
import pytest

from tests.explore.chromium import ARTIFACTS, require_browser

require_browser()


@pytest.fixture(scope="module")
def sentiment_explorer(tmp_path_factory):
    from rnnlab.cli.main import main
    from rnnlab.recipes import ExploreRequest, RunDir, recipe_for
    run = tmp_path_factory.mktemp("tree-explore") / "run"
    assert main(["train", "--task", "sentiment", "--train-examples", "60", "--hidden", "6", "--embedding", "6",
                 "--epochs", "1", "--max-len", "6", "--no-progress", "--out", str(run)]) == 0
    recipe = recipe_for("sentiment")
    return recipe.explorer(recipe.load(RunDir(run)), ExploreRequest(examples=4))


def fills(page):
    return page.eval_on_selector_all("#tree g.node circle", "els => els.map(e => e.getAttribute('fill'))")


def test_tree_drawn_coloured_with_predicted_and_gold(open_page, sentiment_explorer):
    from tests.explore.conftest import serving
    ex = sentiment_explorer
    first = ex.example(ex.examples()[0].id, keys=[])
    with serving(ex) as url:
        page = open_page(url)
        n = len(first["tokens"])
        assert page.locator("#tree g.node").count() == n
        assert page.locator("#tree line").count() == n - 1  # a tree: one edge per non-root node
        assert page.locator("#tree text.word").count() == sum(1 for c in first["tree"]["children"] if not c)
        labels = page.eval_on_selector_all("#tree g.node", "els => els.map(e => e.querySelector('text').textContent)")
        assert labels == first["labels"]
        marks = page.eval_on_selector_all("#tree g.node", "els => els.map(e => e.getAttribute('class'))")
        assert marks == ["node " + ("hit" if p == g else "miss") for p, g in zip(first["labels"], first["targets"])]
        assert page.locator("#tree g.miss text.gold").count() == marks.count("node miss")
        before = fills(page)
        assert len(set(before)) > 1
        page.select_option(".unit-row select[title^='what to show']", "f0")  # the left child's forget gate
        page.wait_for_function("b => [...document.querySelectorAll('#tree g.node circle')]"
                               ".some((e, k) => e.getAttribute('fill') !== b[k])", arg=before, timeout=10_000)
        page.fill("#input", "not very good film")
        page.click("#run")
        page.wait_for_function("() => document.querySelectorAll('#tree g.node').length === 7", timeout=10_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "explorer-tree.png"))


def test_export_draws_the_tree_offline(open_page, sentiment_explorer, tmp_path):
    from rnnlab.explore.export import export_page
    path = export_page(sentiment_explorer, tmp_path / "page.html")
    requests = []
    page = open_page(path.as_uri(), requests)
    assert [u for u in requests if u != path.as_uri()] == []
    assert page.locator("#tree g.node").count() > 0
