"""Python names for the vocabulary declared in ``ontologies/oifm.ttl``.

The names are read from the ontology file itself, and each namespace is closed: ``OIFM.hasValue``
is a :class:`pyoxigraph.NamedNode`, while a misspelt ``OIFM.hasValues`` raises AttributeError
instead of minting a new term. The same holds for the standard terms we reuse (RDF, RDFS, SKOS,
Dublin Core, XSD, OWL): only those the ontology file declares are available.
"""

from __future__ import annotations

from functools import cache

import pyoxigraph as ox

from ontomap.resources import ontologies_dir

OIFM_NS = "https://w3id.org/ontomap/oifm#"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS_NS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS_NS = "http://www.w3.org/2004/02/skos/core#"
DCTERMS_NS = "http://purl.org/dc/terms/"
XSD_NS = "http://www.w3.org/2001/XMLSchema#"
OWL_NS = "http://www.w3.org/2002/07/owl#"

#: Default base IRI of finding, attribute and value IRIs: ``{base}{OIFM ID}``.
DEFAULT_BASE_IRI = "https://w3id.org/ontomap/id/"
#: Namespace of the named graphs of a store (one per model, plus one for bookkeeping).
GRAPH_NS = "https://w3id.org/ontomap/graph/"

#: The prefixes ontomap writes and pre-declares (CURIE prefix → namespace).
STANDARD_PREFIXES: dict[str, str] = {
    "oifm": OIFM_NS,
    "rdf": RDF_NS,
    "rdfs": RDFS_NS,
    "skos": SKOS_NS,
    "dcterms": DCTERMS_NS,
    "xsd": XSD_NS,
    "owl": OWL_NS,
}


class ClosedNamespace:
    """A namespace whose terms are fixed: unknown attribute names raise AttributeError."""

    __slots__ = ("_terms", "iri")

    def __init__(self, iri: str, names: frozenset[str]) -> None:
        self.iri = iri
        self._terms = {name: ox.NamedNode(iri + name) for name in names}

    def __getattr__(self, name: str) -> ox.NamedNode:
        try:
            return self._terms[name]
        except KeyError:
            raise AttributeError(
                f"{name!r} is not declared in {self.iri} (see ontologies/oifm.ttl)"
            ) from None

    def __contains__(self, name: str) -> bool:
        return name in self._terms

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._terms)


@cache
def declared_terms(filename: str = "oifm.ttl") -> frozenset[str]:
    """Every IRI that an ontology file of ``ontologies/`` declares as a subject."""
    path = ontologies_dir() / filename
    return frozenset(
        triple.subject.value
        for triple in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)
        if isinstance(triple.subject, ox.NamedNode)
    )


def closed_namespace(iri: str, filename: str = "oifm.ttl") -> ClosedNamespace:
    """The terms of namespace ``iri`` that the ontology file ``filename`` declares."""
    names = frozenset(
        term[len(iri) :]
        for term in declared_terms(filename)
        if term.startswith(iri) and term[len(iri) :] and "/" not in term[len(iri) :]
    )
    return ClosedNamespace(iri, names)


OIFM = closed_namespace(OIFM_NS)
RDF = closed_namespace(RDF_NS)
RDFS = closed_namespace(RDFS_NS)
SKOS = closed_namespace(SKOS_NS)
DCTERMS = closed_namespace(DCTERMS_NS)
XSD = closed_namespace(XSD_NS)
OWL = closed_namespace(OWL_NS)
