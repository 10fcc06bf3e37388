"""The HTML page of ``ontomap serve`` in a real headless Chromium (Debian's, driven by
Playwright): a person types a code and sees its crosswalk and uses, and runs a query."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import EXAMPLES
from servers import Served, ontomap_cli, ontomap_server

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the browser tests need Playwright (pip install playwright)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # The browser logs each HTTP error status as a console error; those are expected here.
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            errors.append(f"404 {response.url}")
            if response.status == 404 and "/lookup" not in response.url
            else None
        ),
    )
    yield page
    context.close()
    assert not errors, errors


@pytest.fixture(scope="module")
def examples_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("browser")
    store = folder / "kg"
    assert ontomap_cli("build", EXAMPLES, "--store", store, "-q").returncode == 0
    with ontomap_server(store, "--workers", "2", log_dir=folder) as server:
        yield server


@pytest.fixture(scope="module")
def corpus_server(corpus_store: Path, tmp_path_factory: pytest.TempPathFactory):
    with ontomap_server(
        corpus_store, "--workers", "2", log_dir=tmp_path_factory.mktemp("browser-corpus")
    ) as server:
        yield server


def _look_up(page, code: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("#code", code)
    page.press("#code", "Enter")
    page.wait_for_selector("#lookup-result:not([hidden])", timeout=60_000)


def test_typing_rid5791_shows_snomed_263768009(page, corpus_server: Served) -> None:  # type: ignore[no-untyped-def]
    page.goto(corpus_server.url)
    _look_up(page, "RID5791")
    matches = page.inner_text("#matches")
    assert "SNOMED" in matches and "263768009" in matches
    assert "1994" in matches and "1:1" in matches
    assert "TEMPLATE" in page.inner_text("#matches tbody")  # the template flag, on the match
    assert "value \u201clarger\u201d of \u201cchange from prior\u201d" in matches  # its context
    assert page.is_hidden("#colisted-section")
    assert "radlex:RID5791" in page.inner_text("#code-title")
    assert "1994 entities in 1994 findings" in page.inner_text("#code-info")
    assert "1 independent context" in page.inner_text("#code-info")
    assert "RID5791" in page.url  # the lookup is in the address, to share


def test_the_uses_are_paged_with_finding_names(page, corpus_server: Served) -> None:  # type: ignore[no-untyped-def]
    page.goto(corpus_server.url)
    _look_up(page, "RID5791")
    uses = page.locator("#uses tbody tr")
    assert uses.count() == 50
    assert "1–50 of 1994 uses" in page.inner_text("#uses-title")
    assert page.is_disabled("#uses-prev") and page.is_enabled("#uses-next")
    first = page.inner_text("#uses tbody")
    assert "retained material in hypopharynx" in first  # OIFM_GMTS_000001's name
    page.click("#uses-next")
    page.wait_for_function(
        "document.querySelector('#uses-title').textContent.includes('51–100 of 1994')",
        timeout=60_000,
    )
    assert uses.count() == 50 and page.inner_text("#uses tbody") != first
    assert "offset=50" in page.url
    assert page.is_enabled("#uses-prev")
    page.click("#uses-prev")
    page.wait_for_function(
        "document.querySelector('#uses-title').textContent.includes('1–50 of 1994')",
        timeout=60_000,
    )
    assert page.inner_text("#uses tbody") == first
    page.goto(corpus_server.url + "#code=RID5791&offset=1950")  # a shared address of a page
    page.reload()
    page.wait_for_function(
        "document.querySelector('#uses-title').textContent.includes('1951–1994 of 1994')",
        timeout=60_000,
    )
    assert uses.count() == 44 and page.is_disabled("#uses-next")


def test_co_listed_codes_are_shown_apart(page, corpus_server: Served) -> None:  # type: ignore[no-untyped-def]
    page.goto(corpus_server.url)
    page.select_option("#to", "SNOMED")
    _look_up(page, "RADLEX:RID381")
    paired = page.inner_text("#matches tbody")
    assert "244958005" in paired and "pubococcygeus" in paired and "245019009" not in paired
    assert page.is_visible("#colisted-section")
    assert "not mappings" in page.inner_text("#colisted-title")
    colisted = page.inner_text("#colisted")
    assert "245019009" in colisted and "piriformis" in colisted
    assert page.locator("#colisted tbody tr").count() == 32


def test_a_matched_code_can_be_followed(page, corpus_server: Served) -> None:  # type: ignore[no-untyped-def]
    page.goto(corpus_server.url + "#code=RID5791")
    page.wait_for_selector("#lookup-result:not([hidden])", timeout=60_000)
    page.click("#matches a.code")
    page.wait_for_function(
        "document.querySelector('#code-title').textContent.includes('sct:263768009')",
        timeout=60_000,
    )
    assert "RADLEX" in page.inner_text("#matches") and "RID5791" in page.inner_text("#matches")


def test_lookup_on_the_examples_and_an_unknown_code(page, examples_server: Served) -> None:  # type: ignore[no-untyped-def]
    page.goto(examples_server.url)
    page.select_option("#to", "SNOMED")
    _look_up(page, "radlex:RID49896")
    assert "263703002" in page.inner_text("#matches")
    assert "OIFMA_GMTS_163920" in page.inner_text("#uses")
    page.fill("#code", "RADLEX:RID1")
    page.press("#code", "Enter")
    page.wait_for_function(
        "document.querySelector('#lookup-status').textContent.includes('not used')",
        timeout=30_000,
    )
    assert page.is_hidden("#lookup-result")


def test_a_sparql_query_runs_in_the_page(page, examples_server: Served) -> None:  # type: ignore[no-untyped-def]
    page.goto(examples_server.url)
    page.fill(
        "#sparql",
        "SELECT ?name WHERE { ?f a oifm:FindingModel ; rdfs:label ?name } ORDER BY ?name",
    )
    page.click("#run")
    page.wait_for_selector("#sparql-table", timeout=30_000)
    table = page.inner_text("#sparql-table")
    assert "?name" in table and "solitary pulmonary nodule" in table
    assert "3 rows" in page.inner_text("#sparql-status")
    page.fill("#sparql", "SELECT ?x WHERE { ?x ?y }")
    page.click("#run")
    page.wait_for_function(
        "document.querySelector('#sparql-status').textContent.includes('HTTP 400')",
        timeout=30_000,
    )


def test_the_named_queries_fill_the_editor(page, examples_server: Served) -> None:  # type: ignore[no-untyped-def]
    page.goto(examples_server.url)
    page.wait_for_function("document.querySelectorAll('#examples option').length > 1")
    page.select_option("#examples", "findings-by-tag")
    assert "oifm:tag" in page.input_value("#sparql")
    page.click("#run")
    page.wait_for_selector("#sparql-table", timeout=30_000)
    assert "chest" in page.inner_text("#sparql-table")
