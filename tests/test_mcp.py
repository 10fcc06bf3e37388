"""``ontomap mcp``: the tools through the MCP SDK's own client, in process and over stdio.

Expectations are computed here from the corpus's JSON files (which entities use a code, which
codes are listed beside it, which findings a search must find), from the RF2 fixture of
``tests/resources/releases`` (status and replacements), and from the command line (the same
message for the same mistake); nothing is mocked.
"""

from __future__ import annotations

import asyncio
import csv
import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

mcp = pytest.importorskip("mcp")

from mcp import Client, ClientSession, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402
from servers import ENV, free_port, ontomap_server  # noqa: E402

from ontomap.cli import main  # noqa: E402
from ontomap.mcp.server import RESOURCE_TEMPLATE, build_server, one_line_error  # noqa: E402
from ontomap.mcp.tools import MAX_LIMIT, Tools  # noqa: E402
from ontomap.releases import Releases  # noqa: E402
from ontomap.store import Store  # noqa: E402
from ontomap.terminology import default_registry  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RELEASES = Path(__file__).parent / "resources" / "releases"
SNOMED = RELEASES / "snomed" / "SnomedCT_TestRF2_PRODUCTION_20250101T120000Z"
TOOLS = {
    "lookup_code",
    "where_used",
    "translate",
    "validate_codes",
    "search_findings",
    "get_finding",
    "sparql_select",
    "mapping_set",
}


# ------------------------------------------------------------------ independent expectations


def _key(entry: dict[str, str]) -> tuple[str, str]:
    return default_registry().resolve(entry["system"]).key, entry["code"]


class Corpus:
    """What the corpus's JSON files say, read without ontomap."""

    def __init__(self, defs: Path) -> None:
        self.models: dict[str, dict[str, Any]] = {}
        self.files: dict[str, Path] = {}
        #: (system, code) -> {(finding, kind, entity)}
        self.uses: dict[tuple[str, str], set[tuple[str, str, str]]] = defaultdict(set)
        #: entity -> its index codes (anatomic locations not included)
        self.entity_codes: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for path in sorted(defs.glob("*.fm.json")):
            model = json.loads(path.read_text(encoding="utf-8"))
            finding = model["oifm_id"]
            self.models[finding] = model
            self.files[finding] = path
            self._add(finding, "finding", finding, model.get("index_codes") or [])
            self._add(finding, "location", finding, model.get("anatomic_locations") or [])
            for attribute in model.get("attributes") or []:
                oifma = attribute["oifma_id"]
                self._add(finding, "attribute", oifma, attribute.get("index_codes") or [])
                for value in attribute.get("values") or []:
                    code = value["value_code"]
                    self._add(finding, "value", code, value.get("index_codes") or [])

    def _add(self, finding: str, kind: str, entity: str, codes: list[dict[str, str]]) -> None:
        for entry in codes:
            key = _key(entry)
            self.uses[key].add((finding, kind, entity))
            if kind != "location":
                self.entity_codes[entity].add(key)

    def listed_beside(self, code: tuple[str, str], system: str) -> set[str]:
        """Codes of ``system`` listed on an entity that lists ``code``."""
        out = set()
        for _finding, kind, entity in self.uses[code]:
            if kind != "location":
                out.update(c for s, c in self.entity_codes[entity] if s == system)
        return out

    def pairs(self, source: str, target: str) -> set[tuple[str, str]]:
        """(source code, target code) listed together on some entity."""
        out = set()
        for codes in self.entity_codes.values():
            for s, x in codes:
                for t, y in codes:
                    if s == source and t == target:
                        out.add((x, y))
        return out


def words(text: str) -> set[str]:
    return set(re.findall(r"[^\W_]+", text.casefold()))


@pytest.fixture(scope="session")
def corpus(corpus_defs: Path) -> Corpus:
    return Corpus(corpus_defs)


@pytest.fixture(scope="module")
def tools(corpus_store: Path) -> Iterator[Tools]:
    with Tools(corpus_store, sparql_timeout=5, max_rows=5000) as opened:
        yield opened


def call(tools: Tools, *calls: tuple[str, dict[str, Any]]) -> list[Any]:
    """Each (tool, arguments) called through the SDK's client on an in-process server."""

    async def run() -> list[Any]:
        async with Client(build_server(tools)) as client:
            return [await client.call_tool(name, args) for name, args in calls]

    return asyncio.run(run())


def ok(tools: Tools, name: str, **args: Any) -> dict[str, Any]:
    (result,) = call(tools, (name, args))
    assert not result.is_error, result.content[0].text
    assert result.structured_content is not None
    # the text content is the same answer, for clients that read only text
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content  # type: ignore[no-any-return]


def error(tools: Tools, name: str, **args: Any) -> str:
    (result,) = call(tools, (name, args))
    assert result.is_error, result.structured_content
    (block,) = result.content
    text: str = block.text
    assert "Traceback" not in text
    # one line; a query's syntax error adds, as the command line does, the line with a caret
    first, *excerpt = text.split("\n")
    assert first and all(re.match(r"^ *(\d+ )?\| ", line) for line in excerpt), text
    return text


def every_page(tools: Tools, name: str, items: str, limit: int, **args: Any) -> list[Any]:
    """Every item of a paged tool, read ``limit`` at a time following next_offset."""
    out: list[Any] = []
    offset = 0
    while True:
        answer = ok(tools, name, offset=offset, limit=limit, **args)
        out.extend(answer[items] if items != "used_by" else answer["used_by"]["items"])
        block = answer["page"]
        assert block["offset"] == offset and block["returned"] <= limit
        if not block["has_more"]:
            assert block["next_offset"] is None and len(out) == block["total"]
            return out
        assert block["next_offset"] == offset + block["returned"] and block["returned"] == limit
        offset = block["next_offset"]


def cli_error(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert isinstance(result.exception, SystemExit), result.output
    message = result.stderr.strip()
    return result.exit_code, message.removeprefix("ontomap: error: ")


# ------------------------------------------------------------------ the server's description


def test_tools_resources_and_schemas(tools: Tools) -> None:
    async def run() -> tuple[Any, Any]:
        async with Client(build_server(tools)) as client:
            return await client.list_tools(), await client.list_resource_templates()

    listed, templates = asyncio.run(run())
    by_name = {t.name: t for t in listed.tools}
    assert set(by_name) == TOOLS
    for tool in by_name.values():
        assert tool.input_schema["type"] == "object"
        assert tool.output_schema is not None and tool.output_schema["type"] == "object"
        if tool.name not in ("validate_codes", "get_finding"):
            assert "Page" in tool.output_schema["$defs"]
        assert tool.annotations is not None and tool.annotations.read_only_hint
        props = tool.input_schema["properties"]
        if "limit" in props:  # every list tool is paged, with its bounds in the schema
            assert props["limit"]["maximum"] == MAX_LIMIT and props["limit"]["minimum"] == 0
            assert "offset" in props
    # the descriptions teach the evidence semantics
    for name in ("lookup_code", "translate", "mapping_set"):
        text = by_name[name].description
        assert "evidence, not equivalence" in text and "template" in text and "context" in text
    assert "never skos:exactMatch" in by_name["lookup_code"].description
    assert [t.uri_template for t in templates.resource_templates] == [RESOURCE_TEMPLATE]


# ------------------------------------------------------------------ lookup_code, where_used


def test_lookup_code_is_the_cli_lookup_with_a_page(tools: Tools, corpus_store: Path) -> None:
    answer = ok(tools, "lookup_code", code="RID5791", offset=50, limit=25)
    result = CliRunner().invoke(
        main,
        [
            *("lookup", "RID5791", "--store", str(corpus_store), "--format", "json"),
            *("--offset", "50", "--limit", "25"),
        ],
    )
    assert result.exit_code == 0
    page = answer.pop("page")
    assert answer == json.loads(result.output)
    assert page == {
        "total": 1994,
        "offset": 50,
        "limit": 25,
        "returned": 25,
        "has_more": True,
        "next_offset": 75,
    }


def test_where_used_matches_the_json_files(tools: Tools, corpus: Corpus) -> None:
    # the code used in the most different ways (kinds), then by use count
    code = max(corpus.uses, key=lambda c: (len({k for _, k, _ in corpus.uses[c]}), c))
    expected = corpus.uses[code]
    curie = f"{code[0]} {code[1]}"
    items = every_page(tools, "where_used", "items", 7, code=curie)
    assert {(i["finding"], i["kind"], i["entity"]) for i in items} == expected
    assert len(items) == len(expected)
    names = {f: m["name"] for f, m in corpus.models.items()}
    assert all(i["finding_label"] == names[i["finding"]] for i in items)
    # one kind only
    for kind in {k for _, k, _ in expected}:
        got = every_page(tools, "where_used", "items", MAX_LIMIT, code=curie, kind=kind)
        assert {(i["finding"], i["kind"], i["entity"]) for i in got} == {
            u for u in expected if u[1] == kind
        }
    answer = ok(tools, "where_used", code=curie, limit=0)
    assert answer["uses"] == len(expected)
    assert answer["findings"] == len({f for f, _, _ in expected})
    assert answer["items"] == [] and answer["page"]["has_more"]


def test_offset_past_the_end(tools: Tools) -> None:
    answer = ok(tools, "where_used", code="RID5791", offset=10**9)
    assert answer["items"] == [] and answer["page"]["total"] == 1994
    assert answer["page"]["has_more"] is False and answer["page"]["next_offset"] is None


# ------------------------------------------------------------------ translate


@pytest.mark.parametrize(
    ("code", "target"), [(("RADLEX", "RID5791"), "SNOMED"), (("RADLEX", "RID28473"), "SNOMED")]
)
def test_translate_gives_the_codes_listed_beside(
    tools: Tools, corpus: Corpus, code: tuple[str, str], target: str
) -> None:
    text = f"{code[0]}:{code[1]}"
    every = every_page(
        tools, "translate", "matches", 3, code=text, target_system=target, include_colisted=True
    )
    assert {m["code"] for m in every} == corpus.listed_beside(code, target)
    paired = ok(tools, "translate", code=text, target_system=target, limit=MAX_LIMIT)
    assert paired["result"] is (paired["paired"] > 0)
    assert {m["code"] for m in paired["matches"]} == {
        m["code"] for m in every if m["status"] == "paired"
    }
    assert paired["paired"] + paired["colisted"] == len(every)
    for m in paired["matches"]:
        assert m["system"] == target and m["fhir_system"] == "http://snomed.info/sct"
        assert m["relationship"] == "related-to"
        assert m["equivalence"] in ("inexact", "relatedto")
        assert m["predicate"] in ("skos:closeMatch", "skos:relatedMatch")


def test_translate_aliases_and_errors(tools: Tools) -> None:
    answer = ok(tools, "translate", code="RID5791", target_system="SNOMEDCT")
    assert answer["target_system"] == "SNOMED" and answer["matches"][0]["curie"] == "sct:263768009"
    assert "already a RADLEX code" in error(
        tools, "translate", code="RID5791", target_system="RADLEX"
    )
    message = error(tools, "translate", code="RID5791", target_system="KLINGON")
    assert message.startswith("unknown code system 'KLINGON'; known systems:")


# ------------------------------------------------------------------ validate_codes


_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]


def _verhoeff_ok(number: str) -> bool:
    """The Verhoeff check, with the textbook tables (dihedral group D5, permutation)."""
    check = 0
    for i, digit in enumerate(reversed(number)):
        check = _D[check][_P[i % 8][int(digit)]]
    return check == 0


def test_validate_codes_check_digits(tools: Tools, corpus: Corpus) -> None:
    used = sorted(c for s, c in corpus.uses if s == "SNOMED")[:3]
    assert all(_verhoeff_ok(c) for c in used)
    texts = [f"sct:{c[:-1]}{d}" for c in used for d in "0123456789"]
    answer = ok(tools, "validate_codes", codes=texts)
    assert answer["checked"] == 30
    for text, item in zip(texts, answer["codes"], strict=True):
        good = _verhoeff_ok(item["code"])
        assert item["syntax_ok"] is good, text
        if not good:
            assert item["valid"] is False
            assert any("check digit is wrong" in p for p in item["problems"])
        else:
            assert item["in_corpus"]["used"] is True
            expected = {u for u in corpus.uses[("SNOMED", item["code"])] if u[1] != "location"}
            assert item["in_corpus"]["index_uses"] == len(expected)


def test_validate_codes_syntax_and_unreadable(tools: Tools) -> None:
    answer = ok(
        tools,
        "validate_codes",
        codes=["RID5791", "RADLEX:RIDX", "FOO:1", "'; DROP ALL; --", "RID999999999", ""],
    )
    found, malformed, unknown, injection, unused, empty = answer["codes"]
    assert found["valid"] and found["in_corpus"]["labels"] == ["enlarged"]
    assert found["releases"] == [] and "no release of RADLEX" in found["releases_note"]
    assert not malformed["syntax_ok"] and "expected the pattern" in malformed["problems"][0]
    for item in (unknown, injection, empty):
        assert item["recognized"] is False and item["valid"] is False
    assert unknown["problems"][0].startswith("unknown code system 'FOO' in 'FOO:1'")
    assert unused["syntax_ok"] and not unused["in_corpus"]["used"]
    assert answer["valid"] == 2  # found and unused: without a release, use is not validity
    assert "from 1 to 200 codes" in error(tools, "validate_codes", codes=["RID1"] * 201)
    assert "from 1 to 200 codes" in error(tools, "validate_codes", codes=[])


@pytest.fixture(scope="module")
def release_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mcp-releases") / "kg"
    models = RELEASES / "lookup"
    result = CliRunner().invoke(main, ["build", str(models), "--store", str(path), "-q"])
    assert result.exit_code == 0, result.output
    with Store(path) as store:
        Releases(store).load(SNOMED)
    return path


def _rf2(name: str) -> list[dict[str, str]]:
    (path,) = SNOMED.glob(f"Snapshot/**/{name}*.txt")
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_validate_codes_with_a_release(release_store: Path) -> None:
    active = {row["id"]: row["active"] == "1" for row in _rf2("sct2_Concept")}
    replaced = {
        row["referencedComponentId"]: row["targetComponentId"]
        for row in _rf2("der2_cRefset_Association")
        if row["active"] == "1" and row["refsetId"] == "900000000000526001"  # REPLACED BY
    }
    codes = ["sct:1004008", "sct:1005009", "sct:1009003"]
    with Tools(release_store) as opened:
        answer = ok(opened, "validate_codes", codes=codes)
    current, retired, absent = answer["codes"]
    assert active["1004008"] and current["valid"] and current["problems"] == []
    assert current["preferred_term"] == "Test lung nodule"
    assert current["releases"][0]["status"] == "active"
    assert not active["1005009"] and retired["valid"] is False
    assert [c["code"] for c in retired["releases"][0]["replaced_by"]] == [replaced["1005009"]]
    assert f"replaced by sct:{replaced['1005009']}" in retired["problems"][0]
    assert "1009003" not in active and absent["releases"][0]["found"] is False
    assert absent["problems"] == ["sct:1009003 is not in SNOMED 20250101"]


# ------------------------------------------------------------------ search_findings, get_finding


def _matching(corpus: Corpus, query: str, tags: set[str] = frozenset()) -> set[str]:  # type: ignore[assignment]
    wanted = words(query)
    out = set()
    for finding, model in corpus.models.items():
        have = set()
        for text in [model["name"], *(model.get("synonyms") or []), *(model.get("tags") or [])]:
            have |= words(text)
        model_tags = {t.casefold() for t in model.get("tags") or []}
        if wanted <= have and tags <= model_tags:
            out.add(finding)
    return out


@pytest.mark.parametrize("query", ["abscess", "Pulmonary nodule", "calcification liver", "CT"])
def test_search_finds_every_model_holding_the_words(
    tools: Tools, corpus: Corpus, query: str
) -> None:
    items = every_page(tools, "search_findings", "items", 200, query=query)
    expected = _matching(corpus, query)
    assert expected and {i["oifm_id"] for i in items} == expected
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)


def test_search_ranks_the_exact_name_first_and_filters_tags(tools: Tools, corpus: Corpus) -> None:
    name = corpus.models["OIFM_GMTS_014788"]["name"]
    answer = ok(tools, "search_findings", query=name.upper(), limit=5)
    assert answer["items"][0]["oifm_id"] == "OIFM_GMTS_014788" and answer["items"][0]["score"] == 1
    tagged = every_page(tools, "search_findings", "items", 100, query="abscess", tags=["Chest"])
    assert {i["oifm_id"] for i in tagged} == _matching(corpus, "abscess", {"chest"})
    assert all("chest" in {t.casefold() for t in i["tags"]} for i in tagged)


def test_search_by_code(tools: Tools, corpus: Corpus) -> None:
    items = every_page(tools, "search_findings", "items", MAX_LIMIT, query="RADLEX:RID5791")
    assert {i["oifm_id"] for i in items} == {f for f, _, _ in corpus.uses[("RADLEX", "RID5791")]}
    assert {i["matched"] for i in items} == {"code"}


@pytest.mark.parametrize(
    "query",
    ['"} UNION { ?s ?p ?o } #', "'; DROP ALL; --", "<script>alert(1)</script>", "x" * 500],
)
def test_search_injection_strings_are_just_text(tools: Tools, corpus: Corpus, query: str) -> None:
    answer = ok(tools, "search_findings", query=query)
    assert {i["oifm_id"] for i in answer["items"]} == _matching(corpus, query)


def test_search_errors(tools: Tools) -> None:
    assert "holds no word to search for" in error(tools, "search_findings", query="!!! ---")
    assert "at most 500 are accepted" in error(tools, "search_findings", query="a" * 10_001)


def _codes(entries: list[dict[str, str]] | None) -> set[tuple[str, str, str | None]]:
    return {(*_key(e), e.get("display")) for e in entries or []}


def test_get_finding_gives_the_model_as_its_file_says(tools: Tools, corpus: Corpus) -> None:
    for oifm_id in ("OIFM_GMTS_004244", sorted(corpus.models)[0], sorted(corpus.models)[-1]):
        source = corpus.models[oifm_id]
        answer = ok(tools, "get_finding", oifm_id=oifm_id)
        model = answer["model"]
        assert answer["source_file"] == str(corpus.files[oifm_id].resolve())
        for member in ("oifm_id", "name", "description"):
            assert model.get(member) == source.get(member)
        for member in ("synonyms", "tags"):
            assert set(model.get(member, [])) == set(source.get(member) or [])
        assert _codes(model.get("index_codes")) == _codes(source.get("index_codes"))
        assert [a["oifma_id"] for a in model["attributes"]] == [
            a["oifma_id"] for a in source["attributes"]
        ]
        for got, want in zip(model["attributes"], source["attributes"], strict=True):
            assert got["type"] == want["type"] and got["name"] == want["name"]
            assert _codes(got.get("index_codes")) == _codes(want.get("index_codes"))
            assert [v["value_code"] for v in got.get("values", [])] == [
                v["value_code"] for v in want.get("values") or []
            ]
            for v, w in zip(got.get("values", []), want.get("values") or [], strict=True):
                assert _codes(v.get("index_codes")) == _codes(w.get("index_codes"))
        text = ok(tools, "get_finding", oifm_id=oifm_id, format="source")["text"]
        assert text == corpus.files[oifm_id].read_text(encoding="utf-8")


def test_finding_resource(tools: Tools, corpus: Corpus) -> None:
    async def run(uri: str) -> Any:
        async with Client(build_server(tools)) as client:
            return await client.read_resource(uri)

    read = asyncio.run(run("ontomap://findings/OIFM_GMTS_004244"))
    (content,) = read.contents
    assert content.mime_type == "application/json"
    assert json.loads(content.text) == ok(tools, "get_finding", oifm_id="OIFM_GMTS_004244")["model"]

    async def refused(uri: str) -> str:
        async with Client(build_server(tools)) as client:
            try:
                await client.read_resource(uri)
            except mcp.MCPError as exc:
                return str(exc)
        raise AssertionError(f"{uri} was read")

    message = asyncio.run(refused("ontomap://findings/OIFM_ZZZZ_999999"))
    assert "OIFM_ZZZZ_999999 is not in the store" in message
    assert "is not an OIFM ID" in asyncio.run(refused("ontomap://findings/nothing"))


@pytest.mark.parametrize(
    "oifm_id", ["../../etc/passwd", "OIFM_GMTS_004244' } DROP ALL", "oifm_gmts_004244", ""]
)
def test_get_finding_refuses_what_is_no_oifm_id(tools: Tools, oifm_id: str) -> None:
    assert "is not an OIFM ID (expected the pattern" in error(tools, "get_finding", oifm_id=oifm_id)


# ------------------------------------------------------------------ sparql_select


def test_sparql_select_pages(tools: Tools, corpus: Corpus) -> None:
    query = "SELECT ?id WHERE { ?f a oifm:FindingModel ; oifm:oifmId ?id } ORDER BY ?id"
    rows = every_page(tools, "sparql_select", "bindings", MAX_LIMIT, query=query)
    assert [r["id"]["value"] for r in rows] == sorted(corpus.models)
    answer = ok(tools, "sparql_select", query=query, limit=1)
    assert answer["vars"] == ["id"] and answer["truncated"] is False


def test_sparql_select_row_cap(tools: Tools) -> None:
    answer = ok(
        tools, "sparql_select", query="SELECT * WHERE { ?s ?p ?o } LIMIT 1000000000000000", limit=3
    )
    assert answer["truncated"] is True and answer["max_rows"] == 5000
    assert answer["page"]["total"] == 5000 and len(answer["bindings"]) == 3
    assert "more than 5,000 solutions" in answer["note"]


def test_sparql_select_refusals(tools: Tools, corpus_store: Path) -> None:
    code, cli_message = cli_error("query", "DROP ALL", "--store", str(corpus_store))
    assert code == 2
    assert error(tools, "sparql_select", query="DROP ALL") == cli_message
    message = error(
        tools,
        "sparql_select",
        query="SELECT * WHERE { SERVICE <http://example.org/> { ?s ?p ?o } }",
    )
    assert message.startswith("query refused: SERVICE <http://example.org/> (federated query)")
    nested = "SELECT * WHERE { FILTER(" + "(" * 3000 + "1" + ")" * 3000 + ") }"
    assert "the query nests too deeply" in error(tools, "sparql_select", query=nested)
    assert "SPARQL syntax error" in error(tools, "sparql_select", query="SELECT ?x WHERE {")
    assert "sparql_select runs SELECT queries; this one is ASK" in error(
        tools, "sparql_select", query="ASK { ?s ?p ?o }"
    )
    assert "at most 100,000 are accepted" in error(
        tools, "sparql_select", query="SELECT * {}" + " " * 100_000
    )


def test_sparql_select_timeout(corpus_store: Path) -> None:
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    with Tools(corpus_store, sparql_timeout=1) as opened:
        started = time.monotonic()
        message = error(opened, "sparql_select", query=slow)
        assert time.monotonic() - started < 30
        assert "was stopped after 1 s" in message
        # the worker was replaced: the next query is answered
        answer = ok(opened, "sparql_select", query="SELECT ?x WHERE { BIND (1 AS ?x) }")
        assert answer["bindings"] == [
            {
                "x": {
                    "type": "literal",
                    "value": "1",
                    "datatype": ("http://www.w3.org/2001/XMLSchema#integer"),
                }
            }
        ]


# ------------------------------------------------------------------ mapping_set


def test_mapping_set_accounts_for_every_colisted_pair(tools: Tools, corpus: Corpus) -> None:
    mappings = every_page(
        tools, "mapping_set", "mappings", 40, source_system="RADLEX", target_system="SNOMED"
    )
    answer = ok(tools, "mapping_set", source_system="RADLEX", target_system="SNOMED", limit=0)
    pairs = corpus.pairs("RADLEX", "SNOMED")
    got = {
        (m["subject"].removeprefix("radlex:"), m["object"].removeprefix("sct:")) for m in mappings
    }
    assert got <= pairs and len(got) == len(mappings) == answer["counts"]["mappings"]
    counts = answer["counts"]
    left_out = counts["colisted_left_out"] + counts["below_threshold"]
    assert len(mappings) + left_out + counts["outliers_left_out"] == len(pairs)
    assert {m["predicate"] for m in mappings} <= {"skos:closeMatch", "skos:relatedMatch"}
    marked = ok(
        tools,
        "mapping_set",
        source_system="RADLEX",
        target_system="SNOMED",
        outliers="mark",
        limit=MAX_LIMIT,
    )
    assert marked["counts"]["mappings"] == len(mappings) + counts["outliers_left_out"]
    assert sum(m["outlier"] for m in marked["mappings"]) == counts["outliers_left_out"]
    strict = ok(tools, "mapping_set", source_system="RADLEX", target_system="SNOMED", min_support=2)
    assert strict["counts"]["mappings"] == sum(
        1 for m in mappings if m["independent_contexts"] >= 2
    )


def test_mapping_set_errors(tools: Tools) -> None:
    assert "name the same system (RADLEX)" in error(
        tools, "mapping_set", source_system="RADLEX", target_system="radlex"
    )
    assert error(
        tools, "mapping_set", source_system="RADLEX", target_system="SNOMED", min_share=2
    ) == ("bad min_share 2.0: give a number from 0 to 1")


# ------------------------------------------------------------------ hostile arguments


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("lookup_code", {"code": "RID5791", "limit": 10**12}),
        ("lookup_code", {"code": "RID5791", "limit": -1}),
        ("where_used", {"code": "RID5791", "offset": -1}),
        ("where_used", {"code": "RID5791", "offset": 10**10}),
        ("search_findings", {"query": "abscess", "limit": 1001}),
        ("sparql_select", {"query": "SELECT * {}", "limit": 2**63}),
        ("mapping_set", {"source_system": "RADLEX", "target_system": "SNOMED", "limit": 10**12}),
        ("translate", {"code": "RID5791", "target_system": "SNOMED", "limit": -5}),
    ],
)
def test_limits_out_of_range(tools: Tools, tool: str, args: dict[str, Any]) -> None:
    name = "offset" if "offset" in args else "limit"
    largest = 10**9 if name == "offset" else MAX_LIMIT
    default = 0 if name == "offset" else 50
    assert error(tools, tool, **args) == (
        f"bad {name} {args[name]}: give a whole number from 0 to {largest} (default {default})"
    )


def test_wrong_types_give_one_line(tools: Tools) -> None:
    message = error(tools, "lookup_code", code="RID5791", limit="ten")
    assert message.startswith("bad limit 'ten': Input should be a valid integer")
    assert error(tools, "where_used", code="RID5791", kind="bogus").startswith("bad kind 'bogus'")
    assert error(tools, "lookup_code") == "bad code: Field required"


@pytest.mark.parametrize(
    "code",
    [
        "RID5791' } ; DROP ALL ; #",
        "RADLEX:RID5791> } UNION { ?s ?p ?o",
        "http://radlex.org/RID/RID5791> . ?s ?p ?o . <x",
        "sct:263768009\u0000",
        "FOO:1",
        "\ud800",
        "",
        "RID" + "9" * 1000,
    ],
)
def test_injection_strings_in_codes_get_the_cli_message(
    tools: Tools, corpus_store: Path, code: str
) -> None:
    message = error(tools, "lookup_code", code=code)
    if "\ud800" not in code:
        status, cli_message = cli_error("lookup", code, "--store", str(corpus_store))
        assert status == 3 and message == cli_message
    # and the same for the tools built on the lookup
    assert error(tools, "where_used", code=code) == message
    assert error(tools, "translate", code=code, target_system="SNOMED") == message


def test_one_line_error() -> None:
    text = (
        "Error executing tool lookup_code: 2 validation errors for lookup_codeArguments\n"
        "code\n  Field required [type=missing, input_value={}, input_type=dict]\n"
        "    For further information visit https://errors.pydantic.dev/2/v/missing\n"
        "limit\n  Input should be a valid integer [type=int_type, input_value=1.5, "
        "input_type=float]\n"
    )
    assert one_line_error(text) == (
        "bad code: Field required; bad limit 1.5: Input should be a valid integer"
    )
    assert one_line_error("Error executing tool x: plain message") == "plain message"


# ------------------------------------------------------------------ store generations


def test_a_build_while_serving_is_seen_by_the_next_call(tmp_path: Path, corpus_defs: Path) -> None:
    examples = sorted(corpus_defs.glob("*.fm.json"))[:2]
    store = tmp_path / "kg"
    first = json.loads(examples[0].read_text(encoding="utf-8"))
    second = json.loads(examples[1].read_text(encoding="utf-8"))
    build = ["build", str(examples[0]), "--store", str(store), "-q"]
    assert CliRunner().invoke(main, build).exit_code == 0
    with Tools(store) as opened:
        assert ok(opened, "get_finding", oifm_id=first["oifm_id"])["name"] == first["name"]
        missing = error(opened, "get_finding", oifm_id=second["oifm_id"])
        assert missing.startswith(f"{second['oifm_id']} is not in the store at {store}")
        query = "SELECT ?f WHERE { ?f a oifm:FindingModel }"
        assert ok(opened, "sparql_select", query=query)["page"]["total"] == 1
        build = ["build", str(examples[1]), "--store", str(store), "-q"]
        assert CliRunner().invoke(main, build).exit_code == 0
        assert ok(opened, "get_finding", oifm_id=second["oifm_id"])["name"] == second["name"]
        found = ok(opened, "search_findings", query=second["name"])["items"]
        assert found[0]["oifm_id"] == second["oifm_id"]
        # the query workers move to the new generation too (within their poll interval)
        for _attempt in range(50):
            if ok(opened, "sparql_select", query=query)["page"]["total"] == 2:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("sparql_select still reads the old generation")


# ------------------------------------------------------------------ on a SPARQL endpoint


def test_on_an_endpoint_the_answers_are_the_stores(
    tools: Tools, corpus_store: Path, tmp_path: Path
) -> None:
    calls: list[tuple[str, dict[str, Any]]] = [
        ("lookup_code", {"code": "RID5791", "offset": 3, "limit": 4}),
        ("where_used", {"code": "sct:263768009", "limit": 5}),
        ("translate", {"code": "RID28473", "target_system": "SNOMED"}),
        ("search_findings", {"query": "abscess", "tags": ["chest"]}),
        ("get_finding", {"oifm_id": "OIFM_GMTS_004244"}),
        ("mapping_set", {"source_system": "RADLEX", "target_system": "SNOMED", "limit": 20}),
        ("sparql_select", {"query": "SELECT ?f { ?f a oifm:FindingModel } ORDER BY ?f LIMIT 7"}),
    ]
    with (
        ontomap_server(corpus_store, log_dir=tmp_path) as served,
        Tools(endpoint=served.query, timeout=30, max_rows=5000) as remote,
    ):
        for name, args in calls:
            here, there = ok(tools, name, **args), ok(remote, name, **args)
            if name == "get_finding":
                assert here.pop("source_file") and there.pop("source_file") is None
                here.pop("source_format"), there.pop("source_format")
            assert there == here, name
        assert error(remote, "sparql_select", query="SELECT * { SERVICE <x:y> { ?s ?p ?o } }")
        assert (
            "from a local store only"
            in ok(remote, "validate_codes", codes=["RID5791"])["codes"][0]["releases_note"]
        )
        assert "does not say where" in error(
            remote, "get_finding", oifm_id="OIFM_GMTS_004244", format="source"
        )


# ------------------------------------------------------------------ the command line


def test_cli_usage_errors(corpus_store: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["mcp", "--help"])
    assert result.exit_code == 0 and "lookup_code" in result.output
    assert cli_error("mcp", "--store", str(tmp_path / "none")) == (
        4,
        f"no store at {tmp_path / 'none'}; create one with 'ontomap build SOURCES --store "
        f"{tmp_path / 'none'}'",
    )
    assert cli_error("mcp", "--store", str(corpus_store), "--port", "9999") == (
        2,
        "--port applies to --http",
    )
    assert cli_error(
        "mcp", "--store", str(corpus_store), "--endpoint", "http://127.0.0.1:1/query"
    ) == (2, "give --store or --endpoint, not both")


def test_without_the_sdk_a_usage_error(tmp_path: Path) -> None:
    script = (
        "import sys; sys.modules['mcp'] = None\n"
        "from ontomap.cli import main\n"
        f"main(['mcp', '--store', {str(tmp_path)!r}])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=ENV, timeout=60
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        "ontomap: error: ontomap mcp needs the MCP Python SDK, and the package mcp cannot be "
        "imported: pip install 'ontomap[mcp]'\n"
    )


def test_over_stdio(corpus_store: Path) -> None:
    """The real command as a subprocess, through the SDK's stdio client and ClientSession."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "ontomap", "mcp", "--store", str(corpus_store), "--timeout", "5"],
        env=dict(ENV),
        cwd=str(ROOT),
    )

    async def run() -> list[Any]:
        with tempfile.TemporaryFile("w+") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                listed = await session.list_tools()
                found = await session.call_tool("lookup_code", {"code": "RID5791", "limit": 2})
                query = await session.call_tool(
                    "sparql_select", {"query": "SELECT * WHERE { ?s ?p ?o }", "limit": 10**12}
                )
                refused = await session.call_tool(
                    "sparql_select", {"query": "INSERT DATA { <a:b> <a:c> <a:d> }"}
                )
                rows = await session.call_tool(
                    "sparql_select", {"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 3"}
                )
            errlog.seek(0)
            return [listed, found, query, refused, rows, errlog.read()]

    listed, found, query, refused, rows, log = asyncio.run(run())
    assert {t.name for t in listed.tools} == TOOLS
    assert not found.is_error and found.structured_content["code"]["curie"] == "radlex:RID5791"
    assert found.structured_content["used_by"]["items"][1]["kind"] == "value"
    assert query.is_error and query.content[0].text.startswith("bad limit 1000000000000:")
    assert refused.is_error and refused.content[0].text.startswith("INSERT is a SPARQL update")
    assert not rows.is_error and len(rows.structured_content["bindings"]) == 3
    assert "Traceback" not in log


def test_over_streamable_http(corpus_store: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "ontomap", "mcp", "--store", str(corpus_store)),
            *("--http", "--port", str(port)),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=ENV,
        cwd=ROOT,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline().decode()
        assert line == f"ontomap mcp: serving on http://127.0.0.1:{port}/mcp\n"

        async def run() -> Any:
            for _attempt in range(100):
                try:
                    async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                        return await client.call_tool(
                            "translate", {"code": "RID5791", "target_system": "SNOMED"}
                        )
                except Exception:
                    await asyncio.sleep(0.1)
            raise AssertionError("the HTTP server did not answer")

        answer = asyncio.run(run())
        assert not answer.is_error and answer.structured_content["result"] is True
        # a page elsewhere cannot reach it through DNS rebinding: a foreign Host is refused
        foreign = urllib.request.Request(
            f"http://127.0.0.1:{port}/mcp",
            data=b"{}",
            headers={
                "Host": "attacker.example",
                "Content-Type": "application/json",
                "Accept": "application/json, text/event-stream",
            },
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(foreign, timeout=10)
        assert 400 <= refused.value.code < 500
        assert cli_error("mcp", "--store", str(corpus_store), "--http", "--port", str(port))[0] == 2
    finally:
        process.terminate()
        process.wait(timeout=30)
