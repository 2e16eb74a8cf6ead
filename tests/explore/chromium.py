"""What the browser tests need: Debian's Chromium and Playwright, or a module-level skip saying how
to get them. The `browser` and `open_page` fixtures that use them live in conftest.py."""
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def require_browser():
    """Call at a browser test module's top: skips the module without Chromium or Playwright
    (.ci/run installs both) and returns `playwright.sync_api`."""
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: install it with `apt-get install chromium` to test the explorer page",
                    allow_module_level=True)
    return pytest.importorskip("playwright.sync_api",
                               reason="playwright is not installed: pip install playwright (the `test` extra)")
