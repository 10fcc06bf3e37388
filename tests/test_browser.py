"""The HTML page of ``ontomap serve`` in a real headless Chromium (Debian's, driven by
Playwright), on the whole corpus: a curator types a code and sees its crosswalk and uses, follows
codes to their lookup and to their terminology's browser, sorts and pages the tables, picks one
code of an ambiguous bare code, and runs the named queries.

Expectations come from the corpus JSON, the ``/lookup`` JSON fetched directly and the library,
never from the page. Without Chromium or Playwright the tests skip, but fail on CI (``CI`` set),
which has both (``.ci/run`` installs them).
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import EXAMPLES
from servers import Served, ontomap_cli, ontomap_server, request

from ontomap.graph import known_prefixes
from ontomap.lookup import AmbiguousCodeError, parse_code
from ontomap.query import named_queries, named_query, select
from ontomap.store import Store
from ontomap.terminology import default_registry
from ontomap.vocab import DEFAULT_BASE_IRI

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
#: Rows a table of the page shows at once.
PAGE = 100
WAIT = 60_000


def _missing(what: str) -> None:
    """Skip a browser test for want of ``what``; fail on CI, which must have it."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser tests: {what}")
    pytest.skip(what)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    try:
        from playwright import sync_api
    except ImportError:
        _missing("the browser tests need Playwright (pip install playwright)")
    if not CHROMIUM.is_file():
        _missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
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
            errors.append(f"{response.status} {response.url}")
            if response.status >= 500 or (response.status == 404 and "/lookup" not in response.url)
            else None
        ),
    )
    # Nothing leaves the machine: the page has no external resources.
    page.route(
        lambda url: not url.startswith(("http://127.0.0.1", "data:")),
        lambda route: (errors.append(f"external request {route.request.url}"), route.abort()),
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


@pytest.fixture(scope="module")
def corpus_models(corpus_defs: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(corpus_defs.glob("*.json"))]


def lookup_json(server: Served, code: str, **params: str) -> dict:
    """``/lookup`` fetched directly, with every use (page by page)."""
    items: list[dict] = []
    while True:
        query = urllib.parse.urlencode(
            {"code": code, "limit": 1000, "offset": len(items), **params}
        )
        answer = request(f"{server.url}lookup?{query}")
        assert answer.status == 200, answer.text
        data = answer.json()
        assert isinstance(data, dict)
        items += data["used_by"]["items"]
        if len(items) >= data["used_by"]["uses"]:
            data["used_by"]["items"] = items
            return data


def _look_up(page, code: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("#code", code)
    page.press("#code", "Enter")
    page.wait_for_selector("#lookup-result:not([hidden])", timeout=WAIT)


def _uses_loaded(page) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function(
        "document.querySelector('#uses-status') &&"
        " !document.querySelector('#uses-status').textContent.includes('loading')",
        timeout=WAIT,
    )


def _ran(page) -> str:  # type: ignore[no-untyped-def]
    page.wait_for_function(
        "!document.querySelector('#sparql-status').textContent.includes('Running')", timeout=WAIT
    )
    return str(page.inner_text("#sparql-status"))


def _column(page, table: str, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    return list(page.locator(f"#{table} tbody tr td:nth-child({n})").all_inner_texts())


def _in_view(page, selector: str) -> bool:  # type: ignore[no-untyped-def]
    return bool(
        page.evaluate(
            "(s) => { const r = document.querySelector(s).getBoundingClientRect();"
            " return r.top >= 0 && r.top < window.innerHeight; }",
            selector,
        )
    )


def browser_url(system: str, code: str) -> str:
    """The public browser of a terminology, as its publisher documents it."""
    return {
        "RADLEX": f"https://radlex.org/RID/{code}",
        "SNOMED": f"https://browser.ihtsdotools.org/?perspective=full&conceptId1={code}",
        "LOINC": f"https://loinc.org/{code}",
    }[system]


def test_typing_rid5791_shows_snomed_263768009(page, corpus_server: Served) -> None:  # type: ignore[no-untyped-def]
    page.goto(corpus_server.url)
    _look_up(page, "RID5791")
    matches = page.inner_text("#matches")
    assert "SNOMED" in matches and "263768009" in matches
    assert "1,994" in matches and "1:1" in matches
    assert "TEMPLATE" in page.inner_text("#matches tbody")  # the template flag, on the match
    assert (
        "value \u201clarger\u201d of \u201cchange from prior\u201d: 1,994 entities" in matches
    )  # its context
    assert page.is_hidden("#colisted-section")
    assert "radlex:RID5791" in page.inner_text("#code-title")
    assert "1,994 entities in 1,994 findings" in page.inner_text("#code-info")
    assert "1 independent context" in page.inner_text("#code-info")
    assert "RID5791" in page.url  # the lookup is in the address, to share
    legend = page.inner_text("#legend")  # what share and cardinality mean
    for term in ("share", "entity share", "cardinality", "confidence", "TEMPLATE"):
        assert term in legend
    assert page.is_hidden("#matches-prev")  # one match: no pager


def test_codes_link_to_their_lookup_and_their_browser(page, corpus_server: Served) -> None:  # type: ignore[no-untyped-def]
    data = lookup_json(corpus_server, "RID325")
    page.goto(corpus_server.url)
    _look_up(page, "RID325")
    title = page.locator("#code-title a.ext")
    assert title.get_attribute("href") == browser_url("RADLEX", "RID325")
    links = page.locator("#matches a.code")
    shown = links.all_inner_texts()
    paired = [m for m in data["matches"] if m["status"] == "paired"]
    assert sorted(shown) == sorted(m["curie"] for m in paired)
    for match in paired:
        row = page.locator(
            "#matches tbody tr", has=page.locator(f"a.code:text-is('{match['curie']}')")
        )
        lookup_href = row.locator("a.code").get_attribute("href")
        assert urllib.parse.parse_qs(lookup_href.lstrip("#"))["code"] == [match["curie"]]
        outside = row.locator("a.ext")
        if match["system"] in ("RADLEX", "SNOMED", "LOINC"):
            assert outside.get_attribute("href") == browser_url(match["system"], match["code"])
            assert outside.get_attribute("target") == "_blank"
            assert "noopener" in outside.get_attribute("rel")
        else:
            assert outside.count() == 0
    assert any(m["system"] == "LOINC" for m in paired)  # loinc:LA4585-1 "left"
    # the co-listed codes link the same way
    colisted = [m for m in data["matches"] if m["status"] != "paired"]
    assert page.locator("#colisted tbody tr").count() == len(colisted)
    assert sorted(page.locator("#colisted a.code").all_inner_texts()) == sorted(
        m["curie"] for m in colisted
    )


def test_the_uses_are_paged_sorted_and_named(page, corpus_server: Served) -> None:  # type: ignore[no-untyped-def]
    items = lookup_json(corpus_server, "RID5791")["used_by"]["items"]
    total = len(items)
    assert total == 1994
    page.goto(corpus_server.url)
    _look_up(page, "RID5791")
    _uses_loaded(page)
    uses = page.locator("#uses tbody tr")
    assert uses.count() == PAGE  # never all 1,994 at once
    assert "1–100 of 1,994 uses" in page.inner_text("#uses-title")
    assert page.is_disabled("#uses-prev") and page.is_enabled("#uses-next")
    assert _column(page, "uses", 1) == [u["finding"] for u in items[:PAGE]]
    assert _column(page, "uses", 2) == [u["finding_label"] for u in items[:PAGE]]  # names
    first = page.inner_text("#uses tbody")
    page.click("#uses-next")
    assert "101–200 of 1,994" in page.inner_text("#uses-title")
    assert _column(page, "uses", 1) == [u["finding"] for u in items[PAGE : 2 * PAGE]]
    assert "offset=100" in page.url
    page.click("#uses-prev")
    assert page.inner_text("#uses tbody") == first

    # sorted by finding name, both ways, over all the uses (not just the page shown)
    header = page.locator("#uses thead th:nth-child(2)")
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    names = sorted((u["finding_label"] for u in items), key=str.casefold)  # case aside
    shown = _column(page, "uses", 2)
    assert len(shown) == PAGE and shown[0] == names[0]
    assert {name.casefold() for name in shown} == {name.casefold() for name in names[:PAGE]}
    header.locator("button").press("Enter")  # by keyboard too
    assert header.get_attribute("aria-sort") == "descending"
    assert _column(page, "uses", 2)[0] == names[-1]
    assert "1–100 of 1,994" in page.inner_text("#uses-title")

    page.goto(corpus_server.url + "#code=RID5791&offset=1900")  # a shared address of a page
    page.reload()
    page.wait_for_function(
        "document.querySelector('#uses-title').textContent.includes('1,901–1,994 of 1,994')",
        timeout=WAIT,
    )
    assert uses.count() == total - 1900 and page.is_disabled("#uses-next")
    assert _column(page, "uses", 1) == [u["finding"] for u in items[1900:]]


def test_an_ambiguous_code_offers_its_choices(page, corpus_server: Served) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AmbiguousCodeError) as caught:
        parse_code("263768009")
    expected = [c.curie for c in caught.value.candidates]
    assert len(expected) >= 2
    page.goto(corpus_server.url)
    page.fill("#code", "263768009")
    page.press("#code", "Enter")
    page.wait_for_selector("#lookup-choices:not([hidden])", timeout=WAIT)
    assert "several systems" in page.inner_text("#lookup-status")
    buttons = page.locator("#lookup-choices button")
    assert [text.split()[-1] for text in buttons.all_inner_texts()] == expected
    page.keyboard.press("Enter")  # the first choice has the focus
    page.wait_for_selector("#lookup-result:not([hidden])", timeout=WAIT)
    assert expected[0] in page.inner_text("#code-title")
    assert page.is_hidden("#lookup-choices")


def test_a_followed_code_is_scrolled_into_view(page, corpus_server: Served) -> None:  # type: ignore[no-untyped-def]
    page.goto(corpus_server.url + "#code=RID5791")
    page.wait_for_selector("#lookup-result:not([hidden])", timeout=WAIT)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.click("#matches a.code")
    page.wait_for_function(
        "document.querySelector('#code-title').textContent.includes('sct:263768009')",
        timeout=WAIT,
    )
    assert "RADLEX" in page.inner_text("#matches") and "RID5791" in page.inner_text("#matches")
    assert _in_view(page, "#lookup-result")


def test_a_clicked_finding_lists_its_codes_in_view(
    page, corpus_server: Served, corpus_models: list[dict]
) -> None:  # type: ignore[no-untyped-def]
    page.goto(corpus_server.url + "#code=RID5791")
    page.wait_for_selector("#lookup-result:not([hidden])", timeout=WAIT)
    link = page.locator("#uses a.code").first
    finding = link.inner_text()
    link.click()
    page.wait_for_selector("#sparql-table", timeout=WAIT)
    assert _in_view(page, "#sparql-status")
    assert page.input_value("#examples") == "codes-of-finding"
    assert f'"{finding}"' in page.input_value("#sparql")
    model = next(m for m in corpus_models if m["oifm_id"] == finding)
    codes = {(c["system"], c["code"]) for c in model.get("index_codes") or []}
    for attribute in model["attributes"]:
        codes |= {(c["system"], c["code"]) for c in attribute.get("index_codes") or []}
        for value in attribute.get("values") or []:
            codes |= {(c["system"], c["code"]) for c in value.get("index_codes") or []}
    systems, notations = _column(page, "sparql-table", 5), _column(page, "sparql-table", 6)
    shown = set(zip(systems, notations, strict=True))
    assert {(default_registry().get(s).key, c) for s, c in codes} <= shown


def test_a_tag_query_is_paged_not_rendered_whole(
    page, corpus_server: Served, corpus_models: list[dict]
) -> None:  # type: ignore[no-untyped-def]
    pairs = {(tag, m["oifm_id"]) for m in corpus_models for tag in m.get("tags") or []}
    page.goto(corpus_server.url)
    page.fill(
        "#sparql",
        "SELECT DISTINCT ?tag ?finding ?name WHERE {"
        " ?m oifm:tag ?tag ; oifm:oifmId ?finding ; rdfs:label ?name }",
    )
    page.click("#run")
    status = _ran(page)
    assert f"{len(pairs):,} rows" in status, status
    assert page.locator("#sparql-table tbody tr").count() == PAGE
    assert f"rows 1–100 of {len(pairs):,}" in page.inner_text("#sparql-table-status")
    page.click("#sparql-table-next")
    assert "rows 101–200" in page.inner_text("#sparql-table-status")
    assert page.locator("#sparql-table tbody tr").count() == PAGE
    # findings are links, with their names in the next column
    assert page.locator("#sparql-table tbody tr td:nth-child(2) a.code").count() == PAGE


def test_sparql_results_show_curies_that_link(page, corpus_server: Served) -> None:  # type: ignore[no-untyped-def]
    page.goto(corpus_server.url)
    page.fill(
        "#sparql",
        "SELECT DISTINCT ?code ?scheme WHERE {"
        ' ?code skos:notation "RID5791" ; skos:inScheme ?scheme }',
    )
    page.click("#run")
    _ran(page)
    cells = _column(page, "sparql-table", 1)
    assert cells == ["radlex:RID5791↗"]
    code = page.locator("#sparql-table a.code")
    assert code.get_attribute("title") == "look up radlex:RID5791"
    assert page.locator("#sparql-table a.ext").get_attribute("href") == browser_url(
        "RADLEX", "RID5791"
    )
    assert _column(page, "sparql-table", 2) == ["scheme:RADLEX"]
    code.click()
    page.wait_for_selector("#lookup-result:not([hidden])", timeout=WAIT)
    assert "radlex:RID5791" in page.inner_text("#code-title")
    assert _in_view(page, "#lookup-result")


def test_long_values_are_cut_to_the_page_with_their_whole_text_kept(
    page,  # type: ignore[no-untyped-def]
    corpus_server: Served,
    corpus_defs: Path,
    corpus_models: list[dict],
) -> None:
    # source files as the store records them: each model's JSON file, resolved
    files = {
        model["oifm_id"]: str(path.resolve())
        for model, path in zip(corpus_models, sorted(corpus_defs.glob("*.json")), strict=True)
    }
    first = sorted(files)[:5]
    page.goto(corpus_server.url)
    page.fill(
        "#sparql",
        "SELECT ?record ?file ?format WHERE { GRAPH <https://w3id.org/ontomap/graph/_meta> {"
        " ?record oifm:sourceFile ?file ; oifm:sourceFormat ?format } }"
        " ORDER BY ?record LIMIT 5",
    )
    page.click("#run")
    assert _ran(page).startswith("5 rows")
    # the table fits the page: no column runs off its right edge
    widths = page.evaluate(
        "[document.getElementById('sparql-table').getBoundingClientRect().right,"
        " document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1]
    records = page.locator("#sparql-table tbody tr td:nth-child(1) .cut")
    paths = page.locator("#sparql-table tbody tr td:nth-child(2) .cut")
    graph = "https://w3id.org/ontomap/graph/"
    for n, oifm_id in enumerate(first):
        record = records.nth(n)
        # an IRI no prefix fits: whole in the tooltip and in what a copy takes, its last
        # segment shown in full
        assert record.get_attribute("title") == graph + oifm_id
        assert record.text_content() == graph + oifm_id
        local = record.locator(".local")
        assert local.inner_text() == oifm_id
        assert local.evaluate("(e) => e.scrollWidth <= e.clientWidth")
        # a long literal: cut with an ellipsis, whole in the tooltip
        path = paths.nth(n)
        assert path.get_attribute("title") == files[oifm_id]
        assert path.text_content() == files[oifm_id]
        if len(files[oifm_id]) > 60:
            assert path.evaluate("(e) => e.scrollWidth > e.clientWidth")
    assert _column(page, "sparql-table", 3) == ["json"] * 5


def test_the_pages_prefixes_and_systems_are_the_registrys(page, corpus_server: Served) -> None:  # type: ignore[no-untyped-def]
    page.goto(corpus_server.url)
    assert page.evaluate("PREFIXES") == known_prefixes(DEFAULT_BASE_IRI)
    systems = page.evaluate("SYSTEMS")
    assert {key: s["prefix"] for key, s in systems.items()} == {
        s.key: s.prefix for s in default_registry().systems
    }


def test_the_named_queries_bind_their_parameters(
    page, corpus_server: Served, corpus_store: Path, corpus_models: list[dict]
) -> None:  # type: ignore[no-untyped-def]
    chest = {m["oifm_id"] for m in corpus_models if "chest" in (m.get("tags") or [])}
    page.goto(corpus_server.url)
    page.wait_for_function("document.querySelectorAll('#examples option').length > 1")
    page.select_option("#examples", "findings-by-tag")
    assert page.input_value("#param-tag") == "chest"  # the example's value
    assert 'VALUES (?tag) { ("chest") }' in page.input_value("#sparql")
    page.click("#run")
    status = _ran(page)
    assert f"{len(chest):,} rows" in status, status
    assert set(_column(page, "sparql-table", 1)) == {"chest"}
    page.fill("#param-tag", "no such tag")
    page.press("#param-tag", "Enter")
    assert "0 rows" in _ran(page)
    page.select_option("#examples", "code-pairs")
    text = page.input_value("#sparql")
    assert "VALUES (?source ?target) { (scheme:RADLEX scheme:SNOMED) }" in text
    page.fill("#param-source", "NOSUCH")
    assert "unknown code system" in page.inner_text("#example-description")
    page.select_option("#examples", "findings-with-code")
    assert "VALUES (?code) { (radlex:RID5791) }" in page.input_value("#sparql")
    # every example runs, none is left with a required parameter unbound, and the rows the
    # page's VALUES binding finds are as many as the engine's own binding of the same values
    names = page.locator("#examples option").evaluate_all("(os) => os.map((o) => o.value)")
    assert sorted(n for n in names if n) == sorted(named_queries())
    with Store(corpus_store, read_only=True) as store:
        for name in filter(None, names):
            query = named_query(name)
            values = dict(re.findall(r"--param\s+(\w+)=(\S+)", query.example or ""))
            expected = len(select(store, query, values).rows)
            page.select_option("#examples", name)
            page.click("#run")
            status = _ran(page)
            assert f"{expected:,} row{'' if expected == 1 else 's'} in " in status, (name, status)


def test_lookup_on_the_examples_and_an_unknown_code(page, examples_server: Served) -> None:  # type: ignore[no-untyped-def]
    page.goto(examples_server.url)
    page.select_option("#to", "SNOMED")
    _look_up(page, "radlex:RID49896")
    assert "263703002" in page.inner_text("#matches")
    _uses_loaded(page)
    assert "OIFMA_GMTS_163920" in page.inner_text("#uses")
    page.fill("#code", "RADLEX:RID1")
    page.press("#code", "Enter")
    page.wait_for_function(
        "document.querySelector('#lookup-status').textContent.includes('not used')",
        timeout=30_000,
    )
    assert page.is_hidden("#lookup-result") and page.is_hidden("#lookup-choices")


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
    names = _column(page, "sparql-table", 1)
    page.click("#sparql-table thead th button")
    assert _column(page, "sparql-table", 1) == sorted(names, key=str.casefold)
    page.click("#sparql-table thead th button")
    assert _column(page, "sparql-table", 1) == sorted(names, key=str.casefold, reverse=True)
    page.fill("#sparql", "SELECT ?x WHERE { ?x ?y }")
    page.click("#run")
    page.wait_for_function(
        "document.querySelector('#sparql-status').textContent.includes('HTTP 400')",
        timeout=30_000,
    )
