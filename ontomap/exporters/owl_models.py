"""The finding models of a knowledge graph, as the OWL exporter reads them.

:func:`models_of` gives the models :meth:`KnowledgeGraph.models
<ontomap.graph.KnowledgeGraph.models>` gives, less their contributors (which the ontology does
not carry), in about half the time: it indexes the graph's canonical N-Triples lines as text
and makes a Python string of each term it needs, where ``KnowledgeGraph.models`` parses every
line into pyoxigraph terms first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pyoxigraph as ox

from ontomap.graph import KnowledgeGraph
from ontomap.model import ChoiceAttribute, ChoiceValue, FindingModel, IndexCode, NumericAttribute
from ontomap.ntriples import split_line
from ontomap.terminology import default_registry
from ontomap.vocab import DCTERMS, OIFM, RDF, RDFS, SKOS, XSD

__all__ = ["models_of"]

_NT_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))")
_NT_CHARS = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _unescape(match: re.Match[str]) -> str:
    hex_code = match.group(1) or match.group(2)
    return chr(int(hex_code, 16)) if hex_code else _NT_CHARS[match.group(3)]


def _nt(term: ox.NamedNode) -> str:
    return f"<{term.value}>"


_NO_PROPS: dict[str, list[str]] = {}


class _Lines:
    """A graph's N-Triples lines indexed by subject and predicate, terms kept as their text."""

    def __init__(self, lines: Iterable[str]) -> None:
        index: dict[str, dict[str, list[str]]] = {}
        for line in lines:
            subject, predicate, obj = split_line(line)
            props = index.get(subject)
            if props is None:
                props = index[subject] = {}
            objects = props.get(predicate)
            if objects is None:
                props[predicate] = [obj]
            else:
                objects.append(obj)
        self.index = index
        self._texts: dict[str, str] = {}

    def props(self, subject: str) -> dict[str, list[str]]:
        return self.index.get(subject, _NO_PROPS)

    def text(self, term: str) -> str:
        """A term's value: a literal's lexical form, an IRI without its brackets."""
        found = self._texts.get(term)
        if found is None:
            if term[0] == '"':
                found = term[1 : term.rindex('"')]
                if "\\" in found:
                    found = _NT_ESCAPE.sub(_unescape, found)
            else:
                found = term[1:-1]
            self._texts[term] = found
        return found

    def one(self, props: dict[str, list[str]], predicate: str) -> str | None:
        found = props.get(predicate)
        return self.text(found[0]) if found else None

    def number(self, props: dict[str, list[str]], predicate: str) -> int | float | None:
        found = props.get(predicate)
        if not found:
            return None
        text = self.text(found[0])
        return int(text) if found[0].endswith(_INTEGER) else float(text)


_INTEGER = f"^^<{XSD.integer.value}>"
_P_TYPE = _nt(RDF.type)
_P_OIFM_ID = _nt(OIFM.oifmId)
_P_LABEL = _nt(RDFS.label)
_P_DESCRIPTION = _nt(DCTERMS.description)
_P_ALT_LABEL = _nt(SKOS.altLabel)
_P_TAG = _nt(OIFM.tag)
_P_HAS_ATTRIBUTE = _nt(OIFM.hasAttribute)
_P_HAS_VALUE = _nt(OIFM.hasValue)
_P_POSITION = _nt(OIFM.position)
_P_REQUIRED = _nt(OIFM.required)
_P_MAX_SELECTED = _nt(OIFM.maxSelected)
_P_MINIMUM = _nt(OIFM.minimum)
_P_MAXIMUM = _nt(OIFM.maximum)
_P_UNIT = _nt(OIFM.unit)
_P_HAS_INDEX_CODE = _nt(OIFM.hasIndexCode)
_P_ANATOMIC_LOCATION = _nt(OIFM.anatomicLocation)
_P_IN_SCHEME = _nt(SKOS.inScheme)
_P_NOTATION = _nt(SKOS.notation)
_FINDING_MODEL = _nt(OIFM.FindingModel)
_CHOICE_ATTRIBUTE = _nt(OIFM.ChoiceAttribute)


def models_of(graph: KnowledgeGraph) -> list[FindingModel]:
    """The finding models of ``graph``, as :meth:`KnowledgeGraph.models` reads them, less their
    contributors (which the ontology does not carry), read from the graph's N-Triples lines
    without making a pyoxigraph term of each."""
    g = _Lines(graph.lines)
    registry = default_registry()
    code_cache: dict[str, IndexCode | None] = {}

    def code_of(concept: str) -> IndexCode | None:
        if concept in code_cache:
            return code_cache[concept]
        props = g.props(concept)
        scheme = props.get(_P_IN_SCHEME)
        system = g.one(g.props(scheme[0]), _P_NOTATION) if scheme else None
        code = g.one(props, _P_NOTATION)
        found = None
        if system is not None and code is not None:
            found = IndexCode(registry.resolve(system).key, code, g.one(props, _P_LABEL))
        code_cache[concept] = found
        return found

    def codes(props: dict[str, list[str]], predicate: str) -> tuple[IndexCode, ...]:
        found = {c for c in map(code_of, props.get(predicate, ())) if c is not None}
        return tuple(sorted(found, key=lambda c: (c.system, c.code)))

    def ordered(props: dict[str, list[str]], predicate: str) -> list[dict[str, list[str]]]:
        """The nodes ``predicate`` links to, by their ``oifm:position``, each as its props."""
        nodes = [g.props(node) for node in props.get(predicate, ())]
        return sorted(nodes, key=lambda p: int(g.one(p, _P_POSITION) or 0))

    models = []
    for props in g.index.values():
        if _FINDING_MODEL not in props.get(_P_TYPE, ()):
            continue
        attributes: list[ChoiceAttribute | NumericAttribute] = []
        for node in ordered(props, _P_HAS_ATTRIBUTE):
            required = g.one(node, _P_REQUIRED)
            oifma_id = g.one(node, _P_OIFM_ID) or ""
            name = g.one(node, _P_LABEL) or ""
            description = g.one(node, _P_DESCRIPTION)
            is_required = None if required is None else required == "true"
            if _CHOICE_ATTRIBUTE in node.get(_P_TYPE, ()):
                values = tuple(
                    ChoiceValue(
                        value_code=g.one(v, _P_OIFM_ID) or "",
                        name=g.one(v, _P_LABEL) or "",
                        description=g.one(v, _P_DESCRIPTION),
                        index_codes=codes(v, _P_HAS_INDEX_CODE),
                    )
                    for v in ordered(node, _P_HAS_VALUE)
                )
                max_selected = g.number(node, _P_MAX_SELECTED)
                attributes.append(
                    ChoiceAttribute(
                        oifma_id,
                        name,
                        values,
                        description=description,
                        required=is_required,
                        max_selected=None if max_selected is None else int(max_selected),
                        index_codes=codes(node, _P_HAS_INDEX_CODE),
                    )
                )
            else:
                attributes.append(
                    NumericAttribute(
                        oifma_id,
                        name,
                        description=description,
                        required=is_required,
                        minimum=g.number(node, _P_MINIMUM),
                        maximum=g.number(node, _P_MAXIMUM),
                        unit=g.one(node, _P_UNIT),
                        index_codes=codes(node, _P_HAS_INDEX_CODE),
                    )
                )
        models.append(
            FindingModel(
                oifm_id=g.one(props, _P_OIFM_ID) or "",
                name=g.one(props, _P_LABEL) or "",
                description=g.one(props, _P_DESCRIPTION),
                synonyms=tuple(sorted({g.text(v) for v in props.get(_P_ALT_LABEL, ())})),
                tags=tuple(sorted({g.text(v) for v in props.get(_P_TAG, ())})),
                attributes=tuple(attributes),
                index_codes=codes(props, _P_HAS_INDEX_CODE),
                anatomic_locations=codes(props, _P_ANATOMIC_LOCATION),
            )
        )
    return sorted(models, key=lambda m: m.oifm_id)
