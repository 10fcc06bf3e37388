"""What the FHIR operations read from a store: codes and their crosswalk (through
:mod:`ontomap.lookup`), OIFM entities (findings, attributes, values), choice attributes, and
what loaded terminology releases say about a code.

A :class:`TerminologySource` wraps one read-only store and keeps what it has read: a store
generation never changes, so each fact is read once per worker. Over a SPARQL endpoint (a
backend without a local store) it answers the crosswalk only (``$translate``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import pyoxigraph as ox

from ontomap.graph import CODES_GRAPH, release_graph_iri
from ontomap.lookup import (
    CodeInfo,
    LookupResult,
    code_from_iri,
    crosswalk_reader,
    lookup,
    release_reader,
)
from ontomap.model import IndexCode
from ontomap.terminology import CodeSystem
from ontomap.vocab import DCTERMS, DEFAULT_BASE_IRI, OIFM, RDF, RDFS, SKOS

if TYPE_CHECKING:
    from ontomap.backends import SparqlBackend
    from ontomap.releases import Concept
    from ontomap.store import Store

__all__ = ["OifmEntity", "TerminologySource"]

#: Cached entities and code labels per source (then the caches start again).
CACHE_SIZE = 50_000


@dataclass(frozen=True, slots=True)
class OifmEntity:
    """A finding, attribute or choice value of the models, by its OIFM ID: its kind, name,
    description, index codes, the entity it belongs to and the entities under it (ID, name)."""

    id: str
    kind: str
    name: str
    description: str | None
    index_codes: tuple[IndexCode, ...]
    parent: str | None
    children: tuple[tuple[str, str], ...]
    choice: bool = False


class TerminologySource:
    """The facts FHIR operations need, read from one read-only store (or a backend: a local
    one over a store, or a remote endpoint that answers the crosswalk only)."""

    def __init__(self, target: Store | SparqlBackend) -> None:
        from ontomap.backends import LocalBackend
        from ontomap.store import Store

        store = target.store if isinstance(target, LocalBackend) else target
        #: The local store (``None`` over a remote endpoint).
        self.store: Store | None = store if isinstance(store, Store) else None
        self.base_iri = getattr(target, "base_iri", None) or DEFAULT_BASE_IRI
        self.reader = crosswalk_reader(target)
        self._entities: dict[str, OifmEntity | None] = {}
        self._labels: dict[IndexCode, CodeInfo | None] = {}

    @property
    def ox(self) -> ox.Store:
        """The local store's Oxigraph database (a 501 FHIR error over an endpoint)."""
        if self.store is None:
            from ontomap.fhir.resources import FhirError

            raise FhirError(501, "not-supported", "this operation needs a local store (--store)")
        return self.store.oxigraph

    # -------------------------------------------------------------- codes

    def lookup(self, code: IndexCode, to: str | None = None) -> LookupResult:
        """:func:`ontomap.lookup.lookup` of ``code`` (raises its errors)."""
        return lookup(self.reader, code, to=to)

    def info(self, code: IndexCode) -> CodeInfo | None:
        """The corpus's labels and use counts of ``code`` (``None``: no model uses it)."""
        key = IndexCode.of(code.system, code.code)
        if key not in self._labels:
            entry = self.reader.code(key, uses=False)
            if len(self._labels) >= CACHE_SIZE:
                self._labels.clear()
            self._labels[key] = (
                None
                if entry is None
                else CodeInfo(
                    key.system,
                    key.code,
                    key.curie,
                    key.iri,
                    entry.usage.labels,
                    entry.usage.uses,
                    entry.usage.contexts,
                )
            )
        return self._labels[key]

    def used_codes(self, system: CodeSystem) -> list[str]:
        """The codes of ``system`` the models use, sorted."""
        return self._used.get(system.key, [])

    @cached_property
    def _used(self) -> dict[str, list[str]]:
        found: dict[str, set[str]] = {}
        for quad in self.ox.quads_for_pattern(None, SKOS.inScheme, None, CODES_GRAPH):
            code = code_from_iri(quad.subject.value)  # type: ignore[union-attr]
            if code is not None:
                found.setdefault(code.system, set()).add(code.code)
        return {system: sorted(codes) for system, codes in found.items()}

    # -------------------------------------------------------------- releases

    def release(self, system: CodeSystem) -> tuple[str, str] | None:
        """The (system, version) of the latest loaded release of ``system``, else ``None``."""
        if self.store is None:
            return None
        releases = release_reader(self.store)
        return releases.latest(system.key) if releases is not None else None

    def concept(self, code: IndexCode) -> Concept | None:
        """What the latest loaded release of the code's system says about it."""
        latest = self.release(code.code_system)
        releases = release_reader(self.store) if self.store is not None else None
        if releases is None or latest is None:
            return None
        return releases.releases.concept(code, version=latest[1])

    def children(self, code: IndexCode) -> list[IndexCode]:
        """The codes directly under ``code`` in the latest loaded release (``skos:broader``)."""
        latest = self.release(code.code_system)
        if latest is None:
            return []
        graph = release_graph_iri(*latest)
        found = []
        for quad in self.ox.quads_for_pattern(None, SKOS.broader, ox.NamedNode(code.iri), graph):
            child = code_from_iri(quad.subject.value)  # type: ignore[union-attr]
            if child is not None and child.system == code.system:
                found.append(child)
        return sorted(set(found), key=lambda c: c.code)

    # -------------------------------------------------------------- OIFM entities

    def entity(self, oifm_id: str) -> OifmEntity | None:
        """The finding, attribute or value ``oifm_id`` (``None``: the models have none)."""
        if oifm_id not in self._entities:
            if len(self._entities) >= CACHE_SIZE:
                self._entities.clear()
            self._entities[oifm_id] = self._read_entity(oifm_id)
        return self._entities[oifm_id]

    def _node(self, oifm_id: str) -> ox.NamedNode | None:
        try:
            return ox.NamedNode(self.base_iri + oifm_id)
        except ValueError:
            return None

    def _one(self, node: ox.NamedNode, predicate: ox.NamedNode) -> str | None:
        values = sorted(
            q.object.value
            for q in self.ox.quads_for_pattern(node, predicate, None, None)
            if isinstance(q.object, ox.Literal)
        )
        return values[0] if values else None

    def _position(self, node: ox.NamedNode) -> int:
        found = self._one(node, OIFM.position)
        return int(found) if found is not None and found.isdigit() else 0

    def _read_entity(self, oifm_id: str) -> OifmEntity | None:
        node = self._node(oifm_id)
        if node is None:
            return None
        types = {q.object for q in self.ox.quads_for_pattern(node, RDF.type, None, None)}
        if OIFM.FindingModel in types:
            kind, down, up = "finding", OIFM.hasAttribute, None
        elif OIFM.Attribute in types:
            kind, down, up = "attribute", OIFM.hasValue, OIFM.hasAttribute
        elif OIFM.ChoiceValue in types:
            kind, down, up = "value", None, OIFM.hasValue
        else:
            return None
        codes = {
            found
            for q in self.ox.quads_for_pattern(node, OIFM.hasIndexCode, None, None)
            if (found := code_from_iri(q.object.value)) is not None  # type: ignore[union-attr]
        }
        parent = None
        if up is not None:
            owners = sorted(
                q.subject.value  # type: ignore[union-attr]
                for q in self.ox.quads_for_pattern(None, up, node, None)
            )
            if owners and owners[0].startswith(self.base_iri):
                parent = owners[0][len(self.base_iri) :]
        children: list[tuple[int, str, str]] = []
        if down is not None:
            seen = set()
            for q in self.ox.quads_for_pattern(node, down, None, None):
                child = q.object
                if not isinstance(child, ox.NamedNode) or child in seen:
                    continue
                seen.add(child)
                child_id = self._one(child, OIFM.oifmId) or child.value
                name = self._one(child, RDFS.label) or child_id
                children.append((self._position(child), child_id, name))
        children.sort()
        return OifmEntity(
            oifm_id,
            kind,
            self._one(node, RDFS.label) or oifm_id,
            self._one(node, DCTERMS.description),
            tuple(sorted(codes, key=lambda c: (c.system, c.code))),
            parent,
            tuple((child_id, name) for _p, child_id, name in children),
            OIFM.ChoiceAttribute in types,
        )

    @cached_property
    def choice_attributes(self) -> list[str]:
        """The OIFM IDs of every choice attribute, sorted."""
        found = set()
        for q in self.ox.quads_for_pattern(None, RDF.type, OIFM.ChoiceAttribute, None):
            value = q.subject.value  # type: ignore[union-attr]
            if value.startswith(self.base_iri):
                found.add(value[len(self.base_iri) :])
        return sorted(found)

    def label(self, code: IndexCode) -> str | None:
        """The display most models give ``code``."""
        info = self.info(code)
        return info.labels[0] if info is not None and info.labels else None
