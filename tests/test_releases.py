"""Tests of terminology releases (ontomap.releases, ``ontomap terminology``) on the fixtures in
tests/resources/releases/: small files in each release format, written for these tests.

Every expectation below was written by hand from the fixture files; the RadLex fixture is also
read with rdflib as a reference parser.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from click.testing import CliRunner
from conftest import EXAMPLES, RESOURCES

from ontomap.cli import main
from ontomap.crosswalk import CROSSWALK_GRAPH, compute_crosswalk
from ontomap.errors import ReleaseNotFoundError, ReleaseReadError
from ontomap.graph import CODES_GRAPH, RELEASE_GRAPH_NS
from ontomap.model import IndexCode
from ontomap.readers import read_models
from ontomap.releases import Releases, open_release
from ontomap.releases.common import Hierarchy
from ontomap.store import Store
from ontomap.vocab import SKOS, declared_terms

RELEASES = RESOURCES / "releases"
RADLEX = RELEASES / "radlex" / "RadLex.owl"
SNOMED = RELEASES / "snomed"
SNOMED_SNAPSHOT = SNOMED / "SnomedCT_TestRF2_PRODUCTION_20250101T120000Z" / "Snapshot"
LOINC = RELEASES / "loinc"
GAMUTS = RELEASES / "gamuts" / "gamuts-test.ttl"
GAMUTS_PROFILE = RELEASES / "gamuts" / "gamuts-test.toml"
US, GB = "900000000000509007", "900000000000508004"


def rl(code: str, display: str | None = None) -> IndexCode:
    return IndexCode("RADLEX", code, display)


def sct(code: str, display: str | None = None) -> IndexCode:
    return IndexCode("SNOMED", code, display)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the four fixture releases."""
    path = tmp_path_factory.mktemp("releases") / "kg"
    with Store(path) as store:
        releases = Releases(store)
        releases.load(RADLEX)
        releases.load(SNOMED)
        releases.load(LOINC)
        releases.load(GAMUTS, profile=GAMUTS_PROFILE)
    return path


@pytest.fixture
def releases(loaded: Path):  # type: ignore[no-untyped-def]
    with Store(loaded, read_only=True) as store:
        yield Releases(store)


# -- the releases -----------------------------------------------------------------------------


def test_list(releases: Releases) -> None:
    found = {(i.system, i.version): i for i in releases.list()}
    assert sorted(found) == [
        ("GAMUTS", "2024-06"),
        ("LOINC", "9.99"),
        ("RADLEX", "9.9"),
        ("SNOMED", "20250101"),
    ]
    snomed = found[("SNOMED", "20250101")]
    assert (snomed.format, snomed.issued, snomed.language_refset) == (
        "snomed-rf2",
        "2025-01-01",
        US,
    )
    assert (snomed.concepts, snomed.inactive, snomed.synonyms) == (7, 2, 4)
    assert (snomed.parents, snomed.replacements) == (5, 2)
    assert snomed.graph == RELEASE_GRAPH_NS + "SNOMED/20250101"
    assert len(snomed.files) == 7 and all(Path(f).is_absolute() for f in snomed.files)
    radlex = found[("RADLEX", "9.9")]
    assert (radlex.format, radlex.concepts, radlex.inactive, radlex.synonyms) == (
        "radlex-owl",
        9,
        4,
        2,
    )
    # is-a links: RID3→1, 10→3, 20→3, 15849→1, 40→15849, 42→15849, 41→42, 43→3
    assert (radlex.parents, radlex.replacements) == (8, 2)
    loinc = found[("LOINC", "9.99")]
    assert (loinc.format, loinc.concepts, loinc.inactive, loinc.replacements) == (
        "loinc-csv",
        4,
        1,
        1,
    )
    assert [Path(f).name for f in loinc.files] == ["Loinc.csv", "MapTo.csv"]
    gamuts = found[("GAMUTS", "2024-06")]
    assert (gamuts.format, gamuts.concepts, gamuts.inactive, gamuts.parents) == (
        "owl-profile",
        4,
        1,
        3,
    )
    assert releases.get("snomed").version == "20250101"
    with pytest.raises(ReleaseNotFoundError):
        releases.get("ICD10CM")


# -- RadLex -----------------------------------------------------------------------------------


def test_radlex_concepts(releases: Releases) -> None:
    lung = releases.concept("RID10", "RADLEX")
    assert lung is not None
    assert (lung.status, lung.active, lung.preferred_term) == ("active", True, "test lung")
    assert lung.code == rl("RID10", "test lung")
    assert lung.labels == ("Testlunge", "test lung")
    assert lung.synonyms == ("pulmo probatus", "test lungs")
    assert lung.definitions == ("An invented organ, for tests.\nSecond line of the definition.",)
    assert lung.parents == (rl("RID3", "test anatomical entity"),)
    assert lung.relations == (("Part_Of", rl("RID20", "test respiratory system")),)
    assert lung.replaced_by == ()
    assert lung.aliases == ("http://www.radlex.org/RID/RID10",)
    assert releases.concept("RID99999", "RADLEX") is None
    assert releases.concept("radlex:RID3").labels == ("Testanatomie", "test anatomical entity")  # type: ignore[union-attr]


def test_radlex_obsolescence(releases: Releases) -> None:
    # Preferred_Name_for_Obsolete and Replaced_by (an IRI), filed under RID15849
    old = releases.concept("RID40", "RADLEX")
    assert old is not None
    assert (old.status, old.active, old.preferred_term) == ("obsolete", False, "old test lung term")
    assert old.replaced_by == (rl("RID10", "test lung"),)
    assert old.parents == (rl("RID15849", "Obsolete RadLex Term"),)
    # under RID15849 through another obsolete class, no marker of its own
    child = releases.concept("RID41", "RADLEX")
    assert child is not None and (child.status, child.active) == ("obsolete", False)
    group = releases.concept("RID42", "RADLEX")
    assert group is not None and group.status == "obsolete"
    # owl:deprecated, Replaced_by as a bare RID literal, not under RID15849
    deprecated = releases.concept("RID43", "RADLEX")
    assert deprecated is not None and (deprecated.status, deprecated.active) == ("obsolete", False)
    assert deprecated.replaced_by == (rl("RID20", "test respiratory system"),)
    # the bucket itself and the others stay active
    for code in ("RID1", "RID3", "RID10", "RID15849", "RID20"):
        assert releases.concept(code, "RADLEX").status == "active", code  # type: ignore[union-attr]
    # annotation and object properties of the RID namespace are not concepts
    assert releases.concept("Synonym", "RADLEX") is None
    assert sorted(releases.codes("RADLEX")) == sorted(
        ["RID1", "RID3", "RID10", "RID20", "RID15849", "RID40", "RID41", "RID42", "RID43"]
    )


def test_radlex_both_iri_forms_are_joined(releases: Releases, loaded: Path) -> None:
    # RID20 is declared as http://radlex.org/RID/RID20, everything else under www.radlex.org;
    # RID43's parent is written http://radlex.org/RID/RID3 and RID10's Part_Of filler
    # http://radlex.org/RID/RID20: one concept each, in ontomap's namespace.
    assert releases.concept("RID20", "RADLEX").aliases == ()  # type: ignore[union-attr]
    assert releases.concept("RID43", "RADLEX").parents == (rl("RID3", "test anatomical entity"),)  # type: ignore[union-attr]
    assert releases.concept("RID3", "RADLEX").aliases == ("http://www.radlex.org/RID/RID3",)  # type: ignore[union-attr]
    with Store(loaded, read_only=True) as store:
        graph = ox.NamedNode(RELEASE_GRAPH_NS + "RADLEX/9.9")
        subjects = {
            q.subject.value
            for q in store.oxigraph.quads_for_pattern(None, None, None, graph)
            if q.subject != graph
        }
    assert all(s.startswith("http://radlex.org/RID/RID") for s in subjects)
    assert len(subjects) == 9


def _rdflib_reference() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """English labels and named parents of each RID class, read by rdflib."""
    graph = rdflib.Graph()
    graph.parse(RADLEX, format="xml")

    def rid(node: rdflib.term.Node) -> str | None:
        text = str(node)
        for ns in ("http://www.radlex.org/RID/", "http://radlex.org/RID/"):
            if text.startswith(ns) and text[len(ns) :].startswith("RID"):
                return text[len(ns) :]
        return None

    labels: dict[str, set[str]] = {}
    parents: dict[str, set[str]] = {}
    for cls in graph.subjects(rdflib.RDF.type, rdflib.OWL.Class):
        code = rid(cls)
        if code is None:
            continue
        labels[code] = {
            str(o) for o in graph.objects(cls, rdflib.RDFS.label) if o.language in ("en", None)
        }
        parents[code] = {
            p for o in graph.objects(cls, rdflib.RDFS.subClassOf) if (p := rid(o)) is not None
        }
    return labels, parents


def test_radlex_matches_rdflib(releases: Releases) -> None:
    labels, parents = _rdflib_reference()
    assert sorted(labels) == sorted(releases.codes("RADLEX"))
    for code in labels:
        concept = releases.concept(code, "RADLEX")
        assert concept is not None
        english = {concept.preferred_term} if labels[code] else set()
        assert english == labels[code], code
        assert {p.code for p in concept.parents} == parents[code], code


def test_radlex_hierarchy(releases: Releases) -> None:
    assert releases.descendants("RID3", "RADLEX") == {"RID10", "RID20", "RID43"}
    assert releases.descendants("RID15849", "RADLEX") == {"RID40", "RID41", "RID42"}
    assert releases.ancestors("RID41", "RADLEX") == {"RID42", "RID15849", "RID1"}
    assert releases.descendants("RID41", "RADLEX") == frozenset()


# -- SNOMED CT --------------------------------------------------------------------------------


def test_snomed_concepts(releases: Releases) -> None:
    finding = releases.concept("1003002", "SNOMED")
    assert finding is not None
    assert (finding.status, finding.active) == ("active", True)
    # US English prefers 2006011; GB English would prefer 2007019
    assert finding.preferred_term == "Test lung finding"
    assert finding.fully_specified_name == "Test lung finding (finding)"
    assert finding.labels == ("Test lung finding", "Test lung finding (finding)")
    # acceptable in US English; 2008012 is an inactive description
    assert finding.synonyms == ("Test finding of lung",)
    assert finding.parents == (sct("1002007", "Test clinical thing"),)
    nodule = releases.concept(IndexCode("SNOMED", "1004008"))
    assert nodule is not None
    assert nodule.synonyms == ('Test "coin" lesion of lung', "Test pulmonary nodule")
    assert nodule.definitions == ("A test definition of a lung nodule.",)
    # two active is-a rows; the inactive one (to 1001000) and the finding site are not parents
    assert nodule.parents == (
        sct("1002007", "Test clinical thing"),
        sct("1003002", "Test lung finding"),
    )
    small = releases.concept("sct:1007001")
    assert small is not None
    # the inferred relationships are read; the stated file's 1007001 → 1003002 is not
    assert small.parents == (sct("1004008", "Test lung nodule"),)


def test_snomed_inactive_and_associations(releases: Releases) -> None:
    retired = releases.concept("1005009", "SNOMED")
    assert retired is not None
    assert (retired.status, retired.active) == ("inactive", False)
    assert retired.replaced_by == (sct("1004008", "Test lung nodule"),)
    # the inactive POSSIBLY EQUIVALENT TO row is not read
    assert retired.relations == (("REPLACED BY", sct("1004008", "Test lung nodule")),)
    duplicate = releases.concept("1006005", "SNOMED")
    assert duplicate is not None
    assert duplicate.replaced_by == (sct("1003002", "Test lung finding"),)  # SAME AS
    assert duplicate.relations == (
        ("POSSIBLY EQUIVALENT TO", sct("1004008", "Test lung nodule")),
        ("SAME AS", sct("1003002", "Test lung finding")),
    )
    # the REFERS TO row of description 2008012 is not a concept's association
    assert releases.concept("1003002", "SNOMED").relations == ()  # type: ignore[union-attr]


def test_snomed_hierarchy(releases: Releases) -> None:
    assert releases.descendants("1001000", "SNOMED") == {"1002007", "1003002", "1004008", "1007001"}
    assert releases.descendants("1003002", "SNOMED") == {"1004008", "1007001"}
    assert releases.ancestors("1007001", "SNOMED") == {"1004008", "1003002", "1002007", "1001000"}


def test_snomed_language_refset_choice(tmp_path: Path) -> None:
    with Store(tmp_path / "kg") as store:
        info = Releases(store).load(SNOMED, language_refset=GB)
        finding = Releases(store).concept("1003002", "SNOMED")
    assert info.language_refset == GB
    assert finding is not None and finding.preferred_term == "Test finding of lung"
    assert finding.synonyms == ("Test lung finding",)


def test_snomed_national_edition_names(tmp_path: Path) -> None:
    folder = tmp_path / "SnomedCT_TestUSEditionRF2_PRODUCTION_20250301T120000Z"
    for path in SNOMED_SNAPSHOT.rglob("*.txt"):
        name = path.name.replace("_INT_20250101", "_US1000124_20250301")
        target = folder / "Snapshot" / path.relative_to(SNOMED_SNAPSHOT).parent / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    release = open_release(folder)
    assert (release.system.key, release.version, release.issued) == (
        "SNOMED",
        "US1000124_20250301",
        "2025-03-01",
    )
    assert open_release(folder, version="2025-03").version == "2025-03"


def _broken_rf2(tmp_path: Path) -> tuple[Path, Path, int]:
    folder = tmp_path / "rf2"
    shutil.copytree(SNOMED, folder)
    relationships = next(folder.rglob("sct2_Relationship_Snapshot_INT_20250101.txt"))
    lines = relationships.read_bytes().split(b"\r\n")
    # the fixture has a header and 7 rows: the new 9th line lacks its last two fields
    lines.insert(8, b"3009023\t20250101\t1\t900000000000207008\t1007001\t1004008\t0\t116680003")
    relationships.write_bytes(b"\r\n".join(lines))
    return folder, relationships, 9


def test_malformed_rf2_row_leaves_the_store_unchanged(tmp_path: Path) -> None:
    store_path = tmp_path / "kg"
    with Store(store_path) as store:
        store.load(read_models([EXAMPLES]).models)
        Releases(store).load(RADLEX)
    with Store(store_path, read_only=True) as store:
        generation, before = store.generation, sorted(map(str, store.oxigraph))
    folder, relationships, line = _broken_rf2(tmp_path)
    with pytest.raises(ReleaseReadError) as info, Store(store_path) as store:
        Releases(store).load(folder)
    assert (info.value.path, info.value.line) == (relationships, line)
    assert f"{relationships}:{line}: expected 10 tab-separated fields, found 8" in str(info.value)
    with Store(store_path, read_only=True) as store:
        assert store.generation == generation
        assert sorted(map(str, store.oxigraph)) == before


def test_malformed_headers_and_ids(tmp_path: Path) -> None:
    folder = tmp_path / "rf2"
    shutil.copytree(SNOMED, folder)
    concepts = next(folder.rglob("sct2_Concept_Snapshot_INT_20250101.txt"))
    text = concepts.read_text(encoding="utf-8")
    concepts.write_text(text.replace("1002007\t", "10020x7\t", 1), encoding="utf-8", newline="")
    with pytest.raises(ReleaseReadError, match=r":3: id '10020x7' is not an SCTID"):
        list(open_release(folder).chunks("http://example.org/g"))
    concepts.write_text("id\teffectiveTime\tactive\r\n", encoding="utf-8", newline="")
    with pytest.raises(ReleaseReadError, match=r":1: not an RF2 concept file"):
        list(open_release(folder).chunks("http://example.org/g"))
    with pytest.raises(ReleaseReadError, match="no such file or folder"):
        open_release(tmp_path / "missing")
    with pytest.raises(ReleaseReadError, match="not a release ontomap recognises"):
        open_release(EXAMPLES)


# -- LOINC and the OWL/SKOS profile -----------------------------------------------------------


def test_loinc(releases: Releases) -> None:
    expected = {
        "99901-1": ("active", True, "Test chest imaging finding"),
        "99902-9": ("trial", True, "Test nodule size, by CT"),
        "99903-7": ("discouraged", True, "Test nodule count"),
        "99904-5": ("deprecated", False, 'Test old chest finding, "legacy"'),
    }
    for code, (status, active, term) in expected.items():
        concept = releases.concept(code, "LOINC")
        assert concept is not None
        assert (concept.status, concept.active, concept.preferred_term) == (status, active, term)
    first = releases.concept("loinc:99901-1")
    assert first is not None
    assert first.synonyms == ("Test chest find", "Test chest finding")
    assert first.definitions == ("An invented imaging finding code, for tests.",)
    old = releases.concept("99904-5", "LOINC")
    assert old is not None and old.synonyms == ("Old chest finding",)
    assert old.replaced_by == (IndexCode("LOINC", "99901-1", "Test chest imaging finding"),)
    assert old.parents == ()


def test_owl_profile(releases: Releases) -> None:
    opacity = releases.concept("200", "GAMUTS")
    assert opacity is not None
    assert opacity.preferred_term == "test lung opacity"
    assert opacity.synonyms == ("test opacity of lung", "test pulmonary opacity")
    assert opacity.parents == (IndexCode("GAMUTS", "100", "test differential"),)
    assert opacity.aliases == ("http://example.org/test-gamuts/entity/200",)
    solitary = releases.concept("300", "GAMUTS")
    assert solitary is not None and solitary.preferred_term == "test solitary opacity"
    assert solitary.relations == (("may_cause", IndexCode("GAMUTS", "100", "test differential")),)
    retired = releases.concept("400", "GAMUTS")
    assert retired is not None and (retired.status, retired.active) == ("obsolete", False)
    assert retired.replaced_by == (IndexCode("GAMUTS", "300", "test solitary opacity"),)
    # g:not-a-code gives no code (GAMUTS codes are digits)
    assert sorted(releases.codes("GAMUTS")) == ["100", "200", "300", "400"]
    assert releases.descendants("100", "GAMUTS") == {"200", "300", "400"}


def test_release_graphs_use_declared_terms(loaded: Path) -> None:
    declared = declared_terms()
    own = ("http://radlex.org/RID/", "http://snomed.info/id/", "http://example.org/test-gamuts/")
    with Store(loaded, read_only=True) as store:
        predicates = {
            q.predicate.value
            for q in store.oxigraph
            if q.graph_name.value.startswith(RELEASE_GRAPH_NS)  # type: ignore[union-attr]
        }
    # the releases' own relations (Part_Of, SAME AS...) keep their IRIs; the rest is ours
    assert sorted(p for p in predicates if p not in declared and not p.startswith(own)) == []


# -- writing: replace, remove, export and crosswalk unchanged ---------------------------------


@pytest.mark.parametrize(
    "rewrite_above",
    [None, 0, 50],
    ids=["in place", "rewritten", "rewritten, small graphs in N-Quads"],
)
def test_second_load_replaces(tmp_path: Path, rewrite_above: int | None) -> None:
    changed = tmp_path / "RadLex.owl"
    changed.write_text(
        RADLEX.read_text(encoding="utf-8").replace(">test lung<", ">test lung, renamed<"),
        encoding="utf-8",
    )
    with Store(tmp_path / "kg") as store:
        releases = Releases(store)
        first = releases.load(RADLEX)
        releases.load(SNOMED)
        releases.load(LOINC)
        store.load(read_models([EXAMPLES]).models)
    with Store(tmp_path / "kg", read_only=True) as store:
        others = {
            str(q) for q in store.oxigraph if RELEASE_GRAPH_NS + "RADLEX" not in str(q.graph_name)
        }
    with Store(tmp_path / "kg") as store:
        if rewrite_above is not None:
            # the path of big releases: RADLEX (68 quads) is dropped by rewriting the
            # generation; with 50, LOINC (32) is copied as N-Quads, the others through files
            store.REWRITE_ABOVE = rewrite_above  # type: ignore[misc]
        Releases(store).load(changed)
    with Store(tmp_path / "kg", read_only=True) as store:
        releases = Releases(store)
        assert [(i.system, i.version) for i in releases.list()] == [
            ("LOINC", "9.99"),
            ("RADLEX", "9.9"),
            ("SNOMED", "20250101"),
        ]
        # every other graph (models, codes, bookkeeping, crosswalk, releases) as it was
        assert {
            str(q) for q in store.oxigraph if RELEASE_GRAPH_NS + "RADLEX" not in str(q.graph_name)
        } == others
        again = releases.get("RADLEX")
        assert again.triples == first.triples and again.files == (str(changed.resolve()),)
        lung = releases.concept("RID10", "RADLEX")
        assert lung is not None and lung.preferred_term == "test lung, renamed"
        graph = ox.NamedNode(again.graph)
        count = sum(1 for _ in store.oxigraph.quads_for_pattern(None, None, None, graph))
        assert count == again.triples + len(_record(store, graph))
        assert releases.concept("1004008", "SNOMED") is not None  # the other release kept


def _record(store: Store, graph: ox.NamedNode) -> list[ox.Quad]:
    return list(store.oxigraph.quads_for_pattern(graph, None, None, graph))


def test_remove(tmp_path: Path) -> None:
    with Store(tmp_path / "kg") as store:
        releases = Releases(store)
        releases.load(RADLEX)
        releases.load(SNOMED)
        releases.load(LOINC)
    with Store(tmp_path / "kg") as store:
        removed = Releases(store).remove("SNOMED", "20250101")
        assert [(i.system, i.version) for i in removed] == [("SNOMED", "20250101")]
        with pytest.raises(ReleaseNotFoundError):
            Releases(store).remove("SNOMED")
        Releases(store).remove("radlex")
    with Store(tmp_path / "kg", read_only=True) as store:
        assert [(i.system, i.version) for i in Releases(store).list()] == [("LOINC", "9.99")]
        names = {g.value for g in store.oxigraph.named_graphs()}
    assert names == {RELEASE_GRAPH_NS + "LOINC/9.99"}


def test_export_and_crosswalk_unchanged(tmp_path: Path) -> None:
    models = read_models([EXAMPLES]).models
    with Store(tmp_path / "kg") as store:
        store.load(models)
    with Store(tmp_path / "kg", read_only=True) as store:
        graph_before = store.graph().ntriples()
        crosswalk_before = store.oxigraph.dump(
            format=ox.RdfFormat.N_TRIPLES, from_graph=CROSSWALK_GRAPH
        )
        computed_before = compute_crosswalk(store)
    runner = CliRunner()
    before = runner.invoke(
        main, ["export", "--store", str(tmp_path / "kg"), "-o", "-", "-f", "ntriples"]
    )
    with Store(tmp_path / "kg") as store:
        releases = Releases(store)
        releases.load(RADLEX)
        releases.load(SNOMED)
        releases.load(LOINC)
        releases.load(GAMUTS, profile=GAMUTS_PROFILE)
    with Store(tmp_path / "kg", read_only=True) as store:
        assert store.graph().ntriples() == graph_before
        crosswalk = store.oxigraph.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=CROSSWALK_GRAPH)
        assert crosswalk == crosswalk_before
        assert compute_crosswalk(store) == computed_before
    after = runner.invoke(
        main, ["export", "--store", str(tmp_path / "kg"), "-o", "-", "-f", "ntriples"]
    )
    assert after.exit_code == before.exit_code == 0
    assert after.stdout_bytes == before.stdout_bytes
    # a later build of some of the models computes the crosswalk from the store (releases and
    # all): the same as in a store without releases
    with Store(tmp_path / "plain") as store:
        store.load(models)
    for path in (tmp_path / "kg", tmp_path / "plain"):
        with Store(path) as store:
            store.load(models[:1])
    with (
        Store(tmp_path / "kg", read_only=True) as a,
        Store(tmp_path / "plain", read_only=True) as b,
    ):
        assert a.graph() == b.graph()
        dumps = [
            s.oxigraph.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=CROSSWALK_GRAPH)
            for s in (a, b)
        ]
        assert dumps[0] == dumps[1]


def test_unused_codes_are_pruned_beside_a_release(tmp_path: Path) -> None:
    """A code no model uses any more leaves the codes graph, even where a release links to it."""
    models = read_models([EXAMPLES]).models
    source = next(s for s in models if s.model.index_codes)
    code = ox.NamedNode(source.model.index_codes[0].iri)
    stripped = dataclasses.replace(source, model=dataclasses.replace(source.model, index_codes=()))
    for name, with_release in (("plain", False), ("kg", True)):
        with Store(tmp_path / name) as store:
            store.load(models)
            if with_release:
                Releases(store).load(RADLEX)
                graph = ox.NamedNode(RELEASE_GRAPH_NS + "RADLEX/9.9")
                child = ox.NamedNode("http://radlex.org/RID/RID10")
                store.oxigraph.add(ox.Quad(child, SKOS.broader, code, graph))
        with Store(tmp_path / name) as store:
            store.load([stripped])
    with (
        Store(tmp_path / "kg", read_only=True) as a,
        Store(tmp_path / "plain", read_only=True) as b,
    ):
        assert a.graph() == b.graph()
        codes = [
            set(map(str, s.oxigraph.quads_for_pattern(None, None, None, CODES_GRAPH)))
            for s in (a, b)
        ]
        assert codes[0] == codes[1]
        assert not any(code.value in quad for quad in codes[1])  # it was pruned


# -- the command line -------------------------------------------------------------------------


def test_cli_load_list_remove(tmp_path: Path) -> None:
    runner = CliRunner()
    store = str(tmp_path / "kg")
    result = runner.invoke(main, ["terminology", "load", str(RADLEX), "--store", store])
    assert result.exit_code == 0, result.output
    assert "loaded RADLEX 9.9 (radlex-owl): 9 concepts (4 inactive)" in result.output
    result = runner.invoke(main, ["terminology", "load", str(RADLEX), "--store", store, "-q"])
    assert (result.exit_code, result.output) == (0, "")
    result = runner.invoke(main, ["terminology", "load", str(SNOMED), "--store", store])
    assert result.exit_code == 0 and "loaded SNOMED 20250101" in result.output
    result = runner.invoke(main, ["terminology", "list", "--store", store])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == [
        "system",
        "version",
        "format",
        "issued",
        "concepts",
        "inactive",
        "is-a",
        "triples",
    ]
    assert lines[1].split()[:5] == ["RADLEX", "9.9", "radlex-owl", "9", "4"]
    assert lines[2].split()[:6] == ["SNOMED", "20250101", "snomed-rf2", "2025-01-01", "7", "2"]
    result = runner.invoke(main, ["terminology", "list", "--store", store, "--format", "json"])
    data = json.loads(result.output)
    assert [(d["system"], d["version"], d["concepts"]) for d in data] == [
        ("RADLEX", "9.9", 9),
        ("SNOMED", "20250101", 7),
    ]
    result = runner.invoke(main, ["terminology", "remove", "SNOMED", "1999", "--store", store])
    assert result.exit_code == 3 and "no release of SNOMED 1999" in result.output
    result = runner.invoke(main, ["terminology", "remove", "NOPE", "--store", store])
    assert result.exit_code == 2 and "unknown code system 'NOPE'" in result.output
    result = runner.invoke(main, ["terminology", "remove", "SNOMED", "--store", store])
    assert result.exit_code == 0 and "removed SNOMED 20250101" in result.output


def test_cli_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    store = str(tmp_path / "kg")
    folder, relationships, line = _broken_rf2(tmp_path)
    result = runner.invoke(main, ["terminology", "load", str(folder), "--store", store])
    assert result.exit_code == 1
    assert f"ontomap: error: {relationships}:{line}: expected 10" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(main, ["terminology", "load", str(tmp_path / "none"), "--store", store])
    assert result.exit_code == 1 and "no such file or folder" in result.output
    result = runner.invoke(
        main, ["terminology", "load", str(SNOMED), "--system", "RADLEX", "--store", store]
    )
    assert result.exit_code == 1 and "this is a SNOMED release" in result.output
    result = runner.invoke(main, ["terminology", "load", str(SNOMED), "--format", "nope"])
    assert result.exit_code == 2
    result = runner.invoke(main, ["terminology", "list", "--store", str(tmp_path / "no-store")])
    assert result.exit_code == 4
    for command in ("load", "list", "remove"):
        result = runner.invoke(main, ["terminology", command, "--help"])
        assert result.exit_code == 0 and "Examples:" in result.output


def test_chunks_are_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A release read in many small chunks gives the same graph as one read in one chunk."""

    def quads(path: Path) -> set[str]:
        with Store(path, read_only=True) as store:
            return {
                str(q)
                for q in store.oxigraph
                if q.graph_name.value.startswith(RELEASE_GRAPH_NS)  # type: ignore[union-attr]
                and q.subject != q.graph_name  # the record names its files and dates
            }

    def load(path: Path) -> None:
        with Store(path) as store:
            releases = Releases(store)
            for release in (RADLEX, SNOMED, LOINC):
                releases.load(release)
            releases.load(GAMUTS, profile=GAMUTS_PROFILE)

    load(tmp_path / "one")
    import ontomap.releases.common as common

    monkeypatch.setattr(common, "CHUNK", 3)
    load(tmp_path / "many")
    assert quads(tmp_path / "many") == quads(tmp_path / "one")
    with Store(tmp_path / "many", read_only=True) as store:
        # 7 concepts × 2 (type, status) + 2 deprecated, 18 active descriptions, 1 definition,
        # 5 is-a, 3 associations + 2 replacements, and 4 top links (1002007, just below the
        # root 1001000, and the three codes under it)
        assert Releases(store).get("SNOMED").triples == 49


def test_top_concepts_of_a_hierarchy() -> None:
    """Tops are the children of roots; every code at or under a top links to it, once per
    top; a code under two tops links to both; roots link to none."""
    hierarchy = Hierarchy()
    for child, parent in [
        ("B", "A"),  # A is a root; B and C are its tops
        ("C", "A"),
        ("D", "B"),
        ("E", "D"),
        ("E", "C"),  # E is under both tops
        ("F", "E"),
        ("D", "C"),  # a second path to D (and E, F) from C
        ("Y", "X"),  # a second root, X, with its one top Y
    ]:
        hierarchy.add(child, parent)
    found = list(hierarchy.tops())
    assert len(found) == len(set(found))
    assert set(found) == {
        *[(code, "B") for code in "BDEF"],
        *[(code, "C") for code in "CDEF"],
        ("Y", "Y"),
    }


def test_broken_owl(tmp_path: Path) -> None:
    text = RADLEX.read_text(encoding="utf-8")
    cut = tmp_path / "RadLex.owl"
    cut.write_text(text[: text.index("<owl:Class", text.index("RID20"))], encoding="utf-8")
    with pytest.raises(ReleaseReadError, match="ends before the closing </rdf:RDF>"):
        open_release(cut)
    wrong = tmp_path / "wrong.owl"
    wrong.write_text(text.replace("</rdfs:label>", "</rdfs:labelx>", 1), encoding="utf-8")
    with pytest.raises(ReleaseReadError, match="not well-formed RDF"), Store(tmp_path / "kg") as s:
        Releases(s).load(wrong)
    bad_profile = tmp_path / "bad.toml"
    bad_profile.write_text(
        'system = "GAMUTS"\nnamespaces = ["http://e/"]\n[properties]\nlabl = []\n'
    )
    with pytest.raises(ReleaseReadError, match="unknown properties labl"):
        open_release(GAMUTS, profile=bad_profile)


def test_child_index_agrees_with_the_broader_triples(releases: Releases) -> None:
    """descendants() reads the child index; a SPARQL property path over skos:broader (what it
    falls back to) gives the same codes."""
    from ontomap.releases.api import _DESCENDANTS

    for system in ("RADLEX", "SNOMED", "GAMUTS"):
        for code in releases.codes(system):
            by_path = releases._closure(_DESCENDANTS, "d", code, system, None)
            assert releases.descendants(code, system) == by_path, (system, code)
    assert releases.descendants("99901-1", "LOINC") == frozenset()  # no hierarchy: no index
