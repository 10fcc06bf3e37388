"""Tests of the exporters: parse-back, prefixes, order, determinism, atomic writes, store export."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import rdflib
from conftest import EXAMPLES, ROOT
from rdflib.compare import graph_diff, isomorphic

from ontomap.atomic import atomic_write
from ontomap.errors import UnknownFormatError
from ontomap.exporters import EXPORTERS, export, exporter_for, serialize
from ontomap.graph import GraphBuilder, KnowledgeGraph, known_prefixes
from ontomap.model import (
    ChoiceAttribute,
    ChoiceValue,
    FindingModel,
    IndexCode,
    NumericAttribute,
    Person,
)
from ontomap.readers import read_models
from ontomap.store import Store

pytestmark = pytest.mark.filterwarnings(
    # rdflib's own JSON-LD parser uses its deprecated ConjunctiveGraph
    "ignore:ConjunctiveGraph is deprecated:DeprecationWarning"
)

RDFLIB_FORMATS = {"turtle": "turtle", "ntriples": "nt", "jsonld": "json-ld"}
#: The formats of the core (OWL, SSSOM and FHIR exporters have tests of their own).
CORE = sorted(RDFLIB_FORMATS)
STANDARD = {
    "sct": "http://snomed.info/id/",
    "radlex": "http://radlex.org/RID/",
    "loinc": "http://loinc.org/rdf/",
    "oifm": "https://w3id.org/ontomap/oifm#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
PREFIX_LINE = re.compile(rb"@prefix ([A-Za-z][\w.-]*)?: <([^>]*)> \.\n")

#: A model with what is awkward to serialise: escapes, odd code IRIs, numbers, other bases.
ODD = FindingModel(
    "OIFM_TEST_000001",
    'name with "quotes", a \\ backslash,\na new line, \ttab, é — 😀 and \x01',
    description="   kept as is   ",
    synonyms=("one", "two, with a comma"),
    tags=("@at", "#hash", "_:not a blank node"),
    contributors=(Person("Ada", email="ada@example.org", url="https://example.org/a?b=c&d#e"),),
    attributes=(
        NumericAttribute("OIFMA_TEST_000001", "size", minimum=-1.5, maximum=10**20, unit="°C"),
        ChoiceAttribute(
            "OIFMA_TEST_000002",
            "kind",
            tuple(ChoiceValue(f"OIFMA_TEST_000002.{n}", f"value {n}") for n in range(12)),
            max_selected=12,
            required=True,
        ),
    ),
    index_codes=(
        IndexCode.of("FOOBAR", "a b/c#d", "unknown system"),
        IndexCode.of("RADELEMENT", "RDES195.1"),
        IndexCode.of("ICD10CM", "K76.89", "liver; other"),
        IndexCode.of("Local.Codes", "(1)"),
        IndexCode.of("LOINC", "LA6557-8", "no verbal response (>2 yrs); no vocal response"),
    ),
)


@pytest.fixture(scope="module")
def odd_graph() -> KnowledgeGraph:
    return GraphBuilder().graph([ODD])


def _parse(data: bytes, fmt: str) -> rdflib.Graph:
    return rdflib.Graph().parse(data=data, format=RDFLIB_FORMATS[fmt])


def _assert_isomorphic(got: rdflib.Graph, want: rdflib.Graph) -> None:
    if not isomorphic(got, want):
        _both, only_got, only_want = graph_diff(got, want)
        pytest.fail(
            "graphs differ\nonly in the export:\n"
            + "\n".join(sorted(t.n3() for t in only_got))
            + "\nonly in the KnowledgeGraph:\n"
            + "\n".join(sorted(t.n3() for t in only_want))
        )


# -- parse back -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", CORE)
def test_export_parses_back_isomorphic_examples(examples_graph: KnowledgeGraph, fmt: str) -> None:
    parsed = _parse(serialize(examples_graph, fmt), fmt)
    assert len(parsed) == len(examples_graph) == 581
    _assert_isomorphic(parsed, examples_graph.to_rdflib())


@pytest.mark.parametrize("fmt", CORE)
@pytest.mark.parametrize(
    "base", ["https://w3id.org/ontomap/id/", "urn:oifm:", "http://example.org/kg#"]
)
def test_export_parses_back_isomorphic_odd_model(fmt: str, base: str) -> None:
    graph = GraphBuilder(base).graph([ODD])
    _assert_isomorphic(_parse(serialize(graph, fmt), fmt), graph.to_rdflib())
    (back,) = graph.models()
    assert back.name == ODD.name and back.description == ODD.description


def test_to_rdflib_has_the_same_triples(examples_graph: KnowledgeGraph) -> None:
    graph = examples_graph.to_rdflib()
    assert len(graph) == len(examples_graph)
    assert dict(graph.namespaces())["oifm"] == rdflib.URIRef("https://w3id.org/ontomap/oifm#")
    _assert_isomorphic(graph, _parse(examples_graph.ntriples(), "ntriples"))


# -- Turtle prefixes --------------------------------------------------------------------------


def _declared(turtle: bytes) -> dict[str, str]:
    return {m.group(1).decode(): m.group(2).decode() for m in PREFIX_LINE.finditer(turtle)}


def _unused_prefixes(turtle: bytes) -> list[str]:
    """Declared prefixes the document parses without: drop each declaration in turn."""
    unused = []
    for match in PREFIX_LINE.finditer(turtle):
        without = turtle.replace(match.group(0), b"", 1)
        try:
            rdflib.Graph().parse(data=without, format="turtle")
        except Exception:
            continue
        unused.append(match.group(1).decode())
    return unused


def _check_prefixes(turtle: bytes, graph: KnowledgeGraph) -> None:
    declared = _declared(turtle)
    assert declared, "no @prefix lines"
    assert not any(re.fullmatch(r"ns\d*", name) for name in declared), declared
    assert not re.search(rb"\bns\d+:", turtle)
    known = known_prefixes(None) | {"fm": graph.prefixes["fm"]}
    for name, namespace in declared.items():
        assert known.get(name) == namespace, (name, namespace)
    for name, namespace in STANDARD.items():
        assert declared.get(name, namespace) == namespace
    assert list(declared) == sorted(declared)
    assert turtle.count(b"@prefix") == len(declared)
    assert _unused_prefixes(turtle) == []


def test_turtle_declares_only_used_prefixes_examples(examples_graph: KnowledgeGraph) -> None:
    turtle = serialize(examples_graph, "turtle")
    _check_prefixes(turtle, examples_graph)
    assert set(_declared(turtle)) >= {"fm", "oifm", "skos", "rdfs", "radlex", "sct", "loinc"}
    assert "owl" not in _declared(turtle) and "icd10cm" not in _declared(turtle)


def test_turtle_declares_only_used_prefixes_odd_model(odd_graph: KnowledgeGraph) -> None:
    _check_prefixes(serialize(odd_graph, "turtle"), odd_graph)


def test_turtle_does_not_declare_prefixes_that_only_appear_in_text() -> None:
    model = FindingModel(
        "OIFM_TEST_000002",
        "prefix-like text",
        description="see owl: and (loinc:1), icd10cm: or [radlex:RID1]",
    )
    graph = GraphBuilder().graph([model])
    turtle = serialize(graph, "turtle")
    assert set(_declared(turtle)) == {"dcterms", "fm", "oifm", "rdfs"}, turtle.decode()


def test_turtle_is_grouped_by_subject(examples_graph: KnowledgeGraph) -> None:
    turtle = serialize(examples_graph, "turtle").decode()
    body = [line for line in turtle.splitlines() if line and not line.startswith("@prefix")]
    subject_lines = [line.split(" ", 1)[0] for line in body if not line[0].isspace()]
    assert len(subject_lines) == len(set(subject_lines))
    subjects = {line.split(" ", 1)[0] for line in examples_graph.lines}
    assert len(subject_lines) == len(subjects)
    assert subject_lines[0] == "fm:OIFM_GMTS_005529"


def test_turtle_subjects_in_natural_order(odd_graph: KnowledgeGraph) -> None:
    turtle = serialize(odd_graph, "turtle").decode()
    subjects = [
        line.split(" ", 1)[0]
        for line in turtle.splitlines()
        if line and not line.startswith(("@prefix", "\t", " "))
    ]
    expected = [
        "fm:OIFM_TEST_000001",
        "fm:OIFM_TEST_000001-contributor-0",
        "fm:OIFMA_TEST_000001",
        "fm:OIFMA_TEST_000002",
        *(f"fm:OIFMA_TEST_000002.{n}" for n in range(12)),  # .2 before .10
    ]
    assert subjects[: len(expected)] == expected
    assert not any(s.startswith("fm:") for s in subjects[len(expected) :])
    assert len(subjects) == len({line.split(" ", 1)[0] for line in odd_graph.lines})


# -- N-Triples and JSON-LD --------------------------------------------------------------------


@pytest.mark.parametrize("graph_name", ["examples_graph", "odd_graph"])
def test_ntriples_lines_sorted_and_unique(graph_name: str, request: pytest.FixtureRequest) -> None:
    graph: KnowledgeGraph = request.getfixturevalue(graph_name)
    data = serialize(graph, "ntriples")
    assert data.endswith(b"\n")
    lines = data.decode().splitlines()
    assert lines == sorted(lines)
    assert len(lines) == len(set(lines)) == len(graph)
    assert all(line.endswith(" .") for line in lines)


def test_corpus_ntriples_sorted(corpus_graph: KnowledgeGraph) -> None:
    lines = serialize(corpus_graph, "ntriples").decode().splitlines()
    assert len(lines) == len(corpus_graph) > 300_000
    assert lines == sorted(lines)


def test_jsonld_context_has_exactly_the_prefixes_used(odd_graph: KnowledgeGraph) -> None:
    document = json.loads(serialize(odd_graph, "jsonld"))
    context, nodes = document["@context"], document["@graph"]
    text = json.dumps(nodes)
    for name in context:
        assert f'"{name}:' in text, name
    for name in odd_graph.prefixes:
        if name not in context:
            assert f'"{name}:' not in text
    assert len({node["@id"] for node in nodes}) == len(nodes)


# -- format choice ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("x.ttl", "turtle"),
        ("X.TTL", "turtle"),
        ("x.turtle", "turtle"),
        ("x.nt", "ntriples"),
        ("dir.d/x.jsonld", "jsonld"),
        ("x.json-ld", "jsonld"),
    ],
)
def test_exporter_for_extension(path: str, name: str) -> None:
    assert exporter_for(path).name == name


def test_exporter_for_format_wins_over_extension() -> None:
    assert exporter_for("x.ttl", "ntriples").name == "ntriples"


@pytest.mark.parametrize(
    ("path", "fmt"), [("x.xml", None), ("x", None), (None, None), ("x.ttl", "owl2")]
)
def test_exporter_for_unknown(path: str | None, fmt: str | None) -> None:
    with pytest.raises(UnknownFormatError) as info:
        exporter_for(path, fmt)
    assert info.value.known == sorted(EXPORTERS)
    assert set(CORE) <= set(info.value.known)
    assert "--format" in str(info.value)


def test_media_types() -> None:
    assert {name: EXPORTERS[name].media_type for name in CORE} == {
        "turtle": "text/turtle",
        "ntriples": "application/n-triples",
        "jsonld": "application/ld+json",
    }


# -- determinism ------------------------------------------------------------------------------


def _export_in_subprocess(sources: Path, output: Path, seed: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONHASHSEED=seed)
    return subprocess.Popen(
        [sys.executable, "-m", "ontomap", "export", str(sources), "-o", str(output)],
        env=env,
        cwd=output.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _run_pair(sources: Path, outputs: tuple[Path, Path]) -> tuple[bytes, bytes]:
    runs = [
        _export_in_subprocess(sources, out, seed)
        for out, seed in zip(outputs, ("1", "4242"), strict=True)
    ]
    for run in runs:
        _stdout, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, stderr.decode()
        assert b"\r" not in stderr
    return outputs[0].read_bytes(), outputs[1].read_bytes()


@pytest.mark.parametrize("extension", [".ttl", ".nt", ".jsonld"])
def test_cli_export_is_byte_identical_across_hash_seeds(tmp_path: Path, extension: str) -> None:
    first, second = _run_pair(EXAMPLES, (tmp_path / f"a{extension}", tmp_path / f"b{extension}"))
    assert first and first == second
    graph = GraphBuilder().graph(s.model for s in read_models([EXAMPLES]).models)
    assert first == serialize(graph, exporter_for(f"x{extension}").name)


@pytest.fixture(scope="module")
def corpus_turtle(
    corpus_defs: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[bytes, bytes]:
    folder = tmp_path_factory.mktemp("corpus-turtle")
    return _run_pair(corpus_defs, (folder / "a.ttl", folder / "b.ttl"))


def test_cli_corpus_turtle_is_byte_identical_across_hash_seeds(
    corpus_turtle: tuple[bytes, bytes],
) -> None:
    first, second = corpus_turtle
    assert len(first) > 1_000_000
    assert first == second


def test_corpus_turtle_prefixes(
    corpus_turtle: tuple[bytes, bytes], corpus_graph: KnowledgeGraph
) -> None:
    turtle = corpus_turtle[0]
    declared = _declared(turtle)
    assert not re.search(rb"\bns\d+:", turtle)
    # a declared prefix needs at least one IRI in its namespace
    namespaces = set()
    for line in corpus_graph.lines:
        namespaces.update(re.findall(r"<([^>]*[/#:])[^>/#:]*>", line))
    unused = sorted(name for name, ns in declared.items() if ns not in namespaces)
    assert unused == []
    assert set(declared) >= {"fm", "oifm", "radlex", "sct", "gamuts", "skos", "rdfs"}


# -- atomic writes ----------------------------------------------------------------------------


class Interrupted(Exception):
    pass


def test_atomic_write_that_raises_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "findings.ttl"
    target.write_bytes(b"old content\n")
    with pytest.raises(Interrupted), atomic_write(target) as handle:
        handle.write(b"half of the new")
        handle.flush()
        raise Interrupted("disk on fire")
    assert target.read_bytes() == b"old content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.ttl"]


def test_atomic_write_replaces_on_success(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "findings.nt"
    with atomic_write(target) as handle:
        handle.write(b"new\n")
        assert not target.exists()  # nothing visible before the block ends
    assert target.read_bytes() == b"new\n"
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)
    assert sorted(p.name for p in target.parent.iterdir()) == ["findings.nt"]


@pytest.mark.parametrize("fmt", ["jsonld", "turtle"])  # both parse the lines they write
def test_export_that_fails_leaves_the_old_file(tmp_path: Path, fmt: str) -> None:
    target = tmp_path / "out.data"
    target.write_bytes(b"previous export\n")
    broken = KnowledgeGraph(
        [
            '<http://example.org/s> <http://example.org/p> "fine" .\n',
            "<http://example.org/s> not a triple .\n",
        ]
    )
    with pytest.raises(SyntaxError):
        export(broken, target, fmt)
    assert target.read_bytes() == b"previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.data"]


@pytest.mark.parametrize("fmt", CORE)
def test_export_writes_what_serialize_gives(
    tmp_path: Path, examples_graph: KnowledgeGraph, fmt: str
) -> None:
    target = tmp_path / "new" / "out.data"
    assert export(examples_graph, target, fmt).name == fmt
    assert target.read_bytes() == serialize(examples_graph, fmt)


# -- export from a store equals direct export -------------------------------------------------


@pytest.mark.parametrize("fmt", CORE)
def test_store_export_equals_direct_export_examples(tmp_path: Path, fmt: str) -> None:
    report = read_models([EXAMPLES])
    direct = GraphBuilder().graph(s.model for s in report.models)
    with Store(tmp_path / "kg") as store:
        store.load(report.models)
        from_store = store.graph()
    assert serialize(from_store, fmt) == serialize(direct, fmt)
    export(from_store, tmp_path / "store.out", fmt)
    export(direct, tmp_path / "direct.out", fmt)
    assert (tmp_path / "store.out").read_bytes() == (tmp_path / "direct.out").read_bytes()


def test_store_export_equals_direct_export_odd_model(
    tmp_path: Path, odd_graph: KnowledgeGraph
) -> None:
    from ontomap.readers import SourceModel

    with Store(tmp_path / "kg") as store:
        store.load([SourceModel(ODD, tmp_path / "odd.fm.json", "json")])
        from_store = store.graph()
    for fmt in CORE:
        assert serialize(from_store, fmt) == serialize(odd_graph, fmt), fmt


def test_store_export_equals_direct_export_corpus(
    corpus_store_graph: KnowledgeGraph, corpus_graph: KnowledgeGraph
) -> None:
    # equal N-Triples bytes mean equal graphs, and every exporter is a function of the graph
    assert serialize(corpus_store_graph, "ntriples") == serialize(corpus_graph, "ntriples")
