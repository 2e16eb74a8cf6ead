"""The explorer's signal panel in headless Chromium: a TDNN digits run's input features, every
TDNN layer and the running class posterior as heatmaps over the frames (live and in a static
export, and for a typed WAV path), and a NARX run's units beside its input / output / target traces.

Needs /usr/bin/chromium and playwright, like tests/explore/test_browser.py (skipped without them).
"""
import pytest

from tests.explore.chromium import ARTIFACTS, require_browser
from tests.explore.conftest import serving

require_browser()

from tests.explore.test_memory_browser import trained_explorer  # noqa: E402


def maps(page) -> dict:
    return {c["name"]: c for c in page.eval_on_selector_all(
        "#signal-panel canvas.memory-map", "els => els.map(e => ({...e.dataset, width: e.width, height: e.height}))")}


@pytest.fixture(scope="module")
def tdnn_explorer(tmp_path_factory):
    return trained_explorer(tmp_path_factory, ["--task", "digits", "--takes", "11", "--epochs", "1", "--hidden", "8",
                                               "--layers", "2"])


def test_tdnn_units_over_frames(open_page, tdnn_explorer, tmp_path):
    from rnnlab.data.audio import write_wav
    from rnnlab.datasets.tones import RATE, synthesise
    first = tdnn_explorer.examples()[0].recording
    with serving(tdnn_explorer) as url:
        page = open_page(url, height=1000)
        page.wait_for_selector("#signal-panel canvas.memory-map")
        drawn = maps(page)
        assert set(drawn) == {"input/features", "encoder.layers.0/h", "encoder.layers.1/h", "output/p"}
        assert all(int(c["steps"]) == len(first) for c in drawn.values())
        assert int(drawn["input/features"]["rows"]) == 40 and int(drawn["output/p"]["rows"]) == 10
        assert all(int(c["lit"]) >= 1 for c in drawn.values())
        answer = page.eval_on_selector("#signal-panel .signal-answer", "e => e.dataset.label")
        p = first.values["output/p"][-1]
        assert answer == tdnn_explorer.about["classes"][int(p.argmax())]
        assert page.is_hidden("#memory-panel")
        # a typed WAV path is run by the model and drawn the same way
        wav = tmp_path / "seven.wav"
        write_wav(wav, synthesise("7", "bob", 60), RATE)
        steps = len(tdnn_explorer.analyze(str(wav), keys=[])["tokens"])
        page.fill("#input", str(wav))
        page.click("#run")
        page.wait_for_function(f"() => document.querySelector('#signal-panel canvas')?.dataset.steps === '{steps}'"
                               " && document.querySelector('#signal-panel').dataset.example !== '0'")
        assert page.text_content("#status") == ""
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#signal-panel").screenshot(path=str(ARTIFACTS / "tdnn-signal-panel.png"))


def test_static_export_draws_the_signal_panel(open_page, tdnn_explorer, tmp_path):
    from rnnlab.explore.export import export_page
    page = open_page(height=1000, url=export_page(tdnn_explorer, tmp_path / "tdnn.html").as_uri())
    page.wait_for_selector("#signal-panel canvas.memory-map")
    assert {"input/features", "encoder.layers.1/h", "output/p"} <= set(maps(page))


def test_narx_units_beside_the_traces(open_page, tmp_path_factory):
    explorer = trained_explorer(tmp_path_factory, ["--task", "narx-plant", "--epochs", "1", "--signal-steps", "200"])
    with serving(explorer) as url:
        page = open_page(url, height=1000)
        page.wait_for_selector("#signal-panel svg.signal-traces")
        lines = page.eval_on_selector_all("#signal-panel polyline", "els => els.map(e => [e.dataset.key, "
                                                                    "e.getAttribute('points').split(' ').length])")
        assert dict(lines) == {"io/input": 800, "io/output": 800, "io/target": 800, "io/one-step": 800}
        assert {"encoder/hidden"} <= set(maps(page))
        page.fill("#input", "0.5 -1 0.3 0.2 0.1")
        page.click("#run")
        page.wait_for_function("() => document.querySelector('#signal-panel polyline')?.getAttribute('points')"
                               ".split(' ').length === 5")
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#signal-panel").screenshot(path=str(ARTIFACTS / "narx-signal-panel.png"))
