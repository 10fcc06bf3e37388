"""Texts holding the characters :meth:`str.splitlines` breaks lines at (U+2028, U+0085,
U+2029, U+000B, U+000C, U+001C-U+001E, a lone carriage return) go through every path that
handles N-Triples lines: export from the sources and from the store, CONSTRUCT and DESCRIBE
locally and on an endpoint, and push. Every text comes back intact, read by rdflib.

Also: SSSOM rows stay on their lines, lookup tables and error messages on one line, and
option values that are no text or no IRI (a base IRI, a mapping set ID) are usage errors."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from conftest import EXAMPLES, ROOT
from servers import oxigraph_server

from ontomap.backends import LocalBackend, RemoteBackend
from ontomap.errors import ExportError
from ontomap.exporters import EXPORTERS, serialize
from ontomap.graph import Dataset, GraphBuilder, KnowledgeGraph
from ontomap.model import FindingModel
from ontomap.ntriples import lines_of
from ontomap.query import GraphResult, run_query
from ontomap.readers import SourceModel, read_models
from ontomap.store import Store

pytestmark = pytest.mark.filterwarnings(
    # rdflib's own JSON-LD parser uses its deprecated ConjunctiveGraph
    "ignore:ConjunctiveGraph is deprecated:DeprecationWarning"
)

#: Line breaks for str.splitlines that a finding model's text may hold (the readers keep them).
TEXT_BREAKS = "\u2028\u0085\u2029\r"
#: The other ones: C0 controls, which the graph must carry as well when a model holds them.
CONTROL_BREAKS = "\x0b\x0c\x1c\x1d\x1e"
ALL_BREAKS = TEXT_BREAKS + CONTROL_BREAKS
FINDING = "https://w3id.org/ontomap/id/OIFM_OMAP_000001"
ENV = dict(os.environ, PYTHONPATH=str(ROOT))
ENV.pop("ONTOMAP_STORE", None)
#: rdflib's parser for each export format.
RDFLIB = {
    "turtle": "turtle",
    "ntriples": "nt",
    "jsonld": "json-ld",
    "owl": "xml",
    "owl-ttl": "turtle",
    "rdfxml": "xml",
    "nquads": "nquads",
    "trig": "trig",
}


def _parse(data: bytes, fmt: str) -> rdflib.Graph:
    """``data`` read by rdflib; a dataset format as the union of its graphs."""
    if EXPORTERS[fmt].dataset:
        dataset = rdflib.Dataset(default_union=True)
        dataset.parse(data=data, format=RDFLIB[fmt])
        return dataset
    return rdflib.Graph().parse(data=data, format=RDFLIB[fmt])


def _texts(breaks: str) -> dict[str, str]:
    """Texts for the example nodule model, each holding every character of ``breaks``: in
    the middle, in runs, before and after a new line, and a lone one at each end of a word."""
    mixed = "".join(f"[{c}]" for c in breaks)
    return {
        "name": f"solitary{breaks[0]}pulmonary nodule",
        "description": f"A single{mixed} opacity,\r\nthen{breaks}{breaks}\nend",
        "synonym": f"SPN{breaks[-1]}x",
        "synonym2": f"lone{breaks[len(breaks) // 2]}break in a synonym",
        "attribute": f"Presence{mixed}of a nodule",
        "value": f"No{breaks}nodule",
        "display": f"Absent{breaks[0]}(qualifier value)",
    }


def _edge_json(breaks: str) -> dict[str, object]:
    """The bundled nodule model (JSON) with :func:`_texts` in its texts."""
    texts = _texts(breaks)
    data = json.loads((EXAMPLES / "solitary_pulmonary_nodule.fm.json").read_text("utf-8"))
    data["name"] = texts["name"]
    data["description"] = texts["description"]
    data["synonyms"] = [texts["synonym"], texts["synonym2"]]
    presence = data["attributes"][0]
    presence["description"] = texts["attribute"]
    presence["values"][0]["description"] = texts["value"]
    presence["values"][0]["index_codes"][1]["display"] = texts["display"]
    return data


def _with_controls(model: FindingModel) -> FindingModel:
    """``model`` with :data:`CONTROL_BREAKS` added to its texts (built in Python: the readers
    refuse C0 controls, the graph must still carry them)."""
    attribute = model.attributes[0]
    return dataclasses.replace(
        model,
        name=f"{model.name}{CONTROL_BREAKS}tail",
        description=f"{model.description}|{ALL_BREAKS}|",
        synonyms=(*model.synonyms, f"ctl{CONTROL_BREAKS}x"),
        attributes=(
            dataclasses.replace(attribute, description=f"{attribute.description}{ALL_BREAKS}!"),
            *model.attributes[1:],
        ),
    )


def _literals(graph: rdflib.Graph) -> set[str]:
    return {str(o) for o in graph.objects() if isinstance(o, rdflib.Literal)}


def _model_texts(model: FindingModel) -> set[str]:
    texts = {model.name, model.description or "", *model.synonyms}
    for attribute in model.attributes:
        texts.add(attribute.name)
        if attribute.description:
            texts.add(attribute.description)
    return texts - {""}


def _cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "ontomap", *map(str, args)],
        env=ENV,
        cwd=cwd,
        capture_output=True,
        timeout=300,
    )


# ------------------------------------------------------------------ the line splitter


def test_lines_of_splits_on_line_feeds_only() -> None:
    lines = [
        f'<http://example.org/s> <http://example.org/p> "{c}a{c}" .\n'.replace("a", f"a{i}")
        for i, c in enumerate(ALL_BREAKS + "\t")
    ]
    data = "".join(lines).encode()
    assert lines_of(data) == lines
    assert lines_of(data) == [part.decode() + "\n" for part in data.split(b"\n")[:-1]]
    assert lines_of(b"") == []
    assert lines_of(b"<a> <b> <c> .") == ["<a> <b> <c> ."]  # a last line without its "\n"
    assert "".join(data.decode().splitlines(keepends=True)) == data.decode()
    assert len(data.decode().splitlines()) > len(lines)  # what went wrong with splitlines


def test_lines_of_gives_the_lines_oxigraph_writes() -> None:
    triples = [
        ox.Triple(
            ox.NamedNode(f"http://example.org/s{i}"),
            ox.NamedNode("http://example.org/p"),
            ox.Literal(f"x{c}y{c}"),
        )
        for i, c in enumerate(ALL_BREAKS)
    ]
    data = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
    assert data is not None  # no output file given: the bytes
    lines = lines_of(data)
    assert len(lines) == len(triples)
    parsed = [
        quad.triple for line in lines for quad in ox.parse(line, format=ox.RdfFormat.N_TRIPLES)
    ]
    assert parsed == triples


# ------------------------------------------------------------------ through the CLI


@pytest.fixture(scope="module")
def edge_cli(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ``defs/edge.fm.json`` (the nodule model with :data:`TEXT_BREAKS` in its
    texts) and ``kg``, the store ``ontomap build`` made of it."""
    folder = tmp_path_factory.mktemp("edge-cli")
    (folder / "defs").mkdir()
    text = json.dumps(_edge_json(TEXT_BREAKS), ensure_ascii=False, indent=1)
    (folder / "defs" / "edge.fm.json").write_text(text, "utf-8")
    built = _cli("build", "defs", "--store", "kg", "-q", cwd=folder)
    assert built.returncode == 0, built.stderr.decode()
    return folder


@pytest.mark.parametrize("fmt", sorted(EXPORTERS))
def test_export_from_sources_and_from_the_store_are_the_same_bytes(
    edge_cli: Path, fmt: str
) -> None:
    direct = _cli("export", "defs", "-f", fmt, "-o", f"direct.{fmt}", "-q", cwd=edge_cli)
    stored = _cli("export", "--store", "kg", "-f", fmt, "-o", f"stored.{fmt}", "-q", cwd=edge_cli)
    assert direct.returncode == stored.returncode == 0, (direct.stderr, stored.stderr)
    data = (edge_cli / f"direct.{fmt}").read_bytes()
    assert data == (edge_cli / f"stored.{fmt}").read_bytes()
    found = _literals(_parse(data, fmt))
    texts = _texts(TEXT_BREAKS)
    wanted = set(texts.values()) - {texts["display"]} if fmt.startswith("owl") else texts.values()
    missing = sorted(set(wanted) - found)
    assert missing == [], f"texts not read back intact from {fmt}: {missing}"


@pytest.mark.parametrize(
    "query",
    [
        f"DESCRIBE <{FINDING}>",
        "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
        'CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o FILTER (REGEX(STR(?o), "\\u2028|\\u0085")) }',
    ],
)
@pytest.mark.parametrize("fmt", ["turtle", "ntriples"])
def test_construct_and_describe_through_the_cli(edge_cli: Path, query: str, fmt: str) -> None:
    done = _cli("query", "--store", "kg", query, "--format", fmt, cwd=edge_cli)
    assert done.returncode == 0, done.stderr.decode()
    found = _literals(rdflib.Graph().parse(data=done.stdout, format=RDFLIB[fmt]))
    texts = _texts(TEXT_BREAKS)
    if "FILTER" in query:
        assert found == {t for t in texts.values() if "\u2028" in t or "\x85" in t}
    else:
        assert {texts["name"], texts["description"], texts["synonym"]} <= found


# ------------------------------------------------------------------ every character, by the API


@pytest.fixture(scope="module")
def control_model() -> FindingModel:
    report = read_models([EXAMPLES / "solitary_pulmonary_nodule.fm.json"])
    return _with_controls(report.models[0].model)


@pytest.fixture(scope="module")
def control_store(
    tmp_path_factory: pytest.TempPathFactory, control_model: FindingModel
) -> tuple[Path, KnowledgeGraph]:
    """A store of :func:`control_model` (loaded by the API), and what the store gives back."""
    path = tmp_path_factory.mktemp("edge-api") / "kg"
    with Store(path) as store:
        store.load([SourceModel(control_model, path.parent / "edge.fm.json", "json")])
        return path, store.graph()


@pytest.mark.parametrize("fmt", sorted(EXPORTERS))
def test_every_break_character_survives_the_store(
    control_model: FindingModel, control_store: tuple[Path, KnowledgeGraph], fmt: str
) -> None:
    direct: KnowledgeGraph | Dataset = GraphBuilder().graph([control_model])
    path, from_store = control_store
    assert from_store == direct
    if EXPORTERS[fmt].dataset:
        direct = GraphBuilder().dataset([control_model])
        with Store(path, read_only=True) as store:
            from_store = store.dataset()
        assert from_store == direct
    if fmt in ("owl", "rdfxml"):  # XML 1.0 cannot carry C0 controls: both paths refuse alike
        with pytest.raises(ExportError) as by_graph:
            serialize(direct, fmt)
        with pytest.raises(ExportError) as by_store:
            serialize(from_store, fmt)
        assert str(by_graph.value) == str(by_store.value)
        refused = _cli("export", "--store", path, "-f", fmt, "-o", "x.owl", cwd=path.parent)
        assert refused.returncode == 1 and b"Traceback" not in refused.stderr
        assert refused.stderr.decode().startswith("ontomap: error: ")
        return
    data = serialize(direct, fmt)
    assert data == serialize(from_store, fmt)
    done = _cli("export", "--store", path, "-f", fmt, "-o", "-", cwd=path.parent)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == data
    found = _literals(_parse(data, fmt))
    missing = sorted(_model_texts(control_model) - found)
    assert missing == [], f"texts not read back intact from {fmt}: {missing}"


def test_every_break_character_survives_construct_and_describe(
    control_model: FindingModel, control_store: tuple[Path, KnowledgeGraph]
) -> None:
    path, from_store = control_store
    with LocalBackend.open(path) as backend:
        everything = run_query(backend, "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }")
        described = run_query(backend, f"DESCRIBE <{FINDING}>")
    assert isinstance(everything, GraphResult) and isinstance(described, GraphResult)
    assert set(from_store.lines) <= set(everything.graph.lines)  # and the bookkeeping graph
    found = _literals(rdflib.Graph().parse(data=described.serialize("ntriples"), format="nt"))
    assert {control_model.name, control_model.description, *control_model.synonyms} <= found
    for fmt in ("turtle", "ntriples"):
        done = _cli(
            "query", "--store", path, f"DESCRIBE <{FINDING}>", "--format", fmt, cwd=path.parent
        )
        assert done.returncode == 0, done.stderr.decode()
        assert done.stdout == described.serialize(fmt)


def test_every_break_character_survives_push_and_a_remote_construct(
    tmp_path: Path, control_model: FindingModel, control_store: tuple[Path, KnowledgeGraph]
) -> None:
    path, from_store = control_store
    with oxigraph_server(tmp_path / "oxigraph") as url:
        # one triple per request: a triple cut in two would be a broken update
        pushed = _cli(
            "push",
            "--store",
            path,
            "--endpoint",
            url + "update",
            "--batch-size",
            "1",
            "-q",
            cwd=tmp_path,
        )
        assert pushed.returncode == 0, pushed.stderr.decode()
        remote = RemoteBackend(url + "query")
        result = run_query(remote, "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }")
        assert isinstance(result, GraphResult)
        assert set(from_store.lines) <= set(result.graph.lines)
        described = _cli(
            "query",
            "--endpoint",
            url + "query",
            f"DESCRIBE <{FINDING}>",
            "--format",
            "ntriples",
            cwd=tmp_path,
        )
    assert described.returncode == 0, described.stderr.decode()
    found = _literals(rdflib.Graph().parse(data=described.stdout, format="nt"))
    assert {control_model.name, control_model.description, *control_model.synonyms} <= found


# ------------------------------------------------------------------ messages and tables


def test_a_syntax_error_after_a_line_separator_shows_the_right_line(
    control_store: tuple[Path, KnowledgeGraph],
) -> None:
    query = 'SELECT ?x WHERE {\n  ?x rdfs:label "a\u2028b\u0085c" .\n  ?x ?y }'
    done = _cli("query", "--store", control_store[0], query, cwd=control_store[0].parent)
    assert done.returncode == 2
    assert done.stderr.decode().split("\n")[1:3] == ["   3 |   ?x ?y }", "     |          ^"]


def test_a_lookup_table_keeps_one_line_per_row(edge_cli: Path) -> None:
    name = _texts(TEXT_BREAKS)["name"]
    table = _cli("lookup", "gamuts:14616", "--store", "kg", cwd=edge_cli)
    assert table.returncode == 0, table.stderr.decode()
    text = table.stdout.decode()
    assert "solitary\\u2028pulmonary nodule" in text and "\u2028" not in text
    as_json = _cli("lookup", "gamuts:14616", "--store", "kg", "--format", "json", cwd=edge_cli)
    assert json.loads(as_json.stdout)["used_by"]["items"][0]["label"] == name


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--set-id", "not an IRI"], "the mapping set ID 'not an IRI' is not an absolute IRI"),
        (["--set-id", "http://example.org/<set>"], "is not an absolute IRI"),
        (["--license", "https://example.org/l\nx"], "the license "),
        (["--set-id", "http://example.org/\udcff"], "holds bytes that are not UTF-8"),
    ],
)
def test_mapping_set_iris_are_checked(edge_cli: Path, args: list[str], says: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ontomap", "mappings", "defs", "-f", "skos", "-o", "m.ttl", *args],
        env=ENV,
        cwd=edge_cli,
        capture_output=True,
        text=True,
        errors="surrogateescape",
        timeout=120,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert says in done.stderr
    assert not (edge_cli / "m.ttl").exists()


def test_an_output_name_that_is_not_utf8_is_written_and_shown(edge_cli: Path) -> None:
    name = os.fsdecode(b"crosswalk-\xff.sssom.tsv")
    done = _cli("mappings", "defs", "--from", "RADLEX", "-o", name, cwd=edge_cli)
    assert done.returncode == 0, done.stderr.decode()
    assert b"wrote crosswalk-\\xff.sssom.tsv (sssom, " in done.stdout
    assert (edge_cli / name).read_text("utf-8").startswith("#")


def test_mapping_sets_keep_labels_whole_and_rows_on_their_lines(edge_cli: Path) -> None:
    display = _texts(TEXT_BREAKS)["display"]
    common = ("mappings", "defs", "--from", "RADLEX", "--to", "SNOMED", "-q")
    for fmt, name in (("sssom", "m.sssom.tsv"), ("fhir-r4", "m.json")):
        done = _cli(*common, "-f", fmt, "-o", name, cwd=edge_cli)
        assert done.returncode == 0, done.stderr.decode()
    tsv = (edge_cli / "m.sssom.tsv").read_text("utf-8")
    assert tsv.splitlines() == tsv.split("\n")[:-1]  # no line break but the rows'
    header, *rows = [line.split("\t") for line in tsv.splitlines() if not line.startswith("#")]
    assert all(len(row) == len(header) for row in rows)
    [absent] = [row for row in rows if row[header.index("object_id")] == "sct:2667000"]
    assert absent[header.index("object_label")] == "Absent (qualifier value)"
    fhir = json.loads((edge_cli / "m.json").read_text("utf-8"))
    targets = [t for g in fhir["group"] for e in g["element"] for t in e["target"]]
    assert display in {t.get("display") for t in targets}  # JSON carries the label whole


@pytest.mark.parametrize("base", ["http://example.org/\udcff/", "http://example.org/a b/", "x"])
@pytest.mark.parametrize(
    "command",
    [
        ("export", "defs", "-o", "x.ttl"),
        ("mappings", "defs", "-o", "x.sssom.tsv"),
        ("push", "defs", "--endpoint", "http://127.0.0.1:9/update"),
    ],
)
def test_a_base_iri_that_is_no_iri_is_a_usage_error(
    edge_cli: Path, command: tuple[str, ...], base: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ontomap", *command, "--base-iri", base, "-q"],
        env=ENV,
        cwd=edge_cli,
        capture_output=True,
        text=True,
        errors="surrogateescape",
        timeout=120,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("ontomap: error: base IRI ") and done.stderr.count("\n") == 1
