"""The format registries: lookup by name, alias, media type and extension, and their errors.

Expectations are written by hand from the tables in the modules (the registries' data), not
read back from the code under test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from ontomap.errors import UnknownFormatError
from ontomap.exporters import EXPORTERS, exporter_for
from ontomap.formats import Format, FormatRegistry, LazyImport
from ontomap.mappings import FORMATS as MAPPING_FORMATS
from ontomap.mappings import format_for
from ontomap.readers import READERS, format_of
from ontomap.server.formats import GRAPH_FORMATS as SERVER_GRAPHS
from ontomap.sparql import GRAPH_FORMATS, RESULT_FORMATS


def _registry() -> FormatRegistry[Format[str]]:
    return FormatRegistry(
        [
            Format("tsv", "T", (".tsv",), ("text/tab-separated-values",), ("tab",)),
            Format("sssom", "S", (".sssom.tsv",), ("text/tab-separated-values",), ("sssom-tsv",)),
            Format("turtle", "U", (".ttl", ".turtle"), ("text/turtle", "application/x-turtle")),
        ]
    )


# ------------------------------------------------------------------ the generic registry


def test_order_names_and_mapping_reads() -> None:
    registry = _registry()
    assert registry.names() == ("tsv", "sssom", "turtle")
    assert list(registry) == ["tsv", "sssom", "turtle"]
    assert sorted(registry) == ["sssom", "tsv", "turtle"]
    assert len(registry) == 3
    assert "sssom" in registry and "tab" not in registry  # `in` takes names only
    assert registry["turtle"].handler == "U"
    assert [f.name for f in registry.values()] == ["tsv", "sssom", "turtle"]
    with pytest.raises(KeyError):
        registry["ttl"]


@pytest.mark.parametrize(
    ("spelling", "name"),
    [
        ("tsv", "tsv"),  # name
        ("TSV", "tsv"),  # case ignored
        (" Turtle ", "turtle"),  # surrounding space ignored
        ("tab", "tsv"),  # alias
        ("SSSOM-TSV", "sssom"),  # alias, any case
        ("text/turtle", "turtle"),  # first media type
        ("Application/X-Turtle", "turtle"),  # second media type, any case
        ("text/tab-separated-values", "tsv"),  # shared media type: the first format keeps it
    ],
)
def test_get_by_name_alias_media_type(spelling: str, name: str) -> None:
    assert _registry().get(spelling).name == name
    found = _registry().find(spelling)
    assert found is not None and found.name == name


def test_media_type_is_the_first() -> None:
    registry = _registry()
    assert registry["turtle"].media_type == "text/turtle"
    assert Format("x", None).media_type == ""


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("map.tsv", "tsv"),
        ("map.sssom.tsv", "sssom"),  # ".sssom.tsv" (10 characters) beats ".tsv" (4)
        ("DIR.D/MAP.SSSOM.TSV", "sssom"),  # case ignored, only the file name counts
        ("x.turtle", "turtle"),
        (Path("a/b.ttl"), "turtle"),
    ],
)
def test_for_path_longest_extension_wins(path: Path | str, name: str) -> None:
    assert _registry().for_path(path).name == name


def test_longest_extension_wins_whatever_the_order() -> None:
    # the longer ending comes last here: order does not decide, length does
    registry = FormatRegistry([Format("json", 1, (".json",)), Format("fm", 2, (".fm.json",))])
    assert registry.for_path("x.fm.json").name == "fm"
    assert registry.for_path("x.json").name == "json"


@pytest.mark.parametrize("path", ["x.xml", "x", "tsv", None, ""])
def test_for_path_unknown(path: str | None) -> None:
    registry = _registry()
    assert registry.find_path(path) is None
    with pytest.raises(UnknownFormatError) as info:
        registry.for_path(path)
    assert info.value.known == ["sssom", "tsv", "turtle"]  # sorted by hand
    shown = (path or "").lower() or "(no file name)"
    assert str(info.value) == (
        f"cannot tell the output format from {shown!r}; use --format with one of: "
        "sssom, tsv, turtle"
    )


@pytest.mark.parametrize("spelling", ["owl", "text/csv", ".tsv", "", "tsv;q=1"])
def test_get_unknown_lists_the_names(spelling: str) -> None:
    registry = _registry()
    assert registry.find(spelling) is None
    with pytest.raises(UnknownFormatError) as info:
        registry.get(spelling)
    assert info.value.value == spelling
    assert info.value.known == ["sssom", "tsv", "turtle"]
    assert str(info.value) == (
        f"cannot tell the output format from {spelling!r}; use --format with one of: "
        "sssom, tsv, turtle"
    )


def test_unknown_format_error_is_a_usage_error() -> None:
    with pytest.raises(UnknownFormatError) as info:
        _registry().get("nope")
    assert int(info.value.exit_code) == 2


def test_bad_registries_are_refused() -> None:
    with pytest.raises(ValueError, match="two formats named 'a'"):
        FormatRegistry([Format("a", 1), Format("a", 2)])
    with pytest.raises(ValueError, match="'x' names both 'a' and 'b'"):
        FormatRegistry([Format("a", 1, aliases=("x",)), Format("b", 2, aliases=("x",))])
    with pytest.raises(ValueError, match="'a' names both 'a' and 'b'"):
        FormatRegistry([Format("a", 1), Format("b", 2, aliases=("a",))])
    with pytest.raises(ValueError, match="not lower case"):
        Format("Turtle", 1)
    with pytest.raises(ValueError, match="needs a dot"):
        Format("turtle", 1, ("ttl",))


def test_a_name_beats_an_alias_and_a_media_type() -> None:
    registry = FormatRegistry(
        [Format("a", 1, media_types=("b",)), Format("b", 2), Format("c", 3, media_types=("d",))]
    )
    assert registry.get("b").name == "b"
    assert registry.get("d").name == "c"


def test_formats_are_frozen_values() -> None:
    first = Format("a", 1, (".a",))
    assert first == Format("a", 1, (".a",))
    assert hash(first) == hash(Format("a", 1, (".a",)))
    with pytest.raises(AttributeError):
        first.name = "b"  # type: ignore[misc]


def test_lazy_import() -> None:
    lazy: LazyImport[object] = LazyImport("os.path", "join")
    import os.path

    assert lazy.load() is os.path.join
    with pytest.raises(ModuleNotFoundError):
        LazyImport("ontomap.no_such_module", "x").load()


# ------------------------------------------------------------------ the registries of ontomap


def test_every_registry_is_one_shape() -> None:
    for registry in (
        READERS,
        EXPORTERS,
        MAPPING_FORMATS,
        RESULT_FORMATS,
        GRAPH_FORMATS,
        SERVER_GRAPHS,
    ):
        assert isinstance(registry, FormatRegistry)
        assert all(isinstance(f, Format) for f in registry.values())


@pytest.mark.parametrize(
    ("spelling", "name"),
    [
        ("ttl", "turtle"),
        ("text/turtle", "turtle"),  # owl-ttl has it too; turtle comes first
        ("application/x-turtle", "turtle"),
        ("NT", "ntriples"),
        ("n-triples", "ntriples"),
        ("nq", "nquads"),
        ("application/trig", "trig"),
        ("json-ld", "jsonld"),
        ("application/ld+json", "jsonld"),
        ("rdf/xml", "rdfxml"),
        ("application/rdf+xml", "rdfxml"),  # owl has it too; rdfxml comes first
        ("owl-turtle", "owl-ttl"),
    ],
)
def test_exporter_spellings(spelling: str, name: str) -> None:
    assert EXPORTERS.get(spelling).name == name
    assert exporter_for(fmt=spelling).name == name


def test_exporters_keep_their_order_and_fields() -> None:
    assert list(EXPORTERS) == [
        "turtle",
        "ntriples",
        "nquads",
        "trig",
        "rdfxml",
        "jsonld",
        "owl",
        "owl-ttl",
    ]
    assert [n for n, e in EXPORTERS.items() if e.dataset] == ["nquads", "trig"]
    assert EXPORTERS["turtle"].write is EXPORTERS["turtle"].handler
    assert EXPORTERS["jsonld"].extensions == (".jsonld", ".json-ld")


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("model.fm.json", "json"),
        ("MODEL.FM.JSON", "json"),
        ("model.json", "json"),
        ("model.md", "markdown"),
        ("model.markdown", "markdown"),
        ("model.txt", None),
        ("json", None),
    ],
)
def test_reader_of_a_file_name(name: str, fmt: str | None) -> None:
    assert format_of(Path(name)) == fmt


def test_mapping_formats() -> None:
    assert list(MAPPING_FORMATS) == ["sssom", "fhir-r4", "fhir-r5", "skos"]
    assert format_for("x.sssom.tsv").name == "sssom"
    assert format_for("x.tsv").name == "sssom"
    assert format_for("x.ttl").name == "skos"
    assert format_for(fmt="sssom-tsv").name == "sssom"
    assert format_for("x.ttl", "fhir-r5").name == "fhir-r5"  # the name wins over the path
    sssom = MAPPING_FORMATS["sssom"]
    assert (sssom.module, sssom.function) == ("ontomap.mappings.sssom", "write_sssom")
    assert sssom.media_type == "text/tab-separated-values"
    with pytest.raises(UnknownFormatError) as info:
        format_for("x.json")  # either FHIR version: needs --format
    assert str(info.value) == (
        "cannot tell the output format from 'x.json'; use --format with one of: "
        "fhir-r4, fhir-r5, skos, sssom"
    )


def test_mapping_writers_are_imported_on_first_use() -> None:
    code = (
        "import sys, ontomap.mappings as m\n"
        "lazy = ('ontomap.mappings.sssom', 'ontomap.mappings.fhir', 'ontomap.mappings.skos')\n"
        "print(sorted(x for x in lazy if x in sys.modules))\n"
        "m.FORMATS['skos'].write\n"
        "print(sorted(x for x in lazy if x in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["[]", "['ontomap.mappings.skos']"]


def test_sparql_formats() -> None:
    assert list(RESULT_FORMATS) == ["json", "xml", "csv", "tsv"]
    assert RESULT_FORMATS.get("application/json").handler == ox.QueryResultsFormat.JSON
    assert RESULT_FORMATS.get("srx").handler == ox.QueryResultsFormat.XML
    assert RESULT_FORMATS.get("text/csv").name == "csv"
    assert list(GRAPH_FORMATS) == ["turtle", "ntriples"]
    assert GRAPH_FORMATS.get("ttl").name == "turtle"
    assert GRAPH_FORMATS.find("json") is None
    # the server's graphs: json and xml name JSON-LD and RDF/XML there
    assert SERVER_GRAPHS.get("json").handler == ox.RdfFormat.JSON_LD
    assert SERVER_GRAPHS.get("xml").handler == ox.RdfFormat.RDF_XML
    assert SERVER_GRAPHS.get("text/plain").name == "ntriples"
    assert SERVER_GRAPHS.get("n3").handler == ox.RdfFormat.TURTLE
