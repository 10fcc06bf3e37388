"""OWL 2 DL exporters: the finding models as an ontology, in RDF/XML (``owl``) or Turtle
(``owl-ttl``).

The ontology is built with owlready2 in a :class:`owlready2.World` of its own (never the
default world), then its triples are written by this module in a canonical order, so the same
models always give the same bytes. The modelling (documented in ``docs/owl.md``):

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

owlready2 is imported only when an ontology is built, so ``import ontomap`` stays fast.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from typing import TYPE_CHECKING, BinaryIO

import pyoxigraph as ox

from ontomap.errors import ExportError, MissingDependencyError, ModelValidationError
from ontomap.graph import KnowledgeGraph, decimal_text
from ontomap.model import ChoiceAttribute, FindingModel, IndexCode, NumericAttribute
from ontomap.ntriples import iri as nt_iri
from ontomap.ntriples import literal as nt_literal
from ontomap.ntriples import term_key, typed_literal
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

if TYPE_CHECKING:
    import owlready2

__all__ = [
    "OwlExportError",
    "OwlreadyMissingError",
    "build_ontology",
    "ontology_iri",
    "owl_ntriples",
    "require_owlready2",
    "write_owl_turtle",
    "write_owl_xml",
]

_RDF_TYPE = RDF.type.value
_RDF_FIRST = RDF_NS + "first"
_RDF_REST = RDF_NS + "rest"
_RDF_NIL = RDF_NS + "nil"
_RDFS_SUBCLASS_OF = RDFS_NS + "subClassOf"
_OWL_THING = OWL_NS + "Thing"
_XSD_STRING = XSD.string.value
_XSD_DECIMAL = XSD.decimal.value

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


class OwlreadyMissingError(MissingDependencyError):
    """owlready2, which builds and reasons over the OWL ontology, is not installed."""

    def __init__(self) -> None:
        super().__init__(
            "the OWL export and `ontomap reason` need owlready2, which is not installed; "
            "install it with: pip install owlready2"
        )


def require_owlready2() -> types.ModuleType:
    """The owlready2 module, imported on first use; :class:`OwlreadyMissingError` without it."""
    try:
        import owlready2
    except ImportError:
        raise OwlreadyMissingError() from None
    return owlready2


def ontology_iri(base_iri: str) -> str:
    """The IRI of the ontology whose entities are named ``{base_iri}{ID}``: the base without its
    final ``/``, ``#`` or ``:`` (``https://w3id.org/ontomap/id/`` gives ``…/ontomap/id``)."""
    return base_iri[:-1] if base_iri[-1:] in ("/", "#", ":") else base_iri


# ------------------------------------------------------------------ building with owlready2


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


@cache
def _vocabulary_labels() -> dict[str, tuple[str, ...]]:
    """``rdfs:label`` of each term ``ontologies/oifm.ttl`` declares."""
    labels: dict[str, list[str]] = {}
    path = ontologies_dir() / "oifm.ttl"
    for triple in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE):
        if triple.predicate == RDFS.label and isinstance(triple.subject, ox.NamedNode):
            labels.setdefault(triple.subject.value, []).append(triple.object.value)
    return {iri: tuple(values) for iri, values in labels.items()}


class _Annotations:
    """The annotation assertions of finding models as N-Triples lines (names, descriptions,
    synonyms, tags, units, index codes, and the notation, scheme and display of each code)."""

    def __init__(self, base_iri: str) -> None:
        self.base = base_iri
        self.lines: list[str] = []
        self._codes_seen: set[IndexCode] = set()
        self._notations_seen: set[tuple[str, str]] = set()
        self._schemes_seen: set[str] = set()
        self._label = nt_iri(RDFS.label.value)
        self._description = nt_iri(DCTERMS.description.value)
        self._has_index_code = nt_iri(OIFM.hasIndexCode.value)

    def text(self, subject: str, predicate: str, text: str) -> None:
        self.lines.append(f"{subject} {predicate} {nt_literal(text)} .\n")

    def link(self, subject: str, predicate: str, iri: str) -> None:
        self.lines.append(f"{subject} {predicate} {nt_iri(iri)} .\n")

    def header(self, ontology: str) -> None:
        subject = nt_iri(ontology)
        self.text(subject, self._label, ONTOLOGY_LABEL)
        self.text(subject, nt_iri(RDFS_NS + "comment"), ONTOLOGY_COMMENT)
        labels = _vocabulary_labels()
        kind = nt_iri(OWL_NS + "AnnotationProperty")
        for term in _ANNOTATION_PROPERTIES:
            node = nt_iri(term.value)
            self.lines.append(f"{node} {nt_iri(_RDF_TYPE)} {kind} .\n")
            for label in labels.get(term.value, ()):
                self.text(node, self._label, label)
        for term in (OIFM.FindingModel, OIFM.ChoiceValue):
            for label in labels.get(term.value, ()):
                self.text(nt_iri(term.value), self._label, label)

    def described(
        self,
        subject: str,
        names: Iterable[str],
        descriptions: Iterable[str | None],
        codes: Iterable[IndexCode],
    ) -> None:
        for name in dict.fromkeys(names):
            self.text(subject, self._label, name)
        for description in dict.fromkeys(descriptions):
            if description is not None:
                self.text(subject, self._description, description)
        self.codes(subject, self._has_index_code, codes)

    def codes(self, subject: str, predicate: str, codes: Iterable[IndexCode]) -> None:
        for code in dict.fromkeys(codes):
            self.link(subject, predicate, code.iri)
            self._code(code)

    def _code(self, code: IndexCode) -> None:
        """Annotate a code's IRI: its notation and scheme once, each display as a label."""
        if code in self._codes_seen:
            return
        self._codes_seen.add(code)
        node = nt_iri(code.iri)
        system = code.code_system
        if (system.key, code.code) not in self._notations_seen:
            self._notations_seen.add((system.key, code.code))
            self.text(node, nt_iri(SKOS.notation.value), code.code)
            self.link(node, nt_iri(SKOS.inScheme.value), system.scheme_iri)
        if code.display:
            self.text(node, self._label, code.display)
        if system.key not in self._schemes_seen:
            self._schemes_seen.add(system.key)
            scheme = nt_iri(system.scheme_iri)
            self.text(scheme, self._label, system.label)
            self.text(scheme, nt_iri(SKOS.notation.value), system.key)

    def add(self, models: Sequence[FindingModel], uses: dict[str, _AttributeUse]) -> None:
        base = self.base
        alt_label, tag = nt_iri(SKOS.altLabel.value), nt_iri(OIFM.tag.value)
        location, unit = nt_iri(OIFM.anatomicLocation.value), nt_iri(OIFM.unit.value)
        for model in models:
            node = nt_iri(base + model.oifm_id)
            self.described(node, (model.name,), (model.description,), model.index_codes)
            for synonym in dict.fromkeys(model.synonyms):
                self.text(node, alt_label, synonym)
            for value in dict.fromkeys(model.tags):
                self.text(node, tag, value)
            self.codes(node, location, model.anatomic_locations)
        for oifma_id, use in uses.items():
            node = nt_iri(base + oifma_id)
            definitions = use.definitions
            self.described(
                node,
                (d.name for d in definitions),
                (d.description for d in definitions),
                (code for d in definitions for code in d.index_codes),
            )
            for definition in definitions:
                if isinstance(definition, NumericAttribute) and definition.unit is not None:
                    self.text(node, unit, definition.unit)
                if isinstance(definition, ChoiceAttribute):
                    for value in definition.values:
                        self.described(
                            nt_iri(base + value.value_code),
                            (value.name,),
                            (value.description,),
                            value.index_codes,
                        )


class _Axioms:
    """Adds the entities and logical axioms of finding models to one owlready2 ontology."""

    def __init__(self, onto: owlready2.Ontology, base_iri: str) -> None:
        owl = require_owlready2()
        self.owl = owl
        self.onto = onto
        self.ids = onto.get_namespace(base_iri)
        with onto, onto.get_namespace(OIFM.iri):
            self.finding_root = types.new_class("FindingModel", (owl.Thing,))
            self.value_class = types.new_class("ChoiceValue", (owl.Thing,))

    def add(self, models: Sequence[FindingModel], uses: dict[str, _AttributeUse]) -> None:
        owl = self.owl
        values: dict[str, type] = {}
        with self.onto, self.ids:
            classes = {m.oifm_id: types.new_class(m.oifm_id, (self.finding_root,)) for m in models}
            properties = {
                oifma_id: self._property(oifma_id, use, classes) for oifma_id, use in uses.items()
            }
            for use in uses.values():
                for definition in use.definitions:
                    if isinstance(definition, ChoiceAttribute):
                        for value in definition.values:
                            if value.value_code not in values:
                                values[value.value_code] = types.new_class(
                                    value.value_code, (self.value_class,)
                                )
        # Outside the namespace block: owlready2's AllDisjoint takes the innermost context for
        # its ontology, and a namespace is not one.
        with self.onto:
            for model in models:
                cls = classes[model.oifm_id]
                for attribute in model.attributes:
                    prop = properties[attribute.oifma_id]
                    if isinstance(attribute, ChoiceAttribute):
                        members = [values[v.value_code] for v in attribute.values]
                        cls.is_a.append(prop.only(_union(owl, members)))
                        if not uses[attribute.oifma_id].functional and (
                            attribute.max_selected is not None
                        ):
                            cls.is_a.append(prop.max(attribute.max_selected))
                    else:
                        cls.is_a.append(prop.only(_number_range(owl, attribute)))
                    if attribute.required:
                        cls.is_a.append(prop.min(1))
            for use in uses.values():
                members = list(
                    dict.fromkeys(
                        values[v.value_code]
                        for d in use.definitions
                        if isinstance(d, ChoiceAttribute)
                        for v in d.values
                    )
                )
                if len(members) > 1:
                    owl.AllDisjoint(members)

    def _property(self, oifma_id: str, use: _AttributeUse, classes: dict[str, type]) -> type:
        owl = self.owl
        if use.kind is ChoiceAttribute:
            bases: tuple[type, ...] = (owl.ObjectProperty,)
            if use.functional:
                bases += (owl.FunctionalProperty,)
        else:
            bases = (owl.DataProperty, owl.FunctionalProperty)
        prop = types.new_class(oifma_id, bases)
        prop.domain = [_union(owl, [classes[f] for f in dict.fromkeys(use.findings)])]
        return prop


def _union(owl: types.ModuleType, classes: list[type]) -> object:
    """The union of ``classes``: ``owl:Nothing`` for none, the class itself for one."""
    if not classes:
        return owl.Nothing
    return classes[0] if len(classes) == 1 else owl.Or(classes)


def _number_range(owl: types.ModuleType, attribute: NumericAttribute) -> object:
    """``xsd:decimal``, restricted to ``[minimum, maximum]`` where the attribute has bounds."""
    facets = {}
    if attribute.minimum is not None:
        facets["min_inclusive"] = attribute.minimum
    if attribute.maximum is not None:
        facets["max_inclusive"] = attribute.maximum
    if not facets:
        return float  # owlready2's name for xsd:decimal
    return owl.ConstrainedDatatype(float, **facets)


def build_ontology(
    models: Iterable[FindingModel], base_iri: str = DEFAULT_BASE_IRI
) -> tuple[owlready2.World, owlready2.Ontology]:
    """The OWL ontology of ``models`` in a new owlready2 :class:`~owlready2.World` of its own.

    Findings, attributes and values are named ``{base_iri}{ID}``, as in the RDF graph; the
    ontology is :func:`ontology_iri` of the base. Entities and logical axioms are made with
    owlready2's API; the annotations are handed to owlready2's N-Triples parser in one batch
    (much faster than one SQL insert per triple). Close the world when done
    (``world.close()``).
    """
    import io

    owl = require_owlready2()
    ordered = sorted(models, key=lambda m: m.oifm_id)
    uses = _attribute_uses(ordered)
    world = owl.World()
    try:
        iri = ontology_iri(base_iri)
        onto = world.get_ontology(iri)
        _Axioms(onto, base_iri).add(ordered, uses)
        annotations = _Annotations(base_iri)
        annotations.header(iri)
        annotations.add(ordered, uses)
        data = io.BytesIO("".join(annotations.lines).encode())
        onto.graph.parse(data, format="ntriples", delete_existing_triples=False)
    except BaseException:
        world.close()
        raise
    return world, onto


def owl_ntriples(models: Iterable[FindingModel], base_iri: str = DEFAULT_BASE_IRI) -> list[str]:
    """The OWL ontology of ``models`` (built by :func:`build_ontology`) as canonical N-Triples
    lines, sorted.

    Terms are written as Oxigraph writes canonical N-Triples; ``xsd:decimal`` literals are in
    plain decimal notation (never ``1e-05``); owlready2's ``rdfs:subClassOf owl:Thing`` of
    every class it creates is left out.
    """
    world, onto = build_ontology(models, base_iri)
    try:
        lines = _world_lines(world, onto)
    finally:
        world.close()
    lines.sort()
    return lines


def _world_lines(world: owlready2.World, onto: owlready2.Ontology) -> list[str]:
    """The triples of ``onto`` read from its quadstore, as canonical N-Triples lines.

    This uses owlready2's low-level quadstore API (``_iter_triples``, ``_unabbreviate``), not
    its writer, whose N-Triples leaves carriage returns unescaped.
    """
    unabbreviate = lru_cache(maxsize=None)(world._unabbreviate)

    def node(storid: int) -> str:
        return f"_:b{-storid}" if storid < 0 else nt_iri(unabbreviate(storid))

    string = world._abbreviate(_XSD_STRING)
    skip = (world._abbreviate(_RDFS_SUBCLASS_OF), world._abbreviate(_OWL_THING))
    lines = []
    for s, p, o, d in onto.graph._iter_triples():
        if d is None:
            if (p, o) == skip:
                continue
            obj = node(o)
        elif d == 0 or d == string:
            obj = nt_literal(str(o))
        elif isinstance(d, str):  # "@lang"
            obj = nt_literal(str(o)) + d
        else:
            datatype = unabbreviate(d)
            text = str(o)
            if datatype == _XSD_DECIMAL:
                text = _decimal(text)
            obj = typed_literal(text, datatype)
        lines.append(f"{node(s)} {nt_iri(unabbreviate(p))} {obj} .\n")
    return lines


def _decimal(text: str) -> str:
    try:
        return decimal_text(float(Decimal(text)))
    except (InvalidOperation, ValueError):
        return text


def _base_of(graph: KnowledgeGraph) -> str:
    """The base IRI a graph's findings are named under."""
    base = graph.prefixes.get("fm")
    if base:
        return base
    marker = f"> <{_RDF_TYPE}> <{OIFM.FindingModel.value}> .\n"
    for line in graph.lines:
        if line.endswith(marker):
            subject = line[1 : line.index(">")]
            match = re.search(r"OIFM_[A-Z]{3,4}_[0-9]{6}$", subject)
            if match is not None:
                return subject[: match.start()]
    return DEFAULT_BASE_IRI


# ------------------------------------------------------------------ canonical form
#
# Terms are N-Triples text: "<iri>", "_:label", or a literal ('"text"', '"text"@en',
# '"text"^^<datatype>'), exactly as Oxigraph writes them.

#: Order of top-level subjects by the kind their declaration gives them (OWL API's order).
_KIND_RANK = {
    f"<{OWL_NS}Ontology>": 0,
    f"<{OWL_NS}AnnotationProperty>": 1,
    f"<{OWL_NS}ObjectProperty>": 2,
    f"<{OWL_NS}DatatypeProperty>": 3,
    f"<{OWL_NS}Class>": 4,
    f"<{OWL_NS}NamedIndividual>": 5,
}
_UNDECLARED_RANK = 6
_BLANK_RANK = 7
#: Predicates first within a subject, in this order; the others follow by IRI.
_FIRST_PREDICATES = {
    f"<{p}>": i
    for i, p in enumerate(
        (
            _RDF_TYPE,
            OWL_NS + "onProperty",
            OWL_NS + "onDatatype",
            RDFS.label.value,
            SKOS.altLabel.value,
            DCTERMS.description.value,
            RDFS_NS + "comment",
        )
    )
}
_OTHER_PREDICATE = len(_FIRST_PREDICATES)
#: Declaration types first among a subject's types.
_TYPE_RANK = {t: i for i, t in enumerate(_KIND_RANK)}
_TYPE = f"<{_RDF_TYPE}>"
_FIRST = f"<{_RDF_FIRST}>"
_REST = f"<{_RDF_REST}>"
_NIL = f"<{_RDF_NIL}>"

_Pairs = list[tuple[str, list[str]]]


class _Canonical:
    """The triples of an OWL ontology as trees: named subjects and root blank nodes, each with
    its sorted (predicate, objects) pairs; every other blank node hangs under one parent.

    Lists (``rdf:first``/``rdf:rest``) are kept as Python lists, their members sorted: every list
    in the ontology (``owl:unionOf``, ``owl:members``, ``owl:withRestrictions``) denotes a set,
    and the sort puts values in their ``.N`` order.
    Blank-node labels never reach the output, so the result depends only on the triples.
    """

    def __init__(self, lines: Iterable[str]) -> None:
        props: dict[str, list[tuple[str, str]]] = {}
        references: dict[str, int] = {}
        for line in lines:
            subject, predicate, rest = line.split(" ", 2)
            obj = rest[:-3]  # drop " .\n"
            pairs = props.get(subject)
            if pairs is None:
                props[subject] = [(predicate, obj)]
            else:
                pairs.append((predicate, obj))
            if obj[0] == "_":
                references[obj] = references.get(obj, 0) + 1
        for node, count in references.items():
            if count > 1:
                raise OwlExportError(f"blank node {node} is shared: the ontology is not a tree")
        self.props = props
        self.lists: dict[str, list[str]] = {}
        tails = {o for pairs in props.values() for p, o in pairs if p == _REST}
        for node, pairs in props.items():
            if node[0] == "_" and node not in tails and pairs[0][0] in (_FIRST, _REST):
                items = self._list(node)
                if items is not None:
                    self.lists[node] = items
        self._signatures: dict[str, str] = {}
        self._keys: dict[str, tuple] = {}
        self._sorted: dict[str, _Pairs] = {}
        roots = [n for n in props if n[0] != "_" or n not in references]
        self.roots = sorted(roots, key=self._subject_key)

    def _list(self, node: str) -> list[str] | None:
        items: list[str] = []
        current = node
        while current[0] == "_":
            pairs = self.props.get(current, [])
            if len(pairs) != 2:
                return None
            first = [o for p, o in pairs if p == _FIRST]
            rest = [o for p, o in pairs if p == _REST]
            if len(first) != 1 or len(rest) != 1:
                return None
            items.append(first[0])
            current = rest[0]
        return items if current == _NIL else None

    def members(self, node: str) -> list[str]:
        """The members of a list node, sorted."""
        return sorted(self.lists[node], key=self.key)

    def key(self, term: str) -> tuple:
        """Sort key of a term: IRIs (in :func:`term_key` order), literals, blank nodes."""
        found = self._keys.get(term)
        if found is None:
            if term[0] == "<":
                found = (0, term_key(term), term)
            elif term[0] == '"':
                found = (1, (0, term[1 : term.rindex('"')], 0), term)
            else:
                found = (2, (0, self.signature(term), 0), "")
            self._keys[term] = found
        return found

    def signature(self, node: str) -> str:
        """A text that only equal trees share (orders blank nodes without their labels)."""
        found = self._signatures.get(node)
        if found is None:
            if node in self.lists:
                found = "(" + " ".join(self._text(m) for m in self.members(node)) + ")"
            else:
                found = (
                    "["
                    + " ; ".join(
                        f"{p} " + " , ".join(self._text(o) for o in objs)
                        for p, objs in self.predicates(node)
                    )
                    + "]"
                )
            self._signatures[node] = found
        return found

    def _text(self, term: str) -> str:
        return self.signature(term) if term[0] == "_" else term

    def predicates(self, node: str) -> _Pairs:
        """The node's predicates in canonical order, each with its sorted objects."""
        found = self._sorted.get(node)
        if found is None:
            grouped: dict[str, list[str]] = {}
            for predicate, obj in self.props.get(node, ()):
                objects = grouped.get(predicate)
                if objects is None:
                    grouped[predicate] = [obj]
                else:
                    objects.append(obj)
            found = []
            for predicate in sorted(
                grouped, key=lambda p: (_FIRST_PREDICATES.get(p, _OTHER_PREDICATE), p)
            ):
                objects = grouped[predicate]
                if len(objects) > 1:
                    objects = sorted(set(objects), key=self.key)
                    if predicate == _TYPE:
                        objects.sort(key=lambda o: _TYPE_RANK.get(o, len(_TYPE_RANK)))
                found.append((predicate, objects))
            self._sorted[node] = found
        return found

    def _subject_key(self, node: str) -> tuple:
        if node[0] == "_":
            return (_BLANK_RANK, False, (0, self.signature(node), 0), node)
        rank = _UNDECLARED_RANK
        for predicate, obj in self.props[node]:
            if predicate == _TYPE:
                rank = min(rank, _KIND_RANK.get(obj, _UNDECLARED_RANK))
        key = self.key(node)[1]
        return (rank, key[0] < 2, key, node)


# ------------------------------------------------------------------ prefixes

_LOCAL_TURTLE = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_\-])?")
_LOCAL_XML = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


class _Prefixes:
    """Compacts IRIs to ``prefix:local`` and remembers which prefixes were used."""

    def __init__(self, prefixes: dict[str, str], local: re.Pattern[str]) -> None:
        self._by_namespace: dict[str, str] = {}
        for name in sorted(prefixes, key=lambda n: (len(n), n)):
            self._by_namespace.setdefault(prefixes[name], name)
        self._namespace_of = {name: ns for ns, name in self._by_namespace.items()}
        self._namespaces = sorted(self._by_namespace, key=len, reverse=True)
        self._local = local
        self.used: dict[str, str] = {}

    def split(self, iri: str) -> tuple[str, str] | None:
        """``(prefix, local)`` for ``iri``, or ``None`` where no declared prefix fits."""
        cut = max(iri.rfind("/"), iri.rfind("#"), iri.rfind(":")) + 1
        candidates = [iri[:cut]] if iri[:cut] in self._by_namespace else self._namespaces
        for namespace in candidates:
            local = iri[len(namespace) :]
            if iri.startswith(namespace) and local and self._local.fullmatch(local):
                name = self._by_namespace[namespace]
                if name not in self.used:
                    self.used[name] = namespace
                return name, local
        return None


def _writer_prefixes(graph: KnowledgeGraph, base_iri: str) -> dict[str, str]:
    prefixes = dict(graph.prefixes)
    prefixes.setdefault("fm", base_iri)
    prefixes["owl"] = OWL_NS
    prefixes["xsd"] = XSD_NS
    return prefixes


# ------------------------------------------------------------------ Turtle

_INDENT = "    "
_WIDTH = 80


class _TurtleWriter:
    def __init__(self, canonical: _Canonical, prefixes: _Prefixes) -> None:
        self.c = canonical
        self.p = prefixes
        self._names: dict[str, str] = {_TYPE: "a"}

    def name(self, term: str) -> str:
        """An IRI term as a prefixed name where one fits, else as ``<iri>``."""
        found = self._names.get(term)
        if found is None:
            split = self.p.split(term[1:-1])
            found = f"{split[0]}:{split[1]}" if split else term
            self._names[term] = found
        return found

    def term(self, term: str, depth: int) -> str:
        lead = term[0]
        if lead == "<":
            return self.name(term)
        if lead == '"':
            if term[-1] == ">":
                text, _, datatype = term.rpartition("^^")
                return f"{text}^^{self.name(datatype)}"
            return term
        if term in self.c.lists:
            members = [self.term(m, depth + 1) for m in self.c.members(term)]
            inline = "( " + " ".join(members) + " )"
            if "\n" not in inline and len(inline) <= _WIDTH:
                return inline
            inner = _INDENT * (depth + 1)
            return "(\n" + "".join(f"{inner}{m}\n" for m in members) + _INDENT * depth + ")"
        pairs = [
            (self.name(p), " , ".join(self.term(o, depth + 1) for o in objs))
            for p, objs in self.c.predicates(term)
        ]
        inline = "[ " + " ; ".join(f"{p} {objs}" for p, objs in pairs) + " ]"
        if "\n" not in inline and len(inline) <= _WIDTH:
            return inline
        inner = _INDENT * (depth + 1)
        body = " ;\n".join(f"{inner}{p} {objs}" for p, objs in pairs)
        return "[\n" + body + "\n" + _INDENT * depth + "]"

    def subject(self, node: str) -> str:
        head = "[]" if node[0] == "_" else self.name(node)
        lines = [
            f"{self.name(p)} " + " , ".join(self.term(o, 1) for o in objs)
            for p, objs in self.c.predicates(node)
        ]
        return f"{head} " + f" ;\n{_INDENT}".join(lines) + " .\n"


def _turtle_bytes(canonical: _Canonical, prefixes: dict[str, str]) -> bytes:
    compact = _Prefixes(prefixes, _LOCAL_TURTLE)
    writer = _TurtleWriter(canonical, compact)
    body = "\n".join(writer.subject(node) for node in canonical.roots)
    header = "".join(f"@prefix {name}: <{compact.used[name]}> .\n" for name in sorted(compact.used))
    return (header + ("\n" if header and body else "") + body).encode()


# ------------------------------------------------------------------ RDF/XML

_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NT_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))")
_NT_CHARS = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _unescape(match: re.Match[str]) -> str:
    hex_code = match.group(1) or match.group(2)
    return chr(int(hex_code, 16)) if hex_code else _NT_CHARS[match.group(3)]


def _literal_parts(term: str) -> tuple[str, str | None, str | None]:
    """Lexical form, datatype IRI (``None`` for ``xsd:string``) and language of a literal."""
    end = term.rindex('"')
    text = term[1:end]
    if "\\" in text:
        text = _NT_ESCAPE.sub(_unescape, text)
    suffix = term[end + 1 :]
    if suffix.startswith("^^<"):
        return text, suffix[3:-1], None
    if suffix.startswith("@"):
        return text, None, suffix[1:]
    return text, None, None


def _xml_text(text: str, attribute: bool = False) -> str:
    if _XML_FORBIDDEN.search(text):
        raise OwlExportError(
            f"the text {text[:40]!r} holds a control character that XML cannot carry; "
            "export with --format owl-ttl instead"
        )
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("\r", "&#13;")
    if attribute:
        text = text.replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")
    return text


class _XmlWriter:
    def __init__(self, canonical: _Canonical, prefixes: _Prefixes) -> None:
        self.c = canonical
        self.p = prefixes
        self.out: list[str] = []
        self._qnames: dict[str, str | None] = {}

    def qname(self, term: str) -> str | None:
        """An IRI term as an XML qualified name, or ``None`` where no prefix fits."""
        if term in self._qnames:
            return self._qnames[term]
        split = self.p.split(term[1:-1])
        found = f"{split[0]}:{split[1]}" if split else None
        self._qnames[term] = found
        return found

    def node(self, node: str, depth: int) -> None:
        """A node element, typed by its first type where that has a qualified name."""
        pad = _INDENT * depth
        pairs = self.c.predicates(node)
        element = "rdf:Description"
        skip = None
        if pairs and pairs[0][0] == _TYPE and pairs[0][1][0][0] == "<":
            name = self.qname(pairs[0][1][0])
            if name is not None:
                element, skip = name, pairs[0][1][0]
        opening = f"{pad}<{element}"
        if node[0] == "<":
            opening += f' rdf:about="{_xml_text(node[1:-1], True)}"'
        children = [
            (predicate, obj)
            for predicate, objects in pairs
            for obj in objects
            if not (obj == skip and predicate == _TYPE)
        ]
        if not children:
            self.out.append(opening + "/>\n")
            return
        self.out.append(opening + ">\n")
        for predicate, obj in children:
            self.property(predicate, obj, depth + 1)
        self.out.append(f"{pad}</{element}>\n")

    def property(self, predicate: str, obj: str, depth: int) -> None:
        pad = _INDENT * depth
        name = self.qname(predicate)
        if name is None:
            raise OwlExportError(f"no XML name for the property {predicate}: declare a prefix")
        lead = obj[0]
        if lead == "<":
            self.out.append(f'{pad}<{name} rdf:resource="{_xml_text(obj[1:-1], True)}"/>\n')
        elif lead == '"':
            text, datatype, language = _literal_parts(obj)
            if language is not None:
                extra = f' xml:lang="{_xml_text(language, True)}"'
            elif datatype is not None:
                extra = f' rdf:datatype="{_xml_text(datatype, True)}"'
            else:
                extra = ""
            self.out.append(f"{pad}<{name}{extra}>{_xml_text(text)}</{name}>\n")
        elif obj in self.c.lists and not any(m[0] == '"' for m in self.c.lists[obj]):
            self.out.append(f'{pad}<{name} rdf:parseType="Collection">\n')
            for member in self.c.members(obj):
                if member[0] == "<":
                    about = _xml_text(member[1:-1], True)
                    self.out.append(f'{pad}{_INDENT}<rdf:Description rdf:about="{about}"/>\n')
                else:
                    self.node(member, depth + 1)
            self.out.append(f"{pad}</{name}>\n")
        else:
            self.out.append(f"{pad}<{name}>\n")
            if obj in self.c.lists:  # a list holding literals: written as rdf:first/rdf:rest
                self._list_node(self.c.members(obj), depth + 1)
            else:
                self.node(obj, depth + 1)
            self.out.append(f"{pad}</{name}>\n")

    def _list_node(self, members: list[str], depth: int) -> None:
        pad = _INDENT * depth
        self.out.append(f"{pad}<rdf:Description>\n")
        self.property(_FIRST, members[0], depth + 1)
        if len(members) == 1:
            self.property(_REST, _NIL, depth + 1)
        else:
            self.out.append(f"{pad}{_INDENT}<rdf:rest>\n")
            self._list_node(members[1:], depth + 2)
            self.out.append(f"{pad}{_INDENT}</rdf:rest>\n")
        self.out.append(f"{pad}</rdf:Description>\n")


def _xml_bytes(canonical: _Canonical, prefixes: dict[str, str]) -> bytes:
    compact = _Prefixes(prefixes, _LOCAL_XML)
    writer = _XmlWriter(canonical, compact)
    for node in canonical.roots:
        writer.out.append("\n")
        writer.node(node, 1)
    compact.used["rdf"] = RDF_NS
    declarations = "".join(
        f'\n{_INDENT}xmlns:{name}="{_xml_text(compact.used[name], True)}"'
        for name in sorted(compact.used)
    )
    head = f'<?xml version="1.0" encoding="utf-8"?>\n<rdf:RDF{declarations}>\n'
    return (head + "".join(writer.out) + "</rdf:RDF>\n").encode()


# ------------------------------------------------------------------ exporters


def _write(
    graph: KnowledgeGraph,
    handle: BinaryIO,
    render: Callable[[_Canonical, dict[str, str]], bytes],
) -> int:
    base = _base_of(graph)
    lines = owl_ntriples(graph.models(), base)
    canonical = _Canonical(lines)
    handle.write(render(canonical, _writer_prefixes(graph, base)))
    return len(lines)


def write_owl_xml(graph: KnowledgeGraph, handle: BinaryIO) -> int:
    """The finding models of ``graph`` as an OWL 2 DL ontology in RDF/XML (see docs/owl.md).

    Subjects come in a fixed order (ontology, annotation properties, object properties, data
    properties, classes, annotated code IRIs, ``owl:AllDisjointClasses`` axioms), blank nodes
    are nested, and only the namespaces used are declared: same models, same bytes. Returns
    how many triples the ontology has (not the graph's count: the OWL axioms are others).
    """
    return _write(graph, handle, _xml_bytes)


def write_owl_turtle(graph: KnowledgeGraph, handle: BinaryIO) -> int:
    """The finding models of ``graph`` as an OWL 2 DL ontology in Turtle (see docs/owl.md), in
    the same canonical order as :func:`write_owl_xml`, with only the prefixes used; returns
    how many triples it has."""
    return _write(graph, handle, _turtle_bytes)
