"""The explorer's memory panel in headless Chromium: an NTM's read and write weightings as heatmaps
beside its input, output and target (live and in a static export, and for typed bit vectors), and a
memory network's attention over the story per hop.

Needs /usr/bin/chromium and playwright, like tests/explore/test_browser.py (skipped without them).
"""
import pytest

from tests.explore.conftest import serving

from tests.explore.chromium import ARTIFACTS, require_browser

require_browser()


def trained_explorer(tmp_path_factory, args):
    import torch

    from rnnlab.cli.main import main
    from rnnlab.recipes.recipe import ExploreRequest
    from rnnlab.recipes.registry import recipe_of
    from rnnlab.recipes.run_dir import RunDir
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("runs") / args[1]
    assert main(["train", *args, "--no-progress", "--out", str(out)]) == 0
    run = RunDir(out)
    recipe, _ = recipe_of(run)
    return recipe.explorer(recipe.load(run), ExploreRequest(examples=10))


@pytest.fixture(scope="module")
def ntm_explorer(tmp_path_factory):
    return trained_explorer(tmp_path_factory, [
        "--task", "ntm-copy", "--bits", "4", "--max-length", "4", "--hidden", "8", "--memory-slots", "12",
        "--memory-width", "4", "--read-heads", "2", "--updates-per-epoch", "3", "--epochs", "1",
        "--eval-sequences", "4", "--batch-size", "4"])


def maps(page) -> dict:
    return {c["name"]: c for c in page.eval_on_selector_all(
        "#memory-panel canvas.memory-map", "els => els.map(e => ({...e.dataset, width: e.width, height: e.height}))")}


def test_ntm_heatmaps_beside_input_and_output(open_page, ntm_explorer):
    with serving(ntm_explorer) as url:
        page = open_page(url, height=1000)
        page.wait_for_selector("#memory-panel canvas.memory-map")
        first = ntm_explorer.examples()[0].recording
        drawn = maps(page)
        # the input, one write and two read weightings (2 read heads), the output and the target
        assert set(drawn) == {"input", "write0", "read0", "read1", "output", "target"}
        assert all(int(c["steps"]) == len(first) for c in drawn.values())
        assert int(drawn["read0"]["rows"]) == 12 and int(drawn["input"]["rows"]) == 5
        assert int(drawn["input"]["lit"]) >= 1 and int(drawn["target"]["lit"]) >= 1
        # every step's weighting is a distribution over the 12 rows: each column has some colour
        coloured = page.eval_on_selector(
            "#memory-panel canvas[data-name=write0]",
            """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, cw = c.width / Number(c.dataset.steps);
                      const cols = new Set();
                      for (let k = 0; k < d.length; k += 4) if (d[k] < 250 || d[k + 1] < 250) cols.add(Math.floor((k / 4 % c.width) / cw));
                      return cols.size; }""")
        assert coloured == len(first)
        # another example redraws the panel for its length
        page.select_option("#example", index=3)
        last = ntm_explorer.examples()[3].recording
        page.wait_for_function(f"() => document.querySelector('#memory-panel canvas')?.dataset.steps === '{len(last)}'")
        # typed bit vectors are run by the model and shown the same way
        page.fill("#input", "0110 1111 0001")
        page.click("#run")
        page.wait_for_function("() => document.querySelector('#memory-panel canvas')?.dataset.steps === '7'")
        assert page.text_content("#status") == ""
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#memory-panel").screenshot(path=str(ARTIFACTS / "ntm-memory-panel.png"))


def test_static_export_draws_the_heatmaps(open_page, ntm_explorer, tmp_path):
    from rnnlab.explore.export import export_page
    path = export_page(ntm_explorer, tmp_path / "ntm.html")
    page = open_page(path.as_uri(), height=1000)
    page.wait_for_selector("#memory-panel canvas.memory-map")
    assert {"input", "write0", "read0", "output"} <= set(maps(page))


def test_memory_network_attention_per_hop(open_page, tmp_path_factory):
    explorer = trained_explorer(tmp_path_factory, ["--task", "qa-all", "--train-examples", "30", "--epochs", "1",
                                                   "--hops", "3", "--dim", "8", "--linear-epochs", "0"])
    first = explorer.examples()[0].recording
    with serving(explorer) as url:
        page = open_page(url, height=1000)
        page.wait_for_selector("#memory-panel table.memory-attention")
        headers = page.eval_on_selector_all("#memory-panel th", "els => els.map(e => e.textContent)")
        assert headers[:3] == ["hop 1", "hop 2", "hop 3"]
        cells = page.eval_on_selector_all("#memory-panel td.hop", "els => els.map(e => Number(e.textContent))")
        sentences = len(first) - 1
        assert len(cells) == 3 * sentences
        for hop in range(3):  # each hop's attention is a distribution over the sentences
            assert abs(sum(cells[hop::3]) - 1) < 0.02 * sentences + 0.01
        assert "→" in page.text_content("#memory-panel .memory-question")
        page.fill("#input", "mary went to the kitchen. john went to the garden. mary got the milk. where is mary?")
        page.click("#run")
        page.wait_for_function("() => (document.querySelector('#memory-panel .memory-question') || {}).textContent"
                               ".startsWith('where is mary ? →')")
        assert page.locator("#memory-panel td.hop").count() == 3 * 3
