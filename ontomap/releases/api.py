"""Releases in a store: load, list, remove, and read concepts, codes and hierarchies.

>>> from ontomap.store import Store
>>> from ontomap.releases import Releases
>>> with Store("kg") as store:                                    # doctest: +SKIP
...     Releases(store).load("SnomedCT_InternationalRF2_PRODUCTION_20250101T120000Z")
>>> with Store("kg", read_only=True) as store:                    # doctest: +SKIP
...     releases = Releases(store)
...     releases.concept("RID5598", "RADLEX").replaced_by
...     len(releases.descendants("404684003", "SNOMED"))
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import unquote

import pyoxigraph as ox

from ontomap.errors import OntomapError, ReleaseNotFoundError, StoreError
from ontomap.graph import RELEASE_GRAPH_NS, release_graph_iri
from ontomap.model import IndexCode
from ontomap.ntriples import iri, literal, typed_literal
from ontomap.releases.common import CHUNK, ChildIndex, Hierarchy, NameIndex, Names, Release
from ontomap.releases.owl import Profile
from ontomap.releases.readers import open_release
from ontomap.releases.rf2 import ASSOCIATIONS
from ontomap.sparql import Term, sparql_text
from ontomap.store import Store
from ontomap.terminology import SCHEME_NAMESPACE, CodeSystem, default_registry
from ontomap.vocab import DCTERMS, OIFM, OWL, RDF, SKOS, XSD

__all__ = ["Concept", "ReleaseInfo", "Releases", "write_release"]

#: Chunks of lines waiting for the store while the next one is read (bounds memory).
_IN_FLIGHT = 2


@dataclass(frozen=True, slots=True)
class ReleaseInfo:
    """A release loaded in a store: its record in the release's own graph."""

    system: str
    version: str
    format: str
    graph: str
    files: tuple[str, ...]
    issued: str | None
    modified: str | None
    concepts: int
    inactive: int
    synonyms: int
    parents: int
    replacements: int
    triples: int
    language_refset: str | None = None

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["files"] = list(self.files)
        return out


@dataclass(frozen=True, slots=True)
class Concept:
    """What one release says about one code.

    ``status`` is the release's word (``active``, ``inactive``, ``obsolete``, ``deprecated``,
    ``discouraged``, ``trial``); ``active`` is False for a code not to be used any more.
    ``labels`` are its names (preferred terms in every language, the fully specified name),
    ``synonyms`` its other names. ``parents`` are its direct is-a parents, ``replaced_by`` the
    codes to use instead, ``relations`` every other link as (name, code): RadLex's
    ``Part_Of``..., SNOMED CT's historical associations (``SAME AS``, ``POSSIBLY EQUIVALENT
    TO``...). Codes carry their preferred term as display. ``aliases`` are the concept's IRIs as
    the release spells them, where they differ from ``code.iri``.
    """

    code: IndexCode
    release: ReleaseInfo
    status: str
    active: bool
    preferred_term: str | None
    labels: tuple[str, ...]
    synonyms: tuple[str, ...]
    definitions: tuple[str, ...]
    parents: tuple[IndexCode, ...]
    replaced_by: tuple[IndexCode, ...]
    relations: tuple[tuple[str, IndexCode], ...]
    fully_specified_name: str | None = None
    aliases: tuple[str, ...] = ()


# ------------------------------------------------------------------ writing


def _count(value: int) -> str:
    return typed_literal(str(value), XSD.integer.value)


def _record_lines(info: ReleaseInfo) -> list[str]:
    g = iri(info.graph)
    scheme = iri(SCHEME_NAMESPACE + info.system)
    out = [
        f"{g} {iri(RDF.type.value)} {iri(OIFM.Release.value)} .\n",
        f"{g} {iri(DCTERMS.isVersionOf.value)} {scheme} .\n",
        f"{g} {iri(OWL.versionInfo.value)} {literal(info.version)} .\n",
        f"{g} {iri(OIFM.releaseFormat.value)} {literal(info.format)} .\n",
    ]
    out.extend(f"{g} {iri(OIFM.releaseFile.value)} {literal(f)} .\n" for f in info.files)
    if info.issued:
        out.append(
            f"{g} {iri(DCTERMS.issued.value)} {typed_literal(info.issued, XSD.date.value)} .\n"
        )
    if info.modified:
        modified = typed_literal(info.modified, XSD.dateTime.value)
        out.append(f"{g} {iri(DCTERMS.modified.value)} {modified} .\n")
    if info.language_refset:
        out.append(f"{g} {iri(OIFM.languageRefset.value)} {literal(info.language_refset)} .\n")
    for name, value in (
        ("conceptCount", info.concepts),
        ("inactiveCount", info.inactive),
        ("synonymCount", info.synonyms),
        ("parentCount", info.parents),
        ("replacementCount", info.replacements),
        ("tripleCount", info.triples),
    ):
        out.append(f"{g} {iri(getattr(OIFM, name).value)} {_count(value)} .\n")
    return out


def _top_lines(release: Release) -> list[str]:
    """``<c> oifm:topConcept <t>`` for each code and each top-level concept it falls under
    (:meth:`~ontomap.releases.common.Hierarchy.tops`), so that a query groups codes by
    top-level hierarchy with one lookup per code instead of a ``skos:broader*`` walk."""
    system = release.system
    predicate = iri(OIFM.topConcept.value)
    nodes: dict[str, str] = {}

    def node(code: str) -> str:
        found = nodes.get(code)
        if found is None:
            found = nodes[code] = iri(system.code_iri(code))
        return found

    return [f"{node(code)} {predicate} {node(top)} .\n" for code, top in release.hierarchy.tops()]


def write_release(
    store: Store, release: Release, progress: Callable[[int], None] | None = None
) -> ReleaseInfo:
    """Write ``release`` into its own graph of ``store`` (open for writing), replacing the same
    system and version if loaded. Chunks are bulk-loaded by a background thread while the next
    one is read, at most :data:`_IN_FLIGHT` waiting. ``progress`` gets the triples written so
    far. An exception leaves the generation being written half done: the caller aborts it
    (leaving the ``with Store(...)`` block by the exception does)."""
    if store.read_only:
        raise StoreError(f"the store at {store.path} is open read-only")
    from ontomap.releases.common import file_date

    graph = release_graph_iri(release.system.key, release.version)
    store.drop_graphs([graph])

    def put(lines: list[str]) -> None:
        # store.oxigraph each time, never kept in a local: a traceback that outlives an
        # aborted write must not keep its database open.
        data = "".join(lines).encode()
        store.oxigraph.bulk_load(data, format=ox.RdfFormat.N_TRIPLES, to_graph=graph, lenient=True)

    written = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ontomap-release") as pool:
        pending: deque[Future[None]] = deque()
        try:
            for chunk in release.chunks(graph.value):
                if not chunk:
                    continue
                pending.append(pool.submit(put, chunk))
                written += len(chunk)
                while len(pending) > _IN_FLIGHT:
                    pending.popleft().result()
                if progress is not None:
                    progress(written)
        except BaseException:
            for future in pending:  # the write is given up: wait only for what is running
                if not future.cancel():
                    future.exception()
            raise
        for future in pending:
            future.result()
    top_lines = _top_lines(release)
    for start in range(0, len(top_lines), CHUNK):
        put(top_lines[start : start + CHUNK])
    written += len(top_lines)
    del top_lines
    counts = release.counts
    info = ReleaseInfo(
        system=release.system.key,
        version=release.version,
        format=release.kind,
        graph=graph.value,
        files=tuple(str(p.resolve()) for p in release.files),
        issued=release.issued,
        modified=file_date(release.files),
        concepts=counts.concepts,
        inactive=counts.inactive,
        synonyms=counts.synonyms,
        parents=counts.parents,
        replacements=counts.replacements,
        triples=written,
        language_refset=release.language_refset,
    )
    record = _record_lines(info)
    if len(release.hierarchy):
        index = release.hierarchy.record()
        record.append(f"{iri(info.graph)} {iri(OIFM.childIndex.value)} {index} .\n")
    if len(release.names):
        names = release.names.record()
        record.append(f"{iri(info.graph)} {iri(OIFM.nameIndex.value)} {names} .\n")
    release.hierarchy, release.names = Hierarchy(), Names()  # the memory they held
    put(record)
    # A bulk load leaves many small files at the top of the database, which makes every
    # later read check them all (a lookup per quad of several milliseconds at SNOMED's size):
    # compact them now, once, while the generation is still being written.
    store.oxigraph.optimize()
    return info


# ------------------------------------------------------------------ reading

_INTEGER_FIELDS = {
    OIFM.conceptCount.value: "concepts",
    OIFM.inactiveCount.value: "inactive",
    OIFM.synonymCount.value: "synonyms",
    OIFM.parentCount.value: "parents",
    OIFM.replacementCount.value: "replacements",
    OIFM.tripleCount.value: "triples",
}
_DESCENDANTS = sparql_text("ontomap.releases", "descendants.rq")
_ANCESTORS = sparql_text("ontomap.releases", "ancestors.rq")
#: Bulk reads (:meth:`Releases.concepts`): the empty ``VALUES ?c {}`` block is filled with IRIs
#: as terms (:meth:`Releases._values_query`).
_CONCEPT_FACTS = sparql_text("ontomap.releases", "concept-facts.rq")
_PREFERRED_TERMS = sparql_text("ontomap.releases", "preferred-terms.rq")
#: The placeholder of the bulk reads.
_EMPTY_VALUES = "VALUES ?c {}"
#: IRIs per bulk query (a SPARQL text of a few hundred kilobytes at most).
_VALUES_CHUNK = 5000


def _info(store: ox.Store, graph: ox.NamedNode) -> ReleaseInfo:
    fields: dict[str, object] = {"graph": graph.value, "files": []}
    for quad in store.quads_for_pattern(graph, None, None, graph):
        p, o = quad.predicate.value, quad.object.value  # type: ignore[union-attr]
        if p in _INTEGER_FIELDS:
            fields[_INTEGER_FIELDS[p]] = int(o)
        elif p == DCTERMS.isVersionOf.value:
            fields["system"] = o.removeprefix(SCHEME_NAMESPACE)
        elif p == OWL.versionInfo.value:
            fields["version"] = o
        elif p == OIFM.releaseFormat.value:
            fields["format"] = o
        elif p == OIFM.releaseFile.value:
            fields["files"].append(o)  # type: ignore[attr-defined]
        elif p == DCTERMS.issued.value:
            fields["issued"] = o
        elif p == DCTERMS.modified.value:
            fields["modified"] = o
        elif p == OIFM.languageRefset.value:
            fields["language_refset"] = o
    fields["files"] = tuple(sorted(fields["files"]))  # type: ignore[call-overload]
    for name in ("issued", "modified"):
        fields.setdefault(name, None)
    for name in _INTEGER_FIELDS.values():
        fields.setdefault(name, 0)
    return ReleaseInfo(**fields)  # type: ignore[arg-type]


def _release_key(info: ReleaseInfo) -> tuple[str, tuple[int, ...], str]:
    digits = tuple(int(n) for n in "".join(c if c.isdigit() else " " for c in info.version).split())
    return (info.issued or "", digits, info.version)


class Releases:
    """The terminology releases of a store (read-only or open for writing).

    A code is given as an :class:`~ontomap.model.IndexCode`, a CURIE (``sct:404684003``) or a
    bare code with ``system``; without ``version`` the latest release of the system is read
    (by release date, then version).
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: list[ReleaseInfo] | None = None
        self._indexes: dict[str, ChildIndex | None] = {}

    @property
    def _ox(self) -> ox.Store:
        return self.store.oxigraph

    # -------------------------------------------------------------- releases

    def list(self) -> list[ReleaseInfo]:
        """Every release in the store, by system and version."""
        if self._cache is None:
            graphs = {
                q.graph_name.value: q.graph_name
                for q in self._ox.quads_for_pattern(None, RDF.type, OIFM.Release, None)
                if isinstance(q.graph_name, ox.NamedNode)
                and q.graph_name == q.subject
                and q.graph_name.value.startswith(RELEASE_GRAPH_NS)
            }
            found = [_info(self._ox, g) for g in graphs.values()]
            self._cache = sorted(found, key=lambda i: (i.system, _release_key(i)))
        return list(self._cache)

    def get(self, system: str, version: str | None = None) -> ReleaseInfo:
        """The release of ``system`` (and ``version``; the latest without); raises
        :class:`~ontomap.errors.ReleaseNotFoundError`."""
        key = default_registry().resolve(system).key
        found = [i for i in self.list() if i.system == key]
        if version is not None:
            found = [i for i in found if i.version == version]
        if not found:
            loaded = [f"{i.system} {i.version}" for i in self.list()]
            raise ReleaseNotFoundError(key, version, loaded)
        return max(found, key=_release_key)

    def load(
        self,
        path: Path | str,
        *,
        system: str | None = None,
        version: str | None = None,
        profile: Path | str | Profile | None = None,
        format: str | None = None,
        language_refset: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> ReleaseInfo:
        """Read the release at ``path`` (see :func:`~ontomap.releases.open_release`) into the
        store (open for writing), replacing the same system and version."""
        release = open_release(
            path,
            system=system,
            version=version,
            profile=profile,
            format=format,
            language_refset=language_refset,
        )
        self._cache = None
        self._indexes.clear()
        return write_release(self.store, release, progress)

    def remove(self, system: str, version: str | None = None) -> list[ReleaseInfo]:
        """Remove the release of ``system`` and ``version`` (every release of ``system``
        without); returns what was removed. Raises ReleaseNotFoundError if there is none."""
        key = default_registry().resolve(system).key
        found = [i for i in self.list() if i.system == key and version in (None, i.version)]
        if not found:
            raise ReleaseNotFoundError(
                key, version, [f"{i.system} {i.version}" for i in self.list()]
            )
        self.store.drop_graphs(ox.NamedNode(i.graph) for i in found)
        self._cache = None
        self._indexes.clear()
        return found

    # -------------------------------------------------------------- codes

    def _resolve(self, code: IndexCode | str, system: str | None) -> tuple[CodeSystem, str]:
        registry = default_registry()
        if isinstance(code, IndexCode):
            return registry.resolve(code.system), code.code
        code = code.strip()
        if system is not None:
            return registry.get(system), code
        prefix, sep, local = code.partition(":")
        by_prefix = registry.by_prefix(prefix) if sep else None
        if by_prefix is not None:
            return by_prefix, local
        loaded = {i.system for i in self.list()}
        candidates = [registry.get(k) for k in sorted(loaded) if registry.find(k)]
        matching = [s for s in candidates if s.is_well_formed(code)]
        if len(matching) == 1:
            return matching[0], code
        fits = ", ".join(s.key for s in matching)
        why = f"it fits {fits}" if matching else "no loaded release fits it"
        raise OntomapError(
            f"cannot tell the code system of {code!r} ({why}); "
            "give the system (e.g. sct:404684003 or system='SNOMED')"
        )

    def _code_of(self, term: Term, system: CodeSystem) -> str | None:
        value = term.value  # type: ignore[union-attr]
        if isinstance(term, ox.NamedNode) and value.startswith(system.namespace):
            return unquote(value[len(system.namespace) :])
        return None

    def _display(self, node: ox.NamedNode, graph: ox.NamedNode) -> str | None:
        labels = [q.object for q in self._ox.quads_for_pattern(node, SKOS.prefLabel, None, graph)]
        chosen = _choose(labels)  # type: ignore[arg-type]
        return chosen

    def concept(
        self, code: IndexCode | str, system: str | None = None, version: str | None = None
    ) -> Concept | None:
        """What the release says about ``code``, or ``None`` when the code is not in it."""
        code_system, bare = self._resolve(code, system)
        info = self.get(code_system.key, version)
        graph = ox.NamedNode(info.graph)
        node = ox.NamedNode(code_system.code_iri(bare))
        quads = list(self._ox.quads_for_pattern(node, None, None, graph))
        if not quads:
            return None

        def display(target: str) -> str | None:
            return self._display(ox.NamedNode(code_system.code_iri(target)), graph)

        facts = [(quad.predicate.value, quad.object) for quad in quads]
        return self._make_concept(code_system, bare, info, facts, display)

    def concepts(
        self, codes: Iterable[str], system: str, version: str | None = None
    ) -> dict[str, Concept]:
        """What the release of ``system`` says about each of ``codes`` (bare codes), read in
        bulk: one SPARQL query for the concepts' facts and one for the preferred terms of the
        codes they link to, whatever the number of codes. Codes not in the release are left
        out of the answer; each :class:`Concept` is the one :meth:`concept` returns."""
        info = self.get(system, version)
        code_system = default_registry().get(info.system)
        graph = ox.NamedNode(info.graph)
        wanted = sorted({code.strip() for code in codes if code.strip()})
        facts: dict[str, list[tuple[str, Term]]] = {}
        by_iri = {code_system.code_iri(code): code for code in wanted}
        for row in self._values_query(_CONCEPT_FACTS, list(by_iri), graph):
            facts.setdefault(by_iri[row[0].value], []).append((row[1].value, row[2]))
        targets: set[str] = set()
        for pairs in facts.values():
            for _p, o in pairs:
                if isinstance(o, ox.NamedNode) and o.value.startswith(code_system.namespace):
                    targets.add(o.value)
        labels: dict[str, list[ox.Literal]] = {}
        for row in self._values_query(_PREFERRED_TERMS, sorted(targets), graph):
            labels.setdefault(row[0].value, []).append(row[1])

        def display(target: str) -> str | None:
            return _choose(labels.get(code_system.code_iri(target), []))

        return {
            code: self._make_concept(code_system, code, info, facts[code], display)
            for code in wanted
            if code in facts
        }

    def _values_query(
        self, query: str, iris: list[str], graph: ox.NamedNode
    ) -> Iterator[ox.QuerySolution]:
        """Rows of ``query`` (a SELECT over ``?c``, the release graph as default graph) for each
        IRI in ``iris``, given as one VALUES block (``_VALUES_CHUNK`` IRIs per query). The block
        is written from :class:`pyoxigraph.NamedNode` terms (which refuse anything that is no
        IRI), never from the codes' text; there is no other way to bind many values at once."""
        for start in range(0, len(iris), _VALUES_CHUNK):
            terms = " ".join(str(ox.NamedNode(i)) for i in iris[start : start + _VALUES_CHUNK])
            text = query.replace(_EMPTY_VALUES, f"VALUES ?c {{ {terms} }}", 1)
            yield from self._ox.query(text, default_graph=graph)  # type: ignore[misc]

    def _make_concept(
        self,
        code_system: CodeSystem,
        bare: str,
        info: ReleaseInfo,
        facts: Iterable[tuple[str, Term]],
        display: Callable[[str], str | None],
    ) -> Concept:
        """The :class:`Concept` of ``bare`` from its (predicate IRI, object) pairs in the release;
        ``display`` gives the preferred term of a linked code."""
        status = "active"
        deprecated = False
        pref: list[ox.Literal] = []
        alt: list[str] = []
        fsn: list[str] = []
        definitions: list[str] = []
        parents: list[str] = []
        replaced: list[str] = []
        relations: list[tuple[str, str]] = []
        aliases: list[str] = []
        names = {
            SKOS.altLabel.value: alt,
            OIFM.fullySpecifiedName.value: fsn,
            SKOS.definition.value: definitions,
        }
        skip = {RDF.type.value, OIFM.topConcept.value}  # the top links: for queries
        for p, o in facts:
            if p in skip:
                continue
            if p == OIFM.status.value:
                status = o.value  # type: ignore[union-attr]
            elif p == OWL.deprecated.value:
                deprecated = o.value == "true"  # type: ignore[union-attr]
            elif p == SKOS.prefLabel.value:
                pref.append(o)  # type: ignore[arg-type]
            elif p in names:
                names[p].append(o.value)  # type: ignore[union-attr]
            elif p == OWL.sameAs.value:
                aliases.append(o.value)  # type: ignore[union-attr]
            else:
                target = self._code_of(o, code_system)
                if target is None:
                    continue
                if p == SKOS.broader.value:
                    parents.append(target)
                elif p == DCTERMS.isReplacedBy.value:
                    replaced.append(target)
                else:
                    relations.append((_relation_name(p, code_system), target))
        preferred = _choose(pref)
        if preferred is None and fsn:
            preferred = fsn[0]

        def coded(codes: list[str]) -> tuple[IndexCode, ...]:
            return tuple(IndexCode(code_system.key, c, display(c)) for c in sorted(set(codes)))

        labels = sorted({label.value for label in pref} | set(fsn))
        related = [
            (name, IndexCode(code_system.key, target, display(target)))
            for name, target in sorted(set(relations))
        ]
        return Concept(
            code=IndexCode(code_system.key, bare, preferred),
            release=info,
            status=status,
            active=not deprecated,
            preferred_term=preferred,
            labels=tuple(labels),
            synonyms=tuple(sorted(set(alt) - set(fsn))),
            definitions=tuple(sorted(set(definitions))),
            parents=coded(parents),
            replaced_by=coded(replaced),
            relations=tuple(related),
            fully_specified_name=fsn[0] if fsn else None,
            aliases=tuple(sorted(aliases)),
        )

    def _closure(
        self,
        query: str,
        variable: str,
        code: IndexCode | str,
        system: str | None,
        version: str | None,
    ) -> frozenset[str]:
        code_system, bare = self._resolve(code, system)
        info = self.get(code_system.key, version)
        substitutions = {
            ox.Variable("g"): ox.NamedNode(info.graph),
            ox.Variable("c"): ox.NamedNode(code_system.code_iri(bare)),
        }
        namespace = code_system.namespace
        cut = len(namespace)
        out = set()
        for row in self._ox.query(query, substitutions=substitutions):  # type: ignore[union-attr]
            value = row[0].value
            if value.startswith(namespace):
                out.add(unquote(value[cut:]))
        return frozenset(out)

    def descendants(
        self, code: IndexCode | str, system: str | None = None, version: str | None = None
    ) -> frozenset[str]:
        """The codes under ``code`` at any depth (transitive is-a), without ``code`` itself.

        Read from the release's child index (one record, kept by this object after the first
        call); a SPARQL property path over ``skos:broader`` where the release has none."""
        code_system, bare = self._resolve(code, system)
        info = self.get(code_system.key, version)
        index = self._child_index(info)
        if index is None:
            return self._closure(_DESCENDANTS, "d", code, system, version)
        return index.descendants(bare)

    def _child_index(self, info: ReleaseInfo) -> ChildIndex | None:
        if info.graph not in self._indexes:
            graph = ox.NamedNode(info.graph)
            quads = self._ox.quads_for_pattern(graph, OIFM.childIndex, None, graph)
            record = next((q.object.value for q in quads), None)  # type: ignore[union-attr]
            self._indexes[info.graph] = ChildIndex(record) if record is not None else None
        return self._indexes[info.graph]

    def preferred_terms(
        self, codes: Iterable[str], system: str, version: str | None = None
    ) -> dict[str, str]:
        """The preferred term (English first) of each of ``codes`` (codes of ``system``, without
        prefix) that has one in the release, read in bulk."""
        info = self.get(system, version)
        code_system = default_registry().get(info.system)
        iris = {code_system.code_iri(code): code for code in codes}
        labels: dict[str, list[ox.Literal]] = {}
        for row in self._values_query(_PREFERRED_TERMS, sorted(iris), ox.NamedNode(info.graph)):
            labels.setdefault(iris[row[0].value], []).append(row[1])  # type: ignore[union-attr]
        return {code: term for code, found in labels.items() if (term := _choose(found))}

    def name_index(self, system: str, version: str | None = None) -> NameIndex | None:
        """The release's names in normal form, read from its one record (written at load);
        None for a release loaded without it, or under other normal-form rules."""
        info = self.get(system, version)
        graph = ox.NamedNode(info.graph)
        quads = self._ox.quads_for_pattern(graph, OIFM.nameIndex, None, graph)
        record = next((q.object.value for q in quads), None)  # type: ignore[union-attr]
        return NameIndex.from_json(record) if record is not None else None

    def ancestors(
        self, code: IndexCode | str, system: str | None = None, version: str | None = None
    ) -> frozenset[str]:
        """The codes above ``code`` at any depth (transitive is-a), without ``code`` itself."""
        return self._closure(_ANCESTORS, "a", code, system, version)

    def codes(self, system: str, version: str | None = None) -> Iterator[str]:
        """Every code of the release of ``system`` (active or not), in store order."""
        info = self.get(system, version)
        code_system = default_registry().get(info.system)
        graph = ox.NamedNode(info.graph)
        namespace = code_system.namespace
        cut = len(namespace)
        for quad in self._ox.quads_for_pattern(None, RDF.type, SKOS.Concept, graph):
            value = quad.subject.value  # type: ignore[union-attr]
            if value.startswith(namespace):
                yield unquote(value[cut:])


def _choose(labels: list[ox.Literal]) -> str | None:
    """The English preferred term, else an untagged one, else the first by language."""
    if not labels:
        return None
    ranked = sorted(
        labels,
        key=lambda label: (
            0 if (label.language or "").startswith("en") else 1 if not label.language else 2,
            label.language or "",
            label.value,
        ),
    )
    return ranked[0].value


def _relation_name(predicate: str, system: CodeSystem) -> str:
    local = predicate[len(system.namespace) :] if predicate.startswith(system.namespace) else ""
    if local in ASSOCIATIONS:
        return ASSOCIATIONS[local]
    if local:
        return unquote(local)
    return predicate.rstrip("/#").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
