"""OWL 2 DL exporters: the finding models as an ontology, in RDF/XML (``owl``) or Turtle
(``owl-ttl``).

:func:`owl_triples` builds the ontology as pyoxigraph triples, in one place; Oxigraph writes
them. The modelling (documented in ``docs/owl.md``):

- a finding is an ``owl:Class`` under ``oifm:FindingModel``;
- a choice attribute is an ``owl:ObjectProperty`` (functional when one value may be chosen), a
  numeric attribute a functional ``owl:DatatypeProperty``; the attribute's domain is its finding;
- a choice value is an ``owl:Class`` under ``oifm:ChoiceValue``; the values of one attribute are
  pairwise disjoint (the W3C "value partition" pattern: no nominals, so HermiT stays fast);
- the finding class is restricted on each attribute: ``only`` the union of the attribute's
  value classes (a closed set), or ``only`` an ``xsd:decimal`` range with
  ``xsd:minInclusive``/``xsd:maxInclusive``; ``max k`` where up to k values may be chosen, and
  ``min 1`` where the attribute is required;
- names, descriptions, synonyms, tags, units and index codes are annotations; an index code is
  the code's IRI in its terminology's namespace, never an equivalence.

The triples come grouped by subject in a fixed order (the ontology, annotation properties,
object properties, data properties, classes, code IRIs, schemes, disjointness axioms), each
named subject followed by its blank nodes. A blank node is labelled by what it stands for
(``OIFM_…_000001.OIFMA_…_000002.only`` is that finding's ``only`` restriction on that
attribute), so the same models always give the same triples in the same order, and the same
bytes. Nothing here needs owlready2: only ``ontomap reason`` does.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import BinaryIO

import pyoxigraph as ox

from ontomap.errors import ExportError, ModelValidationError
from ontomap.exporters.owl_models import models_of
from ontomap.graph import KnowledgeGraph, decimal_text, known_prefixes
from ontomap.model import ChoiceAttribute, FindingModel, IndexCode, NumericAttribute
from ontomap.resources import ontologies_dir
from ontomap.vocab import (
    DCTERMS,
    DEFAULT_BASE_IRI,
    OIFM,
    OWL_NS,
    RDF,
    RDF_NS,
    RDFS,
    RDFS_NS,
    SKOS,
    XSD,
    XSD_NS,
)

__all__ = [
    "OwlExportError",
    "ontology_iri",
    "owl_triples",
    "write_owl_models",
    "write_owl_turtle",
    "write_owl_xml",
]

# The OWL 2 and RDF structural terms the ontology uses (not part of ontologies/oifm.ttl).
_TYPE = RDF.type
_FIRST = ox.NamedNode(RDF_NS + "first")
_REST = ox.NamedNode(RDF_NS + "rest")
_NIL = ox.NamedNode(RDF_NS + "nil")
_LABEL = RDFS.label
_COMMENT = ox.NamedNode(RDFS_NS + "comment")
_SUBCLASS_OF = ox.NamedNode(RDFS_NS + "subClassOf")
_DOMAIN = ox.NamedNode(RDFS_NS + "domain")
_DATATYPE = ox.NamedNode(RDFS_NS + "Datatype")
_ONTOLOGY = ox.NamedNode(OWL_NS + "Ontology")
_CLASS = ox.NamedNode(OWL_NS + "Class")
_NOTHING = ox.NamedNode(OWL_NS + "Nothing")
_ANNOTATION_PROPERTY = ox.NamedNode(OWL_NS + "AnnotationProperty")
_OBJECT_PROPERTY = ox.NamedNode(OWL_NS + "ObjectProperty")
_DATATYPE_PROPERTY = ox.NamedNode(OWL_NS + "DatatypeProperty")
_FUNCTIONAL_PROPERTY = ox.NamedNode(OWL_NS + "FunctionalProperty")
_RESTRICTION = ox.NamedNode(OWL_NS + "Restriction")
_ON_PROPERTY = ox.NamedNode(OWL_NS + "onProperty")
_ALL_VALUES_FROM = ox.NamedNode(OWL_NS + "allValuesFrom")
_MAX_CARDINALITY = ox.NamedNode(OWL_NS + "maxCardinality")
_MIN_CARDINALITY = ox.NamedNode(OWL_NS + "minCardinality")
_UNION_OF = ox.NamedNode(OWL_NS + "unionOf")
_ON_DATATYPE = ox.NamedNode(OWL_NS + "onDatatype")
_WITH_RESTRICTIONS = ox.NamedNode(OWL_NS + "withRestrictions")
_DISJOINT_WITH = ox.NamedNode(OWL_NS + "disjointWith")
_ALL_DISJOINT_CLASSES = ox.NamedNode(OWL_NS + "AllDisjointClasses")
_MEMBERS = ox.NamedNode(OWL_NS + "members")
_MIN_INCLUSIVE = ox.NamedNode(XSD_NS + "minInclusive")
_MAX_INCLUSIVE = ox.NamedNode(XSD_NS + "maxInclusive")
_NON_NEGATIVE_INTEGER = ox.NamedNode(XSD_NS + "nonNegativeInteger")
_ONE = ox.Literal("1", datatype=_NON_NEGATIVE_INTEGER)

#: The annotation properties the ontology declares (rdfs:label is built into OWL).
_ANNOTATION_PROPERTIES = (
    DCTERMS.description,
    SKOS.altLabel,
    SKOS.notation,
    SKOS.inScheme,
    OIFM.hasIndexCode,
    OIFM.anatomicLocation,
    OIFM.tag,
    OIFM.unit,
)

ONTOLOGY_LABEL = "Open Imaging Finding Models"
ONTOLOGY_COMMENT = (
    "Finding models as an OWL 2 DL ontology, written by ontomap: each finding is a class "
    "restricted on its attributes (object properties whose values lie in a closed set of "
    "disjoint value classes, or data properties with a numeric range); index codes are "
    "annotations, not equivalences."
)


class OwlExportError(ExportError):
    """The models cannot be written as the requested OWL serialisation."""


def ontology_iri(base_iri: str) -> str:
    """The IRI of the ontology whose entities are named ``{base_iri}{ID}``: the base without its
    final ``/``, ``#`` or ``:`` (``https://w3id.org/ontomap/id/`` gives ``…/ontomap/id``)."""
    return base_iri[:-1] if base_iri[-1:] in ("/", "#", ":") else base_iri


# ------------------------------------------------------------------ what the models say


@dataclass(slots=True)
class _AttributeUse:
    """Every finding that has one attribute ID, and its definitions there."""

    kind: type
    findings: list[str] = field(default_factory=list)
    definitions: list[ChoiceAttribute | NumericAttribute] = field(default_factory=list)

    @property
    def functional(self) -> bool:
        """Whether the attribute's property is functional: numeric, or one choice at most."""
        return self.kind is NumericAttribute or all(
            getattr(d, "max_selected", None) == 1 for d in self.definitions
        )


def _attribute_uses(models: Sequence[FindingModel]) -> dict[str, _AttributeUse]:
    uses: dict[str, _AttributeUse] = {}
    for model in models:
        for attribute in model.attributes:
            use = uses.get(attribute.oifma_id)
            if use is None:
                use = uses[attribute.oifma_id] = _AttributeUse(type(attribute))
            elif use.kind is not type(attribute):
                raise ModelValidationError(
                    f"attribute {attribute.oifma_id} is a {attribute.kind} attribute in "
                    f"{model.oifm_id} but not in {use.findings[0]}: an OWL property cannot be "
                    "both an object and a data property; give one of them a new OIFMA ID"
                )
            use.findings.append(model.oifm_id)
            use.definitions.append(attribute)
    return uses


@dataclass(slots=True)
class _Value:
    """A choice value as all definitions of its attribute describe it."""

    names: dict[str, None] = field(default_factory=dict)
    descriptions: dict[str, None] = field(default_factory=dict)
    codes: dict[IndexCode, None] = field(default_factory=dict)


def _value_key(value_code: str) -> tuple[str, int]:
    """Values in their attribute's order, then by their ``.N`` number."""
    attribute, _, number = value_code.rpartition(".")
    return attribute, int(number)


@cache
def _vocabulary_labels() -> dict[str, tuple[str, ...]]:
    """``rdfs:label`` of each term ``ontologies/oifm.ttl`` declares."""
    labels: dict[str, list[str]] = {}
    path = ontologies_dir() / "oifm.ttl"
    for triple in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE):
        if triple.predicate == RDFS.label and isinstance(triple.subject, ox.NamedNode):
            labels.setdefault(triple.subject.value, []).append(triple.object.value)
    return {iri: tuple(values) for iri, values in labels.items()}


# ------------------------------------------------------------------ the triples


class _Ontology:
    """The ontology's triples, subject by subject, in the order they are added."""

    def __init__(self, base_iri: str) -> None:
        self.base = base_iri
        self.triples: list[ox.Triple] = []
        #: Every IRI used as a subject, an object or a datatype, each as one term.
        self.iris: dict[str, ox.NamedNode] = {}
        #: Every text written as a plain literal, each as one term.
        self.literals: dict[str, ox.Literal] = {}
        self._code_nodes: dict[IndexCode, ox.NamedNode] = {}
        #: Code IRI → (scheme IRI, code, displays); scheme IRI → (label, key).
        self._codes: dict[str, tuple[str, str, dict[str, None]]] = {}
        self._schemes: dict[str, tuple[str, str]] = {}

    def iri(self, value: str) -> ox.NamedNode:
        node = self.iris.get(value)
        if node is None:
            node = self.iris[value] = ox.NamedNode(value)
        return node

    def uses(self, *terms: ox.NamedNode) -> None:
        """Note vocabulary terms used as a subject, an object or a datatype (not made here)."""
        for term in terms:
            self.iris.setdefault(term.value, term)

    def entity(self, oifm_id: str) -> ox.NamedNode:
        """The class or property named ``{base}{ID}``."""
        return self.iri(self.base + oifm_id)

    def texts(self, subject: ox.NamedNode, predicate: ox.NamedNode, texts: Iterable[str]) -> None:
        triples, literals = self.triples, self.literals
        for text in texts:
            literal = literals.get(text)
            if literal is None:
                literal = literals[text] = ox.Literal(text)
            triples.append(ox.Triple(subject, predicate, literal))

    def codes(
        self, subject: ox.NamedNode, predicate: ox.NamedNode, codes: Iterable[IndexCode]
    ) -> None:
        """``subject predicate <code IRI>`` for each code IRI (two displays of one code are one
        IRI); the code's IRI is annotated later."""
        nodes: dict[ox.NamedNode, None] = {}
        for code in codes:
            node = self._code_nodes.get(code)
            if node is None:
                node = self._code_nodes[code] = self._code(code)
            nodes[node] = None
        self.triples.extend(ox.Triple(subject, predicate, node) for node in nodes)

    def _code(self, code: IndexCode) -> ox.NamedNode:
        system = code.code_system
        iri = code.iri
        found = self._codes.get(iri)
        if found is None:
            found = self._codes[iri] = (system.scheme_iri, code.code, {})
            self._schemes.setdefault(system.scheme_iri, (system.label, system.key))
        if code.display:
            found[2][code.display] = None
        return self.iri(iri)

    def annotated_codes(self) -> None:
        """Each code IRI's notation, scheme and displays (labels), then each scheme's label and
        notation, by IRI."""
        for iri in sorted(self._codes):
            scheme, code, displays = self._codes[iri]
            node = self.iris[iri]
            self.texts(node, _LABEL, displays)
            self.triples.append(ox.Triple(node, SKOS.inScheme, self.iri(scheme)))
            self.texts(node, SKOS.notation, (code,))
        for iri in sorted(self._schemes):
            label, key = self._schemes[iri]
            node = self.iri(iri)
            self.texts(node, _LABEL, (label,))
            self.texts(node, SKOS.notation, (key,))

    def list(
        self, label: str, items: Sequence[ox.NamedNode | ox.BlankNode], out: list[ox.Triple]
    ) -> ox.NamedNode | ox.BlankNode:
        """An RDF list of ``items``, its cells labelled ``{label}.0``, ``{label}.1``…, their
        triples added to ``out``."""
        if not items:
            return _NIL
        cells: list[ox.BlankNode] = [ox.BlankNode(f"{label}.{i}") for i in range(len(items))]
        rests: list[ox.NamedNode | ox.BlankNode] = [*cells[1:], _NIL]
        triple, append = ox.Triple, out.append
        for cell, item, rest in zip(cells, items, rests, strict=True):
            append(triple(cell, _FIRST, item))
            append(triple(cell, _REST, rest))
        return cells[0]

    def union(
        self, label: str, classes: Sequence[ox.NamedNode], out: list[ox.Triple]
    ) -> ox.NamedNode | ox.BlankNode:
        """The union of ``classes`` (``owl:Nothing`` for none, the class itself for one), the
        triples of its blank nodes added to ``out``."""
        if not classes:
            return _NOTHING
        if len(classes) == 1:
            return classes[0]
        node = ox.BlankNode(label)
        cells: list[ox.Triple] = []
        first = self.list(label, classes, cells)
        out.append(ox.Triple(node, _TYPE, _CLASS))
        out.append(ox.Triple(node, _UNION_OF, first))
        out.extend(cells)
        return node


def owl_triples(
    models: Iterable[FindingModel], base_iri: str = DEFAULT_BASE_IRI
) -> list[ox.Triple]:
    """The OWL 2 DL ontology of ``models`` as triples, grouped by subject in a fixed order.

    Findings, attributes and values are named ``{base_iri}{ID}``, as in the RDF graph; the
    ontology is :func:`ontology_iri` of the base. Every triple appears once. Raises
    :class:`~ontomap.errors.ModelValidationError` for an attribute ID that is a choice attribute
    in one model and a numeric one in another.
    """
    return _build(models, base_iri).triples


def _build(models: Iterable[FindingModel], base_iri: str) -> _Ontology:
    ordered = sorted(models, key=lambda m: m.oifm_id)
    uses = _attribute_uses(ordered)
    onto = _Ontology(base_iri)
    _header(onto, ontology_iri(base_iri))
    _properties(onto, uses)
    disjoint = _classes(onto, ordered, uses)
    onto.annotated_codes()
    triples = onto.triples
    for oifma_id, members in disjoint:
        node = ox.BlankNode(f"{oifma_id}.disjoint")
        cells: list[ox.Triple] = []
        first = onto.list(f"{oifma_id}.disjoint", members, cells)
        triples.append(ox.Triple(node, _TYPE, _ALL_DISJOINT_CLASSES))
        triples.append(ox.Triple(node, _MEMBERS, first))
        triples.extend(cells)
    return onto


def _header(onto: _Ontology, iri: str) -> None:
    """The ontology and the annotation properties."""
    node = onto.iri(iri)
    onto.uses(_ONTOLOGY, _ANNOTATION_PROPERTY, *_ANNOTATION_PROPERTIES)
    onto.triples.append(ox.Triple(node, _TYPE, _ONTOLOGY))
    onto.texts(node, _LABEL, (ONTOLOGY_LABEL,))
    onto.texts(node, _COMMENT, (ONTOLOGY_COMMENT,))
    labels = _vocabulary_labels()
    for term in _ANNOTATION_PROPERTIES:
        onto.triples.append(ox.Triple(term, _TYPE, _ANNOTATION_PROPERTY))
        onto.texts(term, _LABEL, labels.get(term.value, ()))


def _properties(onto: _Ontology, uses: dict[str, _AttributeUse]) -> None:
    """Each attribute as a property: object properties, then data properties, by ID."""
    choice = sorted(i for i, use in uses.items() if use.kind is ChoiceAttribute)
    numeric = sorted(i for i, use in uses.items() if use.kind is not ChoiceAttribute)
    triples = onto.triples
    for oifma_id in choice + numeric:
        use = uses[oifma_id]
        node = onto.entity(oifma_id)
        definitions = use.definitions
        kind = _OBJECT_PROPERTY if use.kind is ChoiceAttribute else _DATATYPE_PROPERTY
        triples.append(ox.Triple(node, _TYPE, kind))
        if use.functional:
            triples.append(ox.Triple(node, _TYPE, _FUNCTIONAL_PROPERTY))
        onto.texts(node, _LABEL, dict.fromkeys(d.name for d in definitions))
        descriptions = (d.description for d in definitions)
        onto.texts(
            node, DCTERMS.description, dict.fromkeys(d for d in descriptions if d is not None)
        )
        nested: list[ox.Triple] = []
        findings = [onto.entity(f) for f in dict.fromkeys(use.findings)]
        triples.append(ox.Triple(node, _DOMAIN, onto.union(f"{oifma_id}.domain", findings, nested)))
        codes = (code for d in definitions for code in d.index_codes)
        onto.codes(node, OIFM.hasIndexCode, _code_set(codes))
        units = (d.unit for d in definitions if isinstance(d, NumericAttribute))
        onto.texts(node, OIFM.unit, dict.fromkeys(u for u in units if u is not None))
        triples.extend(nested)


def _classes(
    onto: _Ontology, models: Sequence[FindingModel], uses: dict[str, _AttributeUse]
) -> list[tuple[str, list[ox.NamedNode]]]:
    """The two root classes, then each finding and each value as a class. Returns the value
    classes of each attribute that has more than two, whose ``owl:AllDisjointClasses`` axioms
    come last; of two values, the first is ``owl:disjointWith`` the second."""
    labels = _vocabulary_labels()
    triples = onto.triples
    for root in (OIFM.FindingModel, OIFM.ChoiceValue):
        triples.append(ox.Triple(root, _TYPE, _CLASS))
        onto.texts(root, _LABEL, labels.get(root.value, ()))

    values: dict[str, _Value] = {}
    members_of: dict[str, list[str]] = {}
    for oifma_id, use in uses.items():
        if use.kind is not ChoiceAttribute:
            continue
        members: dict[str, None] = {}
        for definition in use.definitions:
            assert isinstance(definition, ChoiceAttribute)
            for value in definition.values:
                members[value.value_code] = None
                found = values.get(value.value_code)
                if found is None:
                    found = values[value.value_code] = _Value()
                found.names[value.name] = None
                if value.description is not None:
                    found.descriptions[value.description] = None
                found.codes.update(dict.fromkeys(value.index_codes))
        members_of[oifma_id] = sorted(members, key=_value_key)

    for model in models:
        _finding(onto, model, uses, members_of)

    disjoint_with: dict[str, str] = {}
    disjoint: list[tuple[str, list[ox.NamedNode]]] = []
    for oifma_id in sorted(members_of):
        partition = members_of[oifma_id]
        if len(partition) == 2:
            disjoint_with[partition[0]] = partition[1]
        elif len(partition) > 2:
            disjoint.append((oifma_id, [onto.entity(m) for m in partition]))
    for value_code in sorted(values, key=_value_key):
        value = values[value_code]
        node = onto.entity(value_code)
        triples.append(ox.Triple(node, _TYPE, _CLASS))
        onto.texts(node, _LABEL, value.names)
        onto.texts(node, DCTERMS.description, value.descriptions)
        triples.append(ox.Triple(node, _SUBCLASS_OF, OIFM.ChoiceValue))
        other = disjoint_with.get(value_code)
        if other is not None:
            triples.append(ox.Triple(node, _DISJOINT_WITH, onto.entity(other)))
        onto.codes(node, OIFM.hasIndexCode, _code_set(value.codes))
    return disjoint


def _finding(
    onto: _Ontology,
    model: FindingModel,
    uses: dict[str, _AttributeUse],
    members_of: dict[str, list[str]],
) -> None:
    """A finding's class, its restrictions and annotations, then the restrictions' blank nodes
    (each restriction labelled ``{OIFM ID}.{OIFMA ID}.only``, ``.max`` or ``.min``)."""
    triples = onto.triples
    node = onto.entity(model.oifm_id)
    triples.append(ox.Triple(node, _TYPE, _CLASS))
    onto.texts(node, _LABEL, (model.name,))
    onto.texts(node, SKOS.altLabel, sorted(set(model.synonyms)))
    if model.description is not None:
        onto.texts(node, DCTERMS.description, (model.description,))
    triples.append(ox.Triple(node, _SUBCLASS_OF, OIFM.FindingModel))
    nested: list[ox.Triple] = []
    for attribute in model.attributes:
        prop = onto.entity(attribute.oifma_id)
        label = f"{model.oifm_id}.{attribute.oifma_id}"
        inner: list[ox.Triple] = []
        if isinstance(attribute, ChoiceAttribute):
            classes = [onto.entity(m) for m in members_of[attribute.oifma_id]]
            allowed = onto.union(f"{label}.values", classes, inner)
        else:
            allowed = _number_range(onto, label, attribute, inner)
        restrictions: list[tuple[str, ox.NamedNode, ox.NamedNode | ox.BlankNode | ox.Literal]]
        restrictions = [("only", _ALL_VALUES_FROM, allowed)]
        if (
            isinstance(attribute, ChoiceAttribute)
            and attribute.max_selected is not None
            and not uses[attribute.oifma_id].functional
        ):
            most = ox.Literal(str(attribute.max_selected), datatype=_NON_NEGATIVE_INTEGER)
            onto.uses(_NON_NEGATIVE_INTEGER)
            restrictions.append(("max", _MAX_CARDINALITY, most))
        if attribute.required:
            restrictions.append(("min", _MIN_CARDINALITY, _ONE))
            onto.uses(_NON_NEGATIVE_INTEGER)
        for kind, predicate, obj in restrictions:
            restriction = ox.BlankNode(f"{label}.{kind}")
            triples.append(ox.Triple(node, _SUBCLASS_OF, restriction))
            nested.append(ox.Triple(restriction, _TYPE, _RESTRICTION))
            nested.append(ox.Triple(restriction, _ON_PROPERTY, prop))
            nested.append(ox.Triple(restriction, predicate, obj))
            nested.extend(inner)
            inner = []
    onto.codes(node, OIFM.hasIndexCode, _code_set(model.index_codes))
    onto.codes(node, OIFM.anatomicLocation, _code_set(model.anatomic_locations))
    onto.texts(node, OIFM.tag, sorted(set(model.tags)))
    triples.extend(nested)


def _code_set(codes: Iterable[IndexCode]) -> list[IndexCode]:
    """Index codes as the graph holds them: a set, in the order of system and code."""
    return sorted(set(codes), key=lambda c: (c.system, c.code))


def _number_range(
    onto: _Ontology, label: str, attribute: NumericAttribute, out: list[ox.Triple]
) -> ox.NamedNode | ox.BlankNode:
    """``xsd:decimal``, restricted to ``[minimum, maximum]`` where the attribute has bounds:
    the facets are ``xsd:decimal`` literals in plain notation, ``xsd:maxInclusive`` first; the
    triples of the blank nodes are added to ``out``."""
    facets: list[tuple[str, ox.NamedNode, int | float]] = []
    if attribute.maximum is not None:
        facets.append(("max", _MAX_INCLUSIVE, attribute.maximum))
    if attribute.minimum is not None:
        facets.append(("min", _MIN_INCLUSIVE, attribute.minimum))
    onto.uses(XSD.decimal)
    if not facets:
        return XSD.decimal
    node = ox.BlankNode(f"{label}.range")
    cells: list[ox.NamedNode | ox.BlankNode] = []
    bounds: list[ox.Triple] = []
    for name, predicate, bound in facets:
        facet = ox.BlankNode(f"{label}.range.{name}")
        literal = ox.Literal(decimal_text(float(bound)), datatype=XSD.decimal)
        bounds.append(ox.Triple(facet, predicate, literal))
        cells.append(facet)
    items: list[ox.Triple] = []
    first = onto.list(f"{label}.range", cells, items)
    out.append(ox.Triple(node, _TYPE, _DATATYPE))
    out.append(ox.Triple(node, _ON_DATATYPE, XSD.decimal))
    out.append(ox.Triple(node, _WITH_RESTRICTIONS, first))
    out.extend(items)
    out.extend(bounds)
    return node


# ------------------------------------------------------------------ writing


def _base_of(graph: KnowledgeGraph) -> str:
    """The base IRI a graph's findings are named under."""
    base = graph.prefixes.get("fm")
    if base:
        return base
    marker = f"> <{RDF.type.value}> <{OIFM.FindingModel.value}> .\n"
    for line in graph.lines:
        if line.endswith(marker):
            subject = line[1 : line.index(">")]
            match = re.search(r"OIFM_[A-Z]{3,4}_[0-9]{6}$", subject)
            if match is not None:
                return subject[: match.start()]
    return DEFAULT_BASE_IRI


def _prefixes(known: dict[str, str], base_iri: str) -> dict[str, str]:
    prefixes = dict(known)
    prefixes.setdefault("fm", base_iri)
    prefixes["owl"] = OWL_NS
    prefixes["xsd"] = XSD_NS
    return prefixes


def _used(iris: Iterable[str], prefixes: dict[str, str]) -> dict[str, str]:
    """The prefixes, sorted by name, whose namespace Oxigraph abbreviates in at least one of
    ``iris``: the longest namespace that starts the IRI (Oxigraph escapes what a local name
    cannot hold, so every such IRI is abbreviated)."""
    by_namespace: dict[str, str] = {}
    for name in sorted(prefixes, key=lambda n: (len(n), n)):
        by_namespace.setdefault(prefixes[name], name)
    # Most IRIs end in a local name after their namespace's last "/", "#" or ":"; a namespace
    # that does not end so is tried on every IRI.
    odd = sorted((ns for ns in by_namespace if ns[-1:] not in "/#:"), key=len, reverse=True)
    used: set[str] = set()
    for iri in iris:
        cut = max(iri.rfind("/"), iri.rfind("#"), iri.rfind(":")) + 1
        best = iri[:cut] if iri[:cut] in by_namespace else ""
        for namespace in odd:
            if len(namespace) > len(best) and iri.startswith(namespace):
                best = namespace
                break
        if not best:
            best = max((ns for ns in by_namespace if iri.startswith(ns)), key=len, default="")
        if best:
            used.add(by_namespace[best])
    return {name: prefixes[name] for name in sorted(used)}


#: What XML 1.0 cannot carry, even as a character reference.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def _serialize(
    graph: KnowledgeGraph | tuple[Iterable[FindingModel], str], rdf_format: ox.RdfFormat
) -> tuple[bytes, int]:
    """The ontology of ``graph``'s models (or of models and their base IRI) written by
    Oxigraph, and its number of triples.

    Reading the models and building the ontology allocate some million small objects (each
    pyoxigraph term and triple is one) that stay alive to the end and hold no reference cycle:
    the cyclic garbage collector would walk them again and again and free nothing (that took
    as long as the building itself on the corpus, measured). So it is paused until they are
    freed, and enabled again only if it was enabled.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _written(graph, rdf_format)
    finally:
        if collecting:
            gc.enable()


def _written(
    graph: KnowledgeGraph | tuple[Iterable[FindingModel], str], rdf_format: ox.RdfFormat
) -> tuple[bytes, int]:
    """See :func:`_serialize`. The prefixes used are declared, sorted by name: in Turtle those
    of the IRIs it abbreviates, in RDF/XML those of its element names (the predicates, and the
    node types: all ``owl:``, or ``rdfs:Datatype``)."""
    if isinstance(graph, KnowledgeGraph):
        base = _base_of(graph)
        onto = _build(models_of(graph), base)
        known = graph.prefixes
    else:
        models, base = graph
        onto = _build(models, base)
        known = known_prefixes(base)
    triples = onto.triples
    predicates = {t.predicate.value for t in triples}
    if rdf_format == ox.RdfFormat.TURTLE:
        predicates.discard(_TYPE.value)  # written "a"
        iris = predicates | onto.iris.keys()
    else:
        iris = predicates | {_ONTOLOGY.value}
    prefixes = _used(iris, _prefixes(known, base))
    if rdf_format == ox.RdfFormat.RDF_XML:
        for text in onto.literals:  # the only texts of the ontology that can hold one
            if _XML_FORBIDDEN.search(text):
                raise OwlExportError(
                    f"the text {text[:40]!r} holds a control character that XML cannot carry; "
                    "export with --format owl-ttl instead"
                )
    data = ox.serialize(triples, format=rdf_format, prefixes=prefixes)
    assert data is not None  # serialize returns the bytes when given no output
    # Oxigraph declares the prefixes in an order of its own: they are written again, sorted.
    if rdf_format == ox.RdfFormat.TURTLE:
        start = 0
        while data.startswith(b"@prefix ", start):
            start = data.index(b"\n", start) + 1
        header = "".join(f"@prefix {name}: <{ns}> .\n" for name, ns in prefixes.items())
        return header.encode() + b"\n" + data[start:], len(triples)
    start = data.index(b"<rdf:RDF")
    end = data.index(b">", start) + 1
    prefixes["rdf"] = RDF_NS
    declarations = "".join(
        f' xmlns:{name}="{_xml_attribute(prefixes[name])}"' for name in sorted(prefixes)
    )
    return data[:start] + f"<rdf:RDF{declarations}>".encode() + data[end:], len(triples)


def write_owl_xml(graph: KnowledgeGraph, handle: BinaryIO) -> int:
    """The finding models of ``graph`` as an OWL 2 DL ontology in RDF/XML (see docs/owl.md),
    written by Oxigraph from :func:`owl_triples`: same models, same bytes. Returns how many
    triples the ontology has (not the graph's count: the OWL axioms are others). Raises
    :class:`OwlExportError` for a text that XML cannot carry (a control character)."""
    data, count = _serialize(graph, ox.RdfFormat.RDF_XML)
    # Oxigraph writes a carriage return in a literal as it is, and XML parsers turn it into a
    # line feed; as a character reference it survives. Oxigraph's own markup has no "\r".
    handle.write(data.replace(b"\r", b"&#13;"))
    return count


def write_owl_models(
    models: Iterable[FindingModel], base_iri: str, handle: BinaryIO, turtle: bool = False
) -> int:
    """The ontology of ``models`` (named under ``base_iri``) in RDF/XML, or in Turtle with
    ``turtle``: the bytes :func:`write_owl_xml` and :func:`write_owl_turtle` write for their
    graph, without building the graph first. Returns how many triples it has."""
    data, count = _serialize(
        (models, base_iri), ox.RdfFormat.TURTLE if turtle else ox.RdfFormat.RDF_XML
    )
    handle.write(data if turtle else data.replace(b"\r", b"&#13;"))
    return count


def write_owl_turtle(graph: KnowledgeGraph, handle: BinaryIO) -> int:
    """The finding models of ``graph`` as an OWL 2 DL ontology in Turtle (see docs/owl.md),
    written by Oxigraph from :func:`owl_triples` in the same order as :func:`write_owl_xml`,
    declaring only the prefixes used; returns how many triples it has."""
    data, count = _serialize(graph, ox.RdfFormat.TURTLE)
    handle.write(data)
    return count
