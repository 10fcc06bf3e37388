"""Dataset exports (N-Quads, TriG: one named graph per model), plain RDF/XML, and the format
names users type (``-f ttl``, media types) on every command with ``--format``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import rdflib
from conftest import CORPUS, EXAMPLES, ROOT
from rdflib.compare import isomorphic

from ontomap.exporters import serialize
from ontomap.graph import GraphBuilder
from ontomap.readers import read_models
from ontomap.store import Store

GRAPH = "https://w3id.org/ontomap/graph/"
FM = "https://w3id.org/ontomap/id/"
CODES = GRAPH + "_codes"
LABEL = rdflib.RDFS.label


def _cli(
    *args: object, stdin: bytes | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ontomap", *map(str, args)],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=300,
    )


def _dataset(data: bytes, fmt: str) -> rdflib.Dataset:
    dataset = rdflib.Dataset()
    dataset.parse(data=data, format=fmt)
    return dataset


def _json_models(folder: Path) -> list[dict]:
    return [json.loads(p.read_text("utf-8")) for p in sorted(folder.rglob("*.fm.json"))]


def _expected_graph_labels(model: dict) -> set[tuple[str, str]]:
    """(entity IRI, name) of the finding, its attributes and values, read from the JSON."""
    out = {(FM + model["oifm_id"], model["name"])}
    for attribute in model.get("attributes", []):
        out.add((FM + attribute["oifma_id"], attribute["name"]))
        for value in attribute.get("values", []):
            out.add((FM + value["value_code"], value["name"]))
    return out


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """JSON models: the bundled example, and the first 40 of the corpus where it is here."""
    folder = tmp_path_factory.mktemp("sources")
    paths = sorted(EXAMPLES.glob("*.fm.json"))
    paths += sorted((CORPUS / "defs").glob("*.fm.json"))[:40]
    for path in paths:
        (folder / path.name).write_bytes(path.read_bytes())
    return folder


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, sources: Path) -> dict[str, bytes]:
    """The models as N-Quads, TriG and Turtle, from the sources and from a store."""
    folder = tmp_path_factory.mktemp("datasets")
    built = _cli("build", sources, "--store", folder / "kg", "-q")
    assert built.returncode == 0, built.stderr.decode()
    out: dict[str, bytes] = {}
    for fmt in ("nquads", "trig", "turtle"):
        direct = _cli("export", sources, "-f", fmt, "-q")
        stored = _cli("export", "--store", folder / "kg", "-f", fmt, "-q")
        assert direct.returncode == stored.returncode == 0, (direct.stderr, stored.stderr)
        assert direct.stdout == stored.stdout, f"{fmt}: the store and the sources differ"
        out[fmt] = direct.stdout
    return out


def test_each_model_is_its_own_named_graph(exported: dict[str, bytes], sources: Path) -> None:
    models = _json_models(sources)
    dataset = _dataset(exported["nquads"], "nquads")
    names = {str(g.identifier) for g in dataset.graphs() if len(g)}
    assert names == {CODES} | {GRAPH + m["oifm_id"] for m in models}
    for model in models:
        graph = dataset.graph(rdflib.URIRef(GRAPH + model["oifm_id"]))
        labels = {(str(s), str(o)) for s, o in graph.subject_objects(LABEL)}
        entities = _expected_graph_labels(model)
        assert entities <= labels
        # nothing of another model in it
        others = {e for m in models if m is not model for e, _ in _expected_graph_labels(m)}
        assert not {s for s, _ in labels} & others


def test_the_codes_graph_holds_every_code_of_the_json(
    exported: dict[str, bytes], sources: Path
) -> None:
    codes: set[str] = set()

    def collect(node: object) -> None:
        if isinstance(node, dict):
            for key in ("index_codes", "anatomic_locations"):
                for item in node.get(key) or []:
                    codes.add(item["code"])
            for child in node.values():
                collect(child)
        elif isinstance(node, list):
            for child in node:
                collect(child)

    for model in _json_models(sources):
        collect(model)
    graph = _dataset(exported["nquads"], "nquads").graph(rdflib.URIRef(CODES))
    concepts = set(graph.subjects(rdflib.RDF.type, rdflib.SKOS.Concept))
    notations = {str(o) for c in concepts for o in graph.objects(c, rdflib.SKOS.notation)}
    assert notations == codes


def test_trig_and_nquads_hold_the_same_quads(exported: dict[str, bytes]) -> None:
    nquads = _dataset(exported["nquads"], "nquads")
    trig = _dataset(exported["trig"], "trig")
    assert set(nquads.quads()) == set(trig.quads())
    assert exported["trig"].count(b" {\n") == len([g for g in nquads.graphs() if len(g)])


def test_the_union_of_the_graphs_is_the_graph(exported: dict[str, bytes]) -> None:
    union = rdflib.Graph()
    for s, p, o, _g in _dataset(exported["nquads"], "nquads").quads():
        union.add((s, p, o))
    assert isomorphic(union, rdflib.Graph().parse(data=exported["turtle"], format="turtle"))


def test_datasets_are_deterministic_and_a_graph_format_writes_their_union() -> None:
    report = read_models([EXAMPLES])
    models = [s.model for s in report.models]
    one = GraphBuilder().dataset(models)
    two = GraphBuilder().dataset(reversed(models))
    assert one == two and serialize(one, "nquads") == serialize(two, "nquads")
    assert serialize(one, "turtle") == serialize(GraphBuilder().graph(models), "turtle")
    with pytest.raises(TypeError):
        serialize(GraphBuilder().graph(models), "nquads")


def test_plain_rdfxml_is_the_graph(exported: dict[str, bytes], sources: Path) -> None:
    done = _cli("export", sources, "-f", "application/rdf+xml", "-q")
    assert done.returncode == 0, done.stderr.decode()
    assert b"owl:Ontology" not in done.stdout
    graph = rdflib.Graph().parse(data=done.stdout, format="xml")
    assert isomorphic(graph, rdflib.Graph().parse(data=exported["turtle"], format="turtle"))


def test_extensions_name_the_dataset_formats(tmp_path: Path) -> None:
    for name, first in (("x.nq", b"<"), ("x.trig", b"@prefix")):
        done = _cli("export", EXAMPLES, "-o", tmp_path / name)
        assert done.returncode == 0, done.stderr.decode()
        assert (tmp_path / name).read_bytes().startswith(first)
        assert "quads" in done.stdout.decode()


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("ttl", "turtle"),
        ("TTL", "turtle"),
        ("text/turtle", "turtle"),
        ("nt", "ntriples"),
        ("application/n-triples", "ntriples"),
        ("nq", "nquads"),
        ("json-ld", "jsonld"),
        ("rdf+xml", "rdfxml"),
    ],
)
def test_export_accepts_the_names_users_type(alias: str, name: str) -> None:
    by_alias = _cli("export", EXAMPLES / "solitary_pulmonary_nodule.fm.json", "-f", alias, "-q")
    by_name = _cli("export", EXAMPLES / "solitary_pulmonary_nodule.fm.json", "-f", name, "-q")
    assert by_alias.returncode == by_name.returncode == 0, by_alias.stderr.decode()
    assert by_alias.stdout == by_name.stdout and by_alias.stdout


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("alias") / "kg"
    with Store(path) as opened:
        opened.load(read_models([EXAMPLES]).models)
    return path


def test_query_format_is_f_and_the_file_is_file(store: Path, tmp_path: Path) -> None:
    text = "SELECT ?id WHERE { ?f a oifm:FindingModel ; oifm:oifmId ?id } ORDER BY ?id"
    query = tmp_path / "ids.rq"
    query.write_text(text, "utf-8")
    headings = [p.read_text("utf-8").splitlines()[0] for p in EXAMPLES.glob("*.md")]
    ids = sorted(
        [m["oifm_id"] for m in _json_models(EXAMPLES)]
        + [re.search(r"`(OIFM_\w+)`", line).group(1) for line in headings]  # type: ignore[union-attr]
    )
    expected = ["id", *ids]
    for args in (
        ["--file", query, "-f", "csv"],
        [text, "-f", "text/csv"],
        ["-", "-f", "csv"],
    ):
        done = _cli("query", "--store", store, *args, stdin=text.encode())
        assert done.returncode == 0, done.stderr.decode()
        assert done.stdout.decode().split() == expected, args
    as_json = _cli("query", "--store", store, text, "-f", "application/sparql-results+json")
    rows = json.loads(as_json.stdout)["results"]["bindings"]
    assert [row["id"]["value"] for row in rows] == ids


def test_f_given_a_query_file_says_what_to_do(store: Path, tmp_path: Path) -> None:
    query = tmp_path / "my.rq"
    query.write_text("ASK {}", "utf-8")
    done = _cli("query", "--store", store, "-f", query)
    assert done.returncode == 2
    assert f"--file {query}" in done.stderr.decode()
    assert b"Traceback" not in done.stderr


def test_a_device_is_written_in_place_as_turtle_unless_told(tmp_path: Path) -> None:
    model = EXAMPLES / "solitary_pulmonary_nodule.fm.json"
    done = _cli("export", model, "-o", "/dev/null")
    assert done.returncode == 0, done.stderr.decode()
    assert "wrote /dev/null (turtle" in done.stdout.decode()
    assert Path("/dev/null").is_char_device()
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    done = _cli("export", model, "-o", fifo, "-f", "nt", "-q")
    data, _ = reader.communicate(timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert data == _cli("export", model, "-f", "ntriples").stdout and data
    assert fifo.exists() and not fifo.is_file()  # still the FIFO, not replaced by a file


def test_shell_completion_offers_commands_and_formats() -> None:
    env = {**os.environ, "_ONTOMAP_COMPLETE": "bash_complete", "COMP_CWORD": "3"}
    env["COMP_WORDS"] = "ontomap export -f"
    script = Path(sys.executable).parent / "ontomap"  # the entry point pip installed
    done = subprocess.run([script], env=env, capture_output=True, timeout=60)
    offered = {line.split(",", 1)[1] for line in done.stdout.decode().split()}
    assert {"turtle", "nquads", "trig", "rdfxml"} <= offered
