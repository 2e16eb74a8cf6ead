"""The explorer page in headless Chromium (Playwright): it loads, recolours, runs typed text, searches,
selects, and its static export works from a file with no network.

Needs Debian's chromium at /usr/bin/chromium (`apt-get install chromium`; .ci/run installs it) and
the `playwright` Python package (the `test` extra); the module is skipped without either.
"""

from tests.explore.chromium import ARTIFACTS, require_browser

require_browser()


def colours(page) -> list[str]:
    return page.eval_on_selector_all("#text .ch", "els => els.map(e => getComputedStyle(e).backgroundColor)")


def glyphs(page) -> str:
    return "".join(page.eval_on_selector_all("#text .ch", "els => els.map(e => e.textContent)"))


def wait_for_new_colours(page, before: list[str]) -> list[str]:
    page.wait_for_function(
        """before => {
             const now = [...document.querySelectorAll('#text .ch')].map(e => getComputedStyle(e).backgroundColor);
             return now.length === before.length && now.some((c, k) => c !== before[k]);
           }""", arg=before, timeout=10_000)
    return colours(page)


def test_page_loads_and_draws_the_first_example(open_page, server_url, explorer):
    page = open_page(server_url)
    tokens = explorer.examples()[0].recording.tokens
    assert glyphs(page) == "".join("↵" if t == "\n" else t for t in tokens)
    assert len(set(colours(page))) > 1  # coloured by a unit's values, not all one colour
    assert page.locator("#text .pred").count() == len(tokens)  # the prediction track
    assert page.locator("#saturation circle").count() == 3 * 2 * 16  # i, f, o × 2 layers × 16 units
    assert page.locator("#example option").count() == 12
    assert "2 × 16 lstm" in page.text_content("#about")


def test_picking_another_unit_recolours_the_text(open_page, server_url):
    page = open_page(server_url)
    first = colours(page)
    page.click(".unit-row button[title='next unit']")
    second = wait_for_new_colours(page, first)
    assert page.input_value(".unit-row input.unit") == "1"
    page.select_option(".unit-row select[title^='what to show']", "f")  # the forget gate
    wait_for_new_colours(page, second)
    page.click("#add-row")  # a second unit as bars under the tokens
    page.wait_for_selector("#text .tok .bar")
    assert page.locator("#text .tok").first.locator(".bar").count() == 1


def test_typed_text_is_run_by_the_model(open_page, scratch_url):
    page = open_page(scratch_url)
    before = page.locator("#example option").count()
    page.fill("#input", "aaaaaaXbbbbbb\n")
    page.click("#run")
    page.wait_for_function("() => document.querySelectorAll('#text .tok').length === 14", timeout=10_000)
    assert glyphs(page) == "aaaaaaXbbbbbb↵"
    assert page.locator("#example option").count() == before + 1
    assert page.text_content("#status") == ""


def test_search_select_match_and_screenshot(open_page, server_url):
    page = open_page(server_url)
    page.select_option("#example", index=1)
    page.wait_for_function("() => document.querySelector('#example').selectedIndex === 1")
    page.wait_for_selector("#text .tok")
    page.select_option("#hyp-kind", "named:count (+1 per a, -1 per b)")
    page.click("#search")
    page.wait_for_selector("#search-results tr.pick")
    best = page.locator("#search-results tr.pick").first
    key, unit = best.locator("td").nth(0).text_content(), best.locator("td").nth(1).text_content()
    before = colours(page)
    best.click()
    wait_for_new_colours(page, before)
    assert page.input_value(".unit-row input.unit") == unit
    assert page.locator("#text .tok .bar.track").count() > 0  # the hypothesis as a track
    # drag across the b's: the span's histogram, the units on through it, and where they match
    text = glyphs(page)
    start, end = text.index("X") + 1, text.index("↵") - 1
    page.locator(f"#text .tok[data-i='{start}']").hover()
    page.mouse.down()
    page.locator(f"#text .tok[data-i='{end}']").hover()
    page.mouse.up()
    page.wait_for_selector("#histogram svg rect")
    assert page.locator("#text .tok.selected").count() == end - start + 1
    page.wait_for_selector("#matches li")
    assert page.input_value("#select-key") == key  # the unit's own values by default
    page.locator(f"#text .tok[data-i='{start + 1}']").hover()  # a tooltip with the top-5 guesses
    page.wait_for_selector("#tooltip:not([hidden])")
    assert "true next" in page.text_content("#tooltip")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "explorer.png"))


def test_static_export_works_offline(open_page, explorer, tmp_path):
    from rnnlab.explore.export import export_page
    path = export_page(explorer, tmp_path / "page.html")
    requests = []
    page = open_page(path.as_uri(), requests)
    assert [u for u in requests if u != path.as_uri()] == []  # nothing fetched but the file itself
    first = colours(page)
    assert len(first) == len(explorer.examples()[0].recording)
    page.click(".unit-row button[title='next unit']")
    wait_for_new_colours(page, first)
    page.select_option("#hyp-kind", "named:count (+1 per a, -1 per b)")
    page.click("#search")
    page.wait_for_selector("#search-results tr.pick")
    assert page.is_disabled("#run")  # typing new text needs the model, so the server


def test_tagger_page_shows_tags_marks_misses_and_the_intent(open_page, tagger_run):
    from tests.explore.conftest import make_tagger_explorer, serving
    explorer, _, _ = make_tagger_explorer(tagger_run, n=3)
    first = explorer.example(explorer.examples()[0].id, keys=[])
    with serving(explorer) as url:
        page = open_page(url)
        assert page.text_content("#predictions-toggle").strip() == "show predicted tags"
        assert page.eval_on_selector_all("#text .ch", "els => els.map(e => e.textContent)") == first["tokens"]
        preds = page.eval_on_selector_all("#text .pred", "els => els.map(e => [e.textContent, e.className])")
        assert [text for text, _ in preds] == first["labels"]  # in full, not cut to the word's width
        marks = ["pred " + ("hit" if tag == gold else "miss") for tag, gold in zip(first["labels"], first["targets"])]
        assert [cls for _, cls in preds] == marks and "pred miss" in marks  # one epoch: some tags are wrong
        miss = page.locator("#text .pred.miss").first
        assert miss.evaluate("e => getComputedStyle(e).color") == "rgb(178, 24, 43)"  # red
        intent = page.text_content("#intent")
        assert f"intent: {first['intent']['predicted']}" in intent and f"gold intent: {first['intent']['target']}" in intent
        assert "top guesses" in intent
        k = marks.index("pred miss")
        page.locator(f"#text .tok[data-i='{k}']").hover()
        page.wait_for_selector("#tooltip:not([hidden])")
        tip = page.text_content("#tooltip")
        assert "tags: top guesses" in tip and f"gold tag: {first['targets'][k]}" in tip and "true next" not in tip
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "explorer-tagger.png"))
