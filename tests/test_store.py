"""Tests of the on-disk store: loading, replacing, stale triples, base IRIs, errors, read-back."""

from __future__ import annotations

import dataclasses
import gc
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import EXAMPLES, RESOURCES, SEED_MD

from ontomap.cli import main
from ontomap.errors import StoreError
from ontomap.generations import current_generation, generation_dir
from ontomap.graph import CROSSWALK_GRAPH, GraphBuilder, KnowledgeGraph
from ontomap.model import ChoiceAttribute, FindingModel
from ontomap.readers import ModelStream, read_file, read_models
from ontomap.store import Store, default_store_path

SPN = EXAMPLES / "solitary_pulmonary_nodule.fm.json"


def _quads_mentioning(store: Store, text: str) -> list[str]:
    return [str(q) for q in store.oxigraph if text in str(q)]


def _normalised(model: FindingModel) -> FindingModel:
    """Index codes, synonyms and tags as sorted sets. The graph keeps no order for them (the
    order of synonyms and tags is checked by the round-trip tests in test_graph.py)."""

    def codes(values):  # type: ignore[no-untyped-def]
        return tuple(sorted({(c.system, c.code, c.display) for c in values}, key=repr))

    attributes = []
    for attribute in model.attributes:
        changes: dict[str, object] = {"index_codes": codes(attribute.index_codes)}
        if isinstance(attribute, ChoiceAttribute):
            changes["values"] = tuple(
                dataclasses.replace(v, index_codes=codes(v.index_codes)) for v in attribute.values
            )
        attributes.append(dataclasses.replace(attribute, **changes))
    return dataclasses.replace(
        model,
        synonyms=tuple(sorted(set(model.synonyms))),
        tags=tuple(sorted(set(model.tags))),
        attributes=tuple(attributes),
        index_codes=codes(model.index_codes),
        anatomic_locations=codes(model.anatomic_locations),
    )


# -- building ---------------------------------------------------------------------------------


def test_build_examples(tmp_path: Path) -> None:
    report = read_models([EXAMPLES])
    with Store(tmp_path / "kg") as store:
        assert store.model_ids() == [] and store.base_iri is None
        summary = store.load(report.models)
        assert (summary.added, summary.replaced) == (3, 0)
        assert store.model_ids() == ["OIFM_GMTS_005529", "OIFM_OMAP_000001", "OIFM_OMAP_000002"]
        assert store.base_iri == "https://w3id.org/ontomap/id/"
        sources = store.sources()
    assert {k: (Path(v.path), v.format) for k, v in sources.items()} == {
        "OIFM_GMTS_005529": (SEED_MD, "markdown"),
        "OIFM_OMAP_000001": (SPN, "json"),
        "OIFM_OMAP_000002": (EXAMPLES / "glasgow_coma_scale_example.md", "markdown"),
    }
    # persisted: a new read-only handle sees the same
    with Store(tmp_path / "kg", read_only=True) as store:
        assert store.model_ids() == ["OIFM_GMTS_005529", "OIFM_OMAP_000001", "OIFM_OMAP_000002"]
        assert store.graph() == GraphBuilder().graph(s.model for s in report.models)


def test_one_named_graph_per_model(tmp_path: Path) -> None:
    with Store(tmp_path / "kg") as store:
        store.load(read_models([EXAMPLES]).models)
        graphs = {g.value for g in store.oxigraph.named_graphs()}  # type: ignore[union-attr]
    assert {
        "https://w3id.org/ontomap/graph/OIFM_GMTS_005529",
        "https://w3id.org/ontomap/graph/OIFM_OMAP_000001",
        "https://w3id.org/ontomap/graph/OIFM_OMAP_000002",
    } <= graphs


def test_source_path_is_recorded_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES)
    report = read_models([Path("solitary_pulmonary_nodule.fm.json")])
    with Store(tmp_path / "kg") as store:
        store.load(report.models)
        (info,) = store.sources().values()
    assert Path(info.path) == SPN and Path(info.path).is_absolute()


def test_rebuilding_replaces_without_duplicates(tmp_path: Path) -> None:
    models = read_models([EXAMPLES]).models
    with Store(tmp_path / "kg") as store:
        store.load(models)
        quads = len(store)
        summary = store.load(models)
        assert (summary.added, summary.replaced) == (0, 3)
        assert len(store) == quads
        summary = store.load(models[:1])
        assert (summary.added, summary.replaced) == (0, 1)
        assert len(store) == quads
        assert len(store.model_ids()) == 3
    with Store(tmp_path / "kg") as store:  # and again after reopening
        store.load(models)
        assert len(store) == quads


def test_same_model_from_another_file_replaces_the_source(tmp_path: Path) -> None:
    copy = tmp_path / "copy.json"
    copy.write_bytes(SPN.read_bytes())
    with Store(tmp_path / "kg") as store:
        store.load(read_models([SPN]).models)
        quads = len(store)
        store.load(read_models([copy]).models)
        (info,) = store.sources().values()
        assert (Path(info.path), info.format) == (copy, "json")
        assert len(store) == quads


#: The display of the finding's GAMUTS code in solitary_pulmonary_nodule.fm.json, as a triple.
OLD_LABEL = (
    "<https://w3id.org/ontomap/code/GAMUTS/14616> "
    '<http://www.w3.org/2000/01/rdf-schema#label> "solitary pulmonary nodule"'
)


def test_removed_attribute_leaves_no_stale_triple(tmp_path: Path) -> None:
    data = json.loads(SPN.read_text(encoding="utf-8"))
    path = tmp_path / "spn.fm.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with Store(tmp_path / "kg") as store:
        store.load(read_models([path]).models)
        assert _quads_mentioning(store, "OIFMA_OMAP_000012")
        assert _quads_mentioning(store, "http://radlex.org/RID/RID39038")
        assert _quads_mentioning(store, OLD_LABEL)
        # version 2: the "location" attribute is gone and a display changed
        data["attributes"] = [a for a in data["attributes"] if a["oifma_id"] != "OIFMA_OMAP_000012"]
        data["index_codes"][0]["display"] = "solitary nodule of the lung"
        path.write_text(json.dumps(data), encoding="utf-8")
        new = read_models([path]).models
        summary = store.load(new)
        assert (summary.added, summary.replaced) == (0, 1)
        assert _quads_mentioning(store, "OIFMA_OMAP_000012") == []
        # its codes were used by nothing else: their concepts are gone too
        assert _quads_mentioning(store, "http://radlex.org/RID/RID39038") == []
        assert _quads_mentioning(store, "http://snomed.info/id/758637006") == []
        assert _quads_mentioning(store, OLD_LABEL) == []
        assert _quads_mentioning(store, '"solitary nodule of the lung"')
        assert store.graph() == GraphBuilder().graph([new[0].model])
        quads = len(store)
    with Store(tmp_path / "fresh") as fresh:
        fresh.load(new)
        assert len(fresh) == quads


def test_same_model_twice_in_one_load_keeps_only_the_last(tmp_path: Path) -> None:
    (first,) = read_models([SPN]).models
    trimmed = dataclasses.replace(first.model, attributes=first.model.attributes[:1])
    second = dataclasses.replace(first, model=trimmed)
    with Store(tmp_path / "kg") as store:
        summary = store.load([first, second])
        assert (summary.added, summary.replaced) == (1, 1)
        assert _quads_mentioning(store, "OIFMA_OMAP_000012") == [], "stale attribute of the first"
        assert store.graph() == GraphBuilder().graph([trimmed])


def _crosswalk_quads(store: Store) -> set[str]:
    return {str(q) for q in store.oxigraph.quads_for_pattern(None, None, None, CROSSWALK_GRAPH)}


def test_a_model_given_twice_in_one_load_gets_the_crosswalk_of_its_later_version(
    tmp_path: Path,
) -> None:
    models = read_models([EXAMPLES]).models
    spn = next(s for s in models if s.model.oifm_id == "OIFM_OMAP_000001")
    emptied = dataclasses.replace(spn, model=dataclasses.replace(spn.model, attributes=()))
    with Store(tmp_path / "twice") as twice, Store(tmp_path / "once") as once:
        twice.load([*models, emptied])
        once.load([s for s in models if s is not spn] + [emptied])
        assert _crosswalk_quads(twice) == _crosswalk_quads(once)
        assert _crosswalk_quads(once)


def _new_models_counter() -> Callable[[], int]:
    """A function counting the FindingModel objects alive that were not alive when it was made.
    The models other tests hold stay alive (and so keep their addresses) meanwhile."""
    held = [o for o in gc.get_objects() if type(o) is FindingModel]  # no weak proxy touched
    known = {id(o) for o in held}

    def count() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if type(o) is FindingModel and id(o) not in known)

    count.held = held  # type: ignore[attr-defined]  # keeps them alive as long as the counter
    return count


def test_a_load_holds_no_model_once_it_is_written(tmp_path: Path, corpus_defs: Path) -> None:
    """A load of any size holds its JSON models only batch by batch (none is alive after it,
    while the stream and the store are still open)."""
    files = sorted(corpus_defs.glob("*.fm.json"))[:3]
    stream = ModelStream(files, keep_models=False)
    new_models = _new_models_counter()
    alive: list[int] = []

    def count(_done: int) -> None:
        alive.append(new_models())

    with Store(tmp_path / "kg") as store:
        summary = store.load(stream, progress=count, batch_size=1)
        assert summary.added == stream.report.model_count == 3
        count(summary.added)
    assert max(alive[:-1]) <= 1, alive  # the batch being written
    assert alive[-1] == 0


def test_ontomap_build_holds_no_model_past_its_batch(
    tmp_path: Path, corpus_defs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command, not only the library: ``ontomap build`` of three batches' worth of files
    has only the batch being converted alive whenever it converts one (a reader keeping its
    models would hold every model read so far: 801 at the third)."""
    batch = 400  # Store.load's default
    files = sorted(corpus_defs.glob("*.fm.json"))[: 2 * batch + 1]
    new_models = _new_models_counter()
    alive: list[tuple[int, int]] = []
    store_nquads = GraphBuilder.store_nquads

    def counted(builder: GraphBuilder, sources: list) -> tuple:  # type: ignore[type-arg]
        alive.append((len(sources), new_models()))
        return store_nquads(builder, sources)

    monkeypatch.setattr(GraphBuilder, "store_nquads", counted)
    result = CliRunner().invoke(
        main, ["build", *map(str, files), "--store", str(tmp_path / "kg"), "-q"]
    )
    assert result.exit_code == 0, result.output
    assert alive == [(batch, batch), (batch, batch), (1, 1)]


def _tables_and_families(store: Path) -> tuple[int, int]:
    """Table files (``*.sst``) of a store's current generation, and its column families (the
    ``[CFOptions ...]`` sections of RocksDB's options file)."""
    name = current_generation(store)
    assert name is not None
    directory = generation_dir(store, name)
    (options,) = directory.glob("OPTIONS-*")
    families = options.read_text().count("\n[CFOptions ")
    return len(list(directory.glob("*.sst"))), families


def test_a_load_of_several_batches_leaves_the_database_compacted(
    tmp_path: Path, corpus_defs: Path
) -> None:
    """Each bulk load adds table files that every read looks into; a load of two batches or
    more compacts them at its end, a load of one batch does not (compacting rewrites the whole
    database)."""
    files = sorted(corpus_defs.glob("*.fm.json"))[:4]
    for batch_size in (4, 2, 1):  # one, two and four batches
        with Store(tmp_path / str(batch_size)) as store:
            store.load(ModelStream(files), batch_size=batch_size)
    # Compacted, a small database keeps about one table per column family: 10 to 13 tables
    # for 12 families in repeated runs here, against 18 to 24 when not compacted.
    for batch_size, compacted in ((4, False), (2, True), (1, True)):
        tables, families = _tables_and_families(tmp_path / str(batch_size))
        assert (tables < families * 5 // 4) == compacted, (batch_size, tables, families)


def test_shared_code_stays_while_another_model_uses_it(tmp_path: Path) -> None:
    models = read_models([EXAMPLES]).models
    spn = next(s for s in models if s.model.oifm_id == "OIFM_OMAP_000001")
    emptied = dataclasses.replace(spn, model=dataclasses.replace(spn.model, attributes=()))
    with Store(tmp_path / "kg") as store:
        store.load(models)
        store.load([emptied])
        # RID28473 "absent" is still used by the seed's values
        assert _quads_mentioning(store, "http://radlex.org/RID/RID28473")
        others = [s.model for s in models if s is not spn]
        assert store.graph() == GraphBuilder().graph([*others, emptied.model])


# -- base IRI ---------------------------------------------------------------------------------


def test_store_keeps_its_base_iri(tmp_path: Path) -> None:
    models = read_models([EXAMPLES]).models
    base = "http://example.org/oifm/"
    with Store(tmp_path / "kg") as store:
        store.load(models[:1], base)
        assert store.base_iri == base
        store.load(models[1:])  # no base given: the store's own
        assert store.base_iri == base
        graph = store.graph()
    assert graph == GraphBuilder(base).graph(s.model for s in models)
    assert not any("https://w3id.org/ontomap/id/" in line for line in graph.lines)


def test_base_iri_mismatch_raises(tmp_path: Path) -> None:
    models = read_models([EXAMPLES]).models
    with Store(tmp_path / "kg") as store:
        store.load(models)
        quads = len(store)
        with pytest.raises(StoreError) as info:
            store.load(models, "http://example.org/other/")
        assert "https://w3id.org/ontomap/id/" in str(info.value)
        assert "http://example.org/other/" in str(info.value)
        assert len(store) == quads


# -- errors -----------------------------------------------------------------------------------


def test_read_only_open_of_a_missing_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as info:
        Store(tmp_path / "missing", read_only=True)
    assert str(tmp_path / "missing") in str(info.value)
    assert "ontomap build" in str(info.value)
    assert not (tmp_path / "missing").exists()


def test_read_only_store_refuses_to_load(tmp_path: Path) -> None:
    with Store(tmp_path / "kg") as store:
        store.load(read_models([SEED_MD]).models)
    with Store(tmp_path / "kg", read_only=True) as store, pytest.raises(StoreError):
        store.load(read_models([SPN]).models)


def test_store_path_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a store", encoding="utf-8")
    with pytest.raises(StoreError):
        Store(tmp_path / "file")


def test_store_in_use_raises_store_error(tmp_path: Path) -> None:
    with Store(tmp_path / "kg"), pytest.raises(StoreError) as info:
        Store(tmp_path / "kg")
    assert str(tmp_path / "kg") in str(info.value)


def test_default_store_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ONTOMAP_STORE", str(tmp_path / "env-kg"))
    assert default_store_path() == tmp_path / "env-kg"
    monkeypatch.delenv("ONTOMAP_STORE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_store_path() == tmp_path / "data" / "ontomap" / "store"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_store_path() == tmp_path / "home" / ".local" / "share" / "ontomap" / "store"


def test_store_without_a_path_uses_the_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ONTOMAP_STORE", str(tmp_path / "env-kg"))
    with Store() as store:
        store.load(read_models([SEED_MD]).models)
        assert store.path == tmp_path / "env-kg"
    assert (tmp_path / "env-kg").is_dir()


# -- reading back -----------------------------------------------------------------------------


def test_model_graph_round_trips_examples(tmp_path: Path) -> None:
    models = [s.model for s in read_models([EXAMPLES]).models]
    with Store(tmp_path / "kg") as store:
        store.load(read_models([EXAMPLES]).models)
        for model in models:
            graph = store.model_graph(model.oifm_id)
            assert graph == GraphBuilder().graph([model]), model.oifm_id
            (back,) = graph.models()
            assert _normalised(back) == _normalised(model)


def test_model_graph_of_an_unknown_model_is_empty(tmp_path: Path) -> None:
    with Store(tmp_path / "kg") as store:
        store.load(read_models([SEED_MD]).models)
        assert len(store.model_graph("OIFM_NONE_000000")) == 0


def test_corpus_store(corpus_store: Path, corpus_report, corpus_graph: KnowledgeGraph) -> None:
    models = {s.model.oifm_id: s for s in corpus_report.models}
    with Store(corpus_store, read_only=True) as store:
        assert store.model_ids() == sorted(models)
        sources = store.sources()
        assert {(Path(i.path).name, i.format) for i in sources.values()} == {
            (s.path.name, "json") for s in models.values()
        }
        # every 400th model: its named graph (with its concepts) round-trips
        builder = GraphBuilder()
        for oifm_id in sorted(models)[::400]:
            model = models[oifm_id].model
            graph = store.model_graph(oifm_id)
            assert graph == KnowledgeGraph(builder.model_lines(model)), oifm_id
            (back,) = graph.models()
            assert _normalised(back) == _normalised(model), oifm_id
        names = store.oxigraph.query(
            "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
        )
        assert int(next(iter(names))[0].value) == len(models) + 3  # type: ignore[index]


def test_corpus_store_graph_equals_the_direct_graph(
    corpus_store_graph: KnowledgeGraph, corpus_graph: KnowledgeGraph
) -> None:
    assert len(corpus_store_graph) == len(corpus_graph)
    assert corpus_store_graph == corpus_graph


def test_load_takes_a_lazy_stream(tmp_path: Path) -> None:
    from ontomap.readers import ModelStream

    stream = ModelStream([EXAMPLES, RESOURCES / "broken"])
    with Store(tmp_path / "kg") as store:
        summary = store.load(stream)
        assert (summary.added, summary.replaced) == (4, 0)
        assert store.model_ids() == [
            "OIFM_GMTS_005529",
            "OIFM_OMAP_000001",
            "OIFM_OMAP_000002",
            "OIFM_TEST_000001",
        ]
    assert len(stream.report.errors) == 8


def test_many_models_in_several_batches(tmp_path: Path) -> None:
    source, _warnings = read_file(SEED_MD)
    copies = [
        dataclasses.replace(
            source,
            model=dataclasses.replace(source.model, oifm_id=f"OIFM_TEST_{n:06d}", attributes=()),
        )
        for n in range(450)
    ]
    with Store(tmp_path / "kg") as store:
        summary = store.load(copies)
        assert (summary.added, summary.replaced) == (450, 0)
        assert len(store.model_ids()) == 450
        quads = len(store)
        summary = store.load(reversed(copies))
        assert (summary.added, summary.replaced) == (0, 450)
        assert len(store) == quads
        assert store.graph() == GraphBuilder().graph(c.model for c in copies)
