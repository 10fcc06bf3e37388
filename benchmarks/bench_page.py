"""Benchmark of the examples of ``ontomap serve``'s page, as a user runs them: in headless
Chromium, pick each named query in the page's "Example" list, click Run, and wait until the
result table (or the error) is on the page. Prints a Markdown table.

    python benchmarks/bench_page.py [--store PATH] [--corpus DEFS] [--runs N]

Each example runs ``--runs`` times, the examples taken in turn (round-robin) so that a busy
moment of this shared machine falls on all of them alike. Two times are reported, medians with
their range: from the click until the rows are on the page, and the page's own figure (request
sent to answer read, the "N rows in X s" line). Target: every example under 1 s.

Needs Playwright (``pip install playwright``) and Chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_serve import DEFAULT_CORPUS, DEFAULT_STORE, Code, ensure_store, start_server  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
#: How long one example may take before the run is counted as failed.
WAIT_MS = 60_000


def seconds(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s ({min(values):.2f}–{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    store = ensure_store(args.store, args.corpus)
    log = Path(os.environ.get("TMPDIR", "/tmp")) / "bench-page-serve.log"
    server, url = start_server(Code("ontomap", ROOT, store), timeout=30, workers=None, log=log)
    clicked: dict[str, list[float]] = {}
    reported: dict[str, list[float]] = {}
    rows: dict[str, str] = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            page.wait_for_function("document.querySelectorAll('#examples option').length > 1")
            names = [
                name
                for name in page.locator("#examples option").evaluate_all(
                    "(options) => options.map((o) => o.value)"
                )
                if name
            ]
            for _run in range(args.runs + 1):  # the first round warms the server up
                for name in names:
                    page.select_option("#examples", name)
                    page.evaluate("document.getElementById('sparql-status').textContent = ''")
                    started = time.perf_counter()
                    page.click("#run")
                    page.wait_for_function(
                        "(() => { const t = document.getElementById('sparql-status').textContent;"
                        " return / in [0-9.]+ s|HTTP [0-9]+|ASK: /.test(t); })()",
                        timeout=WAIT_MS,
                    )
                    took = time.perf_counter() - started
                    status = page.inner_text("#sparql-status")
                    found = re.search(r"([0-9,]+) rows? in ([0-9.]+) s", status)
                    if not found:
                        sys.exit(f"{name}: {status}")
                    if _run:
                        clicked.setdefault(name, []).append(took)
                        reported.setdefault(name, []).append(float(found.group(2)))
                    rows[name] = found.group(1)
            browser.close()
    finally:
        server.terminate()
        server.wait(30)
    print(f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    print()
    print("| example | rows | click → rows shown | page's figure (request → answer) |")
    print("|---|---:|---:|---:|")
    for name in sorted(clicked, key=lambda n: -statistics.median(clicked[n])):
        print(f"| `{name}` | {rows[name]} | {seconds(clicked[name])} | {seconds(reported[name])} |")


if __name__ == "__main__":
    main()
