"""How a written HTML report behaves in headless Chromium: time to load, DOM size, and the time to
open its collapsed parts (the node x check matrix, the node table) with layout done.

Used by ``bench/bench_snapshot.py`` on the 5,000-node report; the browser test
(tests/reports/test_html_browser.py) asserts the structure that keeps these numbers low, the
numbers themselves are benchmark results (docs/performance.md).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

MEASURE = """async () => {
    const nav = performance.getEntriesByType('navigation')[0];
    const open = async (selector) => {
        const d = document.querySelector(selector);
        if (!d) return null;
        const t = performance.now();
        d.open = true;
        document.body.getBoundingClientRect();
        await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
        return Math.round(performance.now() - t);
    };
    const elements = document.getElementsByTagName('*').length;
    return {load_ms: Math.round(nav.loadEventEnd), elements,
            open_matrix_ms: await open('#matrix details'), open_nodes_ms: await open('#nodes details')};
}"""


def measure(html: Path) -> dict[str, Any] | None:
    """The numbers for ``html``, or None when playwright or Chromium is not installed."""
    chromium = next((c for c in ("/usr/bin/chromium", shutil.which("chromium")) if c and Path(c).exists()), None)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if chromium is None:
        return None
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(Path(html).resolve().as_uri(), wait_until="load")
            return page.evaluate(MEASURE)
        finally:
            browser.close()
