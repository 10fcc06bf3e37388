"""Tests of the streaming exporter: the same bytes as the whole-graph exporters, however many
runs go to disk; Markdown models replaced by their JSON; nothing left behind."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from conftest import EXAMPLES

from ontomap.exporters import EXPORTERS
from ontomap.exporters.streaming import write_blocks, write_stream
from ontomap.graph import GraphBuilder
from ontomap.ntriples import BlockSorter, canonical_order, sorted_key, subject_key
from ontomap.readers import ModelStream, read_models
from ontomap.sources import SourceModel


def _whole(paths: list[Path], fmt: str) -> bytes:
    """The reference: the whole graph built in memory, written by the format's exporter."""
    graph = GraphBuilder().graph(s.model for s in read_models(paths).models)
    out = io.BytesIO()
    EXPORTERS[fmt].write(graph, out)
    return out.getvalue()


def _stream(paths: list[Path], fmt: str, **options: object) -> tuple[bytes, int]:
    out = io.BytesIO()
    written = write_stream(ModelStream(paths), fmt, out, **options)  # type: ignore[arg-type]
    return out.getvalue(), written


@pytest.fixture(scope="module")
def corpus_whole(corpus_defs: Path) -> dict[str, bytes]:
    return {fmt: _whole([corpus_defs], fmt) for fmt in ("ntriples", "turtle")}


@pytest.mark.parametrize("fmt", ["ntriples", "turtle"])
@pytest.mark.parametrize("spill_lines", [10_000_000, 25_000, 500])
def test_corpus_streamed_is_the_whole_graph_export(
    corpus_defs: Path,
    corpus_whole: dict[str, bytes],
    fmt: str,
    spill_lines: int,
    tmp_path: Path,
) -> None:
    data, written = _stream([corpus_defs], fmt, spill_lines=spill_lines, directory=str(tmp_path))
    assert data == corpus_whole[fmt]
    # the count is the number of triples: the N-Triples lines of the reference
    assert written == corpus_whole["ntriples"].count(b"\n")
    assert list(tmp_path.iterdir()) == []  # runs removed


def test_ntriples_lines_are_sorted_and_unique(corpus_defs: Path) -> None:
    data, written = _stream([corpus_defs], "ntriples", spill_lines=20_000)
    lines = data.decode().splitlines()
    assert lines == sorted(set(lines))
    assert written == len(lines)


def test_turtle_parses_to_the_ntriples_triples(corpus_defs: Path) -> None:
    turtle, _ = _stream([corpus_defs], "turtle", spill_lines=20_000)
    ntriples, _ = _stream([corpus_defs], "ntriples", spill_lines=20_000)
    from rdflib.compare import isomorphic

    assert isomorphic(
        rdflib.Graph().parse(data=turtle, format="turtle"),
        rdflib.Graph().parse(data=ntriples, format="nt"),
    )


def test_runs_go_to_disk_while_reading(corpus_defs: Path, tmp_path: Path) -> None:
    """With a small buffer, sorted runs are on disk before the last model is read."""
    seen_runs: list[int] = []

    def watched() -> Iterator[SourceModel]:
        for i, source in enumerate(ModelStream([corpus_defs])):
            if i == 2000:
                seen_runs.append(len(list(tmp_path.iterdir())))
            yield source

    write_stream(watched(), "ntriples", io.BytesIO(), spill_lines=20_000, directory=str(tmp_path))
    # 2,000 models make well over 20,000 lines (the corpus averages 140 a model)
    assert seen_runs and seen_runs[0] >= 2
    assert list(tmp_path.iterdir()) == []


def test_a_failure_midway_leaves_no_run_behind(corpus_defs: Path, tmp_path: Path) -> None:
    def failing() -> Iterator[SourceModel]:
        for i, source in enumerate(ModelStream([corpus_defs])):
            if i == 1500:
                raise OSError("disk went away")
            yield source

    with pytest.raises(OSError, match="disk went away"):
        write_stream(failing(), "turtle", io.BytesIO(), spill_lines=5_000, directory=str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_markdown_read_first_is_replaced_by_its_json(
    corpus_defs: Path, corpus_text: Path, corpus_whole: dict[str, bytes]
) -> None:
    """The Markdown renderings read before their JSON twins: the JSON models are written."""
    data, _ = _stream([corpus_text, corpus_defs], "ntriples", spill_lines=20_000)
    assert data == corpus_whole["ntriples"]


def test_a_markdown_model_alone_is_written(tmp_path: Path) -> None:
    seed = EXAMPLES / "diffuse_hepatic_calcifications.md"
    data, written = _stream([seed], "ntriples")
    assert data == _whole([seed], "ntriples")
    oifm_id = re.search(r"\bOIFM_[A-Z]{3,4}_[0-9]{6}\b", seed.read_text(encoding="utf-8"))[0]
    assert f"<https://w3id.org/ontomap/id/{oifm_id}> ".encode() in data
    assert written > 0


def test_examples_streamed_in_both_formats(tmp_path: Path) -> None:
    for fmt in ("ntriples", "turtle"):
        assert _stream([EXAMPLES], fmt, spill_lines=50)[0] == _whole([EXAMPLES], fmt)


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="ntriples or turtle"):
        write_stream([], "jsonld", io.BytesIO())


def test_nothing_to_write_is_an_empty_file() -> None:
    for fmt in ("ntriples", "turtle"):
        out = io.BytesIO()
        assert write_stream([], fmt, out) == 0
        assert out.getvalue() == b""


# -- the block sorter ---------------------------------------------------------------------------


def _blocks(lines: list[str]) -> list[tuple[str, list[str]]]:
    by: dict[str, list[str]] = {}
    for line in lines:
        by.setdefault(line.split(" ", 1)[0], []).append(line)
    return [(subject, canonical_order(group)) for subject, group in by.items()]


LINES = [
    '<http://e/OIFMA_XYZ_000002.10> <http://www.w3.org/2000/01/rdf-schema#label> "ten" .\n',
    '<http://e/OIFMA_XYZ_000002.2> <http://www.w3.org/2000/01/rdf-schema#label> "two" .\n',
    '<http://e/OIFM_XYZ_000001> <http://www.w3.org/2000/01/rdf-schema#label> "finding" .\n',
    "<http://e/OIFM_XYZ_000001> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://o/F> .\n",
    '<http://e/OIFMA_XYZ_000002> <http://www.w3.org/2000/01/rdf-schema#label> "attribute" .\n',
    '_:b <http://www.w3.org/2000/01/rdf-schema#label> "blank" .\n',
]


@pytest.mark.parametrize("spill_lines", [1, 2, 100])
def test_sorter_gives_canonical_order_and_merges_a_subject_split_across_runs(
    spill_lines: int,
) -> None:
    # canonical order by hand: the finding (type before label), then the attribute, then its
    # values in numeric order (.2 before .10), then the blank node
    expected = [LINES[3], LINES[2], LINES[4], LINES[1], LINES[0], LINES[5]]
    with BlockSorter(spill_lines=spill_lines) as sorter:
        # the finding's two lines come in two blocks, one of them repeated
        sorter.add("<http://e/OIFM_XYZ_000001>", [LINES[2]])
        sorter.extend(_blocks(LINES[:2] + LINES[4:]))
        sorter.add("<http://e/OIFM_XYZ_000001>", [LINES[3], LINES[2]])
        got = [line for _subject, block in sorter.blocks() for line in block]
    assert got == expected


@pytest.mark.parametrize("spill_lines", [1, 3, 100])
def test_sorter_with_sorted_key_gives_text_order(spill_lines: int) -> None:
    with BlockSorter(sorted_key, spill_lines=spill_lines) as sorter:
        sorter.extend(_blocks(LINES))
        got = [line for chunk in sorter.chunks(2) for line in chunk]
    assert got == sorted(LINES)


def test_sorter_runs_of_several_records_come_back_whole_and_in_order(tmp_path: Path) -> None:
    """Runs longer than one record on disk (1,024 blocks): 3,000 values of one attribute,
    added shuffled, come back once each in numeric order (canonical order) and as sorted text."""
    label = "<http://www.w3.org/2000/01/rdf-schema#label>"
    lines = {i: f'<http://e/OIFMA_XYZ_000002.{i}> {label} "{i}" .\n' for i in range(1, 3001)}
    shuffled = sorted(lines, key=lambda i: (i * 7919) % 3001)
    for key, expected in (
        (subject_key, [lines[i] for i in range(1, 3001)]),
        (sorted_key, sorted(lines.values())),
    ):
        with BlockSorter(key, spill_lines=2_500, directory=str(tmp_path)) as sorter:
            sorter.extend((lines[i].split(" ", 1)[0], [lines[i]]) for i in shuffled)
            got = [line for _subject, block in sorter.blocks() for line in block]
            assert sorter.runs == 2
        assert got == expected


def test_a_prefix_used_only_in_the_first_turtle_chunk_is_declared() -> None:
    """Turtle goes to Oxigraph 50,000 lines at a time: a prefix only the first chunk uses
    (``dcterms``) is declared all the same, checked by parsing the output with Oxigraph."""
    base = "https://w3id.org/ontomap/id/"
    label = "<http://www.w3.org/2000/01/rdf-schema#label>"
    described = "<http://purl.org/dc/terms/description>"
    blocks = []
    for i in range(1, 25_001):
        subject = f"<{base}OIFM_XYZ_{i:06d}>"
        blocks.append(
            (subject, [f'{subject} {label} "f{i}" .\n', f'{subject} {described} "d" .\n'])
        )
    for i in range(1, 25_001):
        subject = f"<{base}OIFMA_XYZ_{i:06d}>"
        blocks.append((subject, [f'{subject} {label} "a{i}" .\n']))
    out = io.BytesIO()
    assert write_blocks(blocks, "turtle", out, base) == 75_000
    lines = "".join(line for _subject, block in blocks for line in block).encode()
    expected = set(ox.parse(lines, format=ox.RdfFormat.N_TRIPLES))
    assert set(ox.parse(out.getvalue(), format=ox.RdfFormat.TURTLE)) == expected


# -- a stream that keeps no models --------------------------------------------------------------


@pytest.mark.parametrize("order", ["json first", "markdown first"])
def test_a_stream_keeping_no_models_reports_as_one_that_does(
    corpus_defs: Path, corpus_text: Path, order: str
) -> None:
    paths = [corpus_defs, corpus_text] if order == "json first" else [corpus_text, corpus_defs]
    kept, light = ModelStream(paths), ModelStream(paths, keep_models=False)
    kept_ids = [s.model.oifm_id for s in kept]
    light_ids = [s.model.oifm_id for s in light]
    assert light_ids == kept_ids
    assert light.report.models == []
    # 2,382 JSON models; the 402 Markdown files are renderings of some of them
    assert light.report.model_count == kept.report.model_count == len(kept.report.models) == 2382
    assert light.report.diagnostics == kept.report.diagnostics
    assert light.report.renderings == kept.report.renderings
    assert len(light.report.renderings) == 402


def test_a_stream_keeping_no_models_warns_of_a_rendering_that_differs(
    corpus_defs: Path, corpus_text: Path, tmp_path: Path
) -> None:
    """The JSON read first and not kept is read again to compare it with its rendering."""
    markdown = sorted(corpus_text.glob("*.md"))[0]
    oifm_id = re.search(r"\bOIFM_[A-Z]{3,4}_[0-9]{6}\b", markdown.read_text("utf-8"))[0]
    twin = next(
        p
        for p in sorted(corpus_defs.glob("*.fm.json"))
        if json.loads(p.read_text())["oifm_id"] == oifm_id
    )
    data = json.loads(twin.read_text("utf-8"))
    data["name"] += " (edited)"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / twin.name).write_text(json.dumps(data), encoding="utf-8")
    (tmp_path / "b" / markdown.name).write_text(markdown.read_text("utf-8"), encoding="utf-8")
    for keep in (True, False):
        stream = ModelStream([tmp_path], keep_models=keep)
        assert [s.format for s in stream] == ["json"]
        (warning,) = stream.report.warnings
        assert f"the Markdown rendering of {oifm_id} differs" in warning.message
        assert warning.path == tmp_path / "b" / markdown.name


def test_a_store_written_graph_by_graph_is_its_graph_exported(
    corpus_store, corpus_whole: dict[str, bytes], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Store.blocks through write_blocks: the same bytes as the corpus exported from its files,
    however many runs go to disk."""
    from ontomap.exporters.streaming import write_blocks
    from ontomap.store import Store

    with Store(corpus_store, read_only=True) as store:
        for fmt in ("ntriples", "turtle"):
            for spill_lines in (10_000_000, 30_000):
                out = io.BytesIO()
                write_blocks(
                    store.blocks(),
                    fmt,
                    out,
                    store.base_iri,
                    spill_lines=spill_lines,
                    directory=str(tmp_path),
                )
                assert out.getvalue() == corpus_whole[fmt], (fmt, spill_lines)
    assert list(tmp_path.iterdir()) == []
