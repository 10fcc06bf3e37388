"""SSSOM/TSV: the mapping set as a table with its YAML metadata block.

The file follows the SSSOM 1.1 specification (https://mapping-commons.github.io/sssom/) and is
read without a warning by sssom-py and sssom-pydantic: a ``#``-prefixed YAML block
(``sssom_version``, ``curie_map`` with only the prefixes the rows use beyond SSSOM's built-in
ones, ``mapping_set_id``, ``license``, ``mapping_tool`` with its version, the mapping date...),
then one row per mapping. Columns, in the order of the SSSOM schema (a label's tabs and line
breaks, U+2028 and the like included, are written as one space):

==========================  ==================================================================
``subject_id``, ``_label``  the source code (CURIE) and the display most models give it
``predicate_id``            the engine's ``skos:closeMatch`` or ``skos:relatedMatch``
``object_id``, ``_label``   the target code and its display
``mapping_justification``   ``semapv:InstanceBasedMatching`` (the codes share instances), or
                            ``semapv:CompositeMatching`` where the displays matched as well
``subject_source`` …        (sets spanning several system pairs only) the concept schemes;
                            ``cardinality_scope`` then names these two columns
``mapping_cardinality``     1:1, 1:n, n:1 or n:n among the set's rows (SSSOM's definition)
``confidence``              the engine's confidence (docs/mappings.md)
``similarity_score``        (sets with display matches only) the display similarity of a pair
``similarity_measure``      matched by display, measured as :data:`SIMILARITY_MEASURE` says
``see_also``                up to :data:`SEE_ALSO_ENTITIES` supporting entities (IRIs, in ID
                            order), ``|``-separated; ``other`` has their number
``other``                   the evidence figures as ``name=value`` pairs, ``|``-separated
                            (:data:`~ontomap.mappings.EVIDENCE`: entityCount, findingCount,
                            contextCount, template, uses and contexts of both codes, the
                            corpus cardinality, outlier)
``comment``                 the evidence in words (contexts named, template, shares,
                            confidence, display match, the outlier mark)
==========================  ==================================================================

Every cell is bounded whatever the counts (the supporting entities of a template run into the
thousands: all of them are in the SKOS form, and ``ontomap lookup`` lists them), so the file
opens in a spreadsheet, whose cells hold at most 32,767 characters.
"""

from __future__ import annotations

import json
import re
from typing import Any, BinaryIO

from ontomap.mappings import (
    SIMILARITY_MEASURE,
    WIKIDATA_NAMESPACE,
    Mapping,
    MappingSet,
    evidence,
    evidence_facts,
    number,
)
from ontomap.terminology import SCHEME_NAMESPACE

__all__ = [
    "COLUMNS",
    "SEE_ALSO_ENTITIES",
    "SSSOM_VERSION",
    "columns",
    "other",
    "sssom_text",
    "write_sssom",
]

#: The version of the SSSOM specification the files follow.
SSSOM_VERSION = "1.1"
#: Columns of every row, in the SSSOM schema's order; ``subject_source`` and ``object_source``
#: are added (after ``mapping_justification``) for sets spanning several system pairs, and
#: ``similarity_score`` and ``similarity_measure`` (after ``confidence``) for sets with a pair
#: matched by display.
COLUMNS = (
    "subject_id",
    "subject_label",
    "predicate_id",
    "object_id",
    "object_label",
    "mapping_justification",
    "mapping_cardinality",
    "confidence",
    "see_also",
    "other",
    "comment",
)
_SOURCE_COLUMNS = ("subject_source", "object_source")
_SIMILARITY_COLUMNS = ("similarity_score", "similarity_measure")
#: How many supporting entities ``see_also`` lists.
SEE_ALSO_ENTITIES = 10
#: Prefix of the concept schemes in ``subject_source`` / ``object_source``.
SCHEME_PREFIX = "scheme"
#: Prefix of :data:`~ontomap.mappings.SIMILARITY_MEASURE`.
WIKIDATA_PREFIX = SIMILARITY_MEASURE.split(":", 1)[0]

_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/#?=&%+~-]*$")
#: What ends a cell or a row for some TSV reader: tabs and every character
#: :meth:`str.splitlines` breaks at. A label's runs of them become one space.
_CELL_BREAKS = re.compile("[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]+")


def _yaml(value: str) -> str:
    """A YAML scalar: plain when unambiguous (IRIs, versions, dates), else double-quoted."""
    plain = _PLAIN.match(value) and ": " not in value and not value.endswith(":")
    return value if plain else json.dumps(value)


def _cell(value: str | None) -> str:
    return _CELL_BREAKS.sub(" ", value).strip() if value else ""


def _prefixes(mapping_set: MappingSet, with_sources: bool) -> dict[str, str]:
    used: dict[str, str] = {}
    for mapping in mapping_set.mappings:
        for code in (mapping.pair.source, mapping.pair.target):
            system = code.code_system
            used[system.prefix] = system.namespace
    if with_sources:
        used[SCHEME_PREFIX] = SCHEME_NAMESPACE
    if mapping_set.lexical:
        used[WIKIDATA_PREFIX] = WIKIDATA_NAMESPACE
    return dict(sorted(used.items()))


def _metadata(mapping_set: MappingSet, multi: bool) -> list[str]:
    lines = [f'sssom_version: "{SSSOM_VERSION}"']
    single = mapping_set.single_pair
    prefixes = _prefixes(mapping_set, with_sources=multi or single is not None)
    if prefixes:
        lines.append("curie_map:")
        lines.extend(f"  {name}: {namespace}" for name, namespace in prefixes.items())
    lines.append(f"mapping_set_id: {_yaml(mapping_set.id)}")
    lines.append(f"mapping_set_title: {json.dumps(mapping_set.title, ensure_ascii=False)}")
    lines.append(
        f"mapping_set_description: {json.dumps(mapping_set.description, ensure_ascii=False)}"
    )
    lines.append(f"license: {_yaml(mapping_set.license)}")
    if single is not None:
        lines.append(f"subject_source: {SCHEME_PREFIX}:{single[0]}")
        lines.append(f"object_source: {SCHEME_PREFIX}:{single[1]}")
    if multi:
        lines.append("cardinality_scope:")
        lines.extend(f"  - {column}" for column in _SOURCE_COLUMNS)
    lines.append(f"mapping_tool: {_yaml(mapping_set.tool)}")
    lines.append(f"mapping_tool_version: {_yaml(mapping_set.tool_version)}")
    if mapping_set.date is not None:
        lines.append(f"mapping_date: {mapping_set.date}")
    return [f"# {line}\n" for line in lines]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def other(mapping: Mapping) -> str:
    """The ``other`` cell of a mapping: its evidence figures as ``name=value|…``."""
    return "|".join(f"{fact.name}={_text(value)}" for fact, value in evidence_facts(mapping))


def _row(mapping: Mapping, base_iri: str, multi: bool, lexical: bool) -> list[str]:
    p = mapping.pair
    cells = [
        p.source.curie,
        _cell(p.source_label),
        mapping.predicate,
        p.target.curie,
        _cell(p.target_label),
        mapping.justification,
    ]
    if multi:
        cells += [f"{SCHEME_PREFIX}:{p.source.system}", f"{SCHEME_PREFIX}:{p.target.system}"]
    cells += [mapping.sssom_cardinality, repr(number(p.confidence))]
    if lexical:
        score = mapping.similarity
        cells += ["", ""] if score is None else [repr(number(score)), SIMILARITY_MEASURE]
    cells += [
        "|".join(base_iri + entity for entity in p.paired.entities[:SEE_ALSO_ENTITIES]),
        other(mapping),
        _cell(evidence(mapping)),
    ]
    return cells


def columns(mapping_set: MappingSet) -> list[str]:
    """The columns :func:`sssom_text` writes for ``mapping_set``."""
    out: list[str] = list(COLUMNS)
    if len(mapping_set.system_pairs) > 1:
        at = out.index("mapping_justification") + 1
        out[at:at] = _SOURCE_COLUMNS
    if mapping_set.lexical:
        at = out.index("confidence") + 1
        out[at:at] = _SIMILARITY_COLUMNS
    return out


def sssom_text(mapping_set: MappingSet) -> str:
    """The SSSOM/TSV text of ``mapping_set`` (rows in the set's order)."""
    multi = len(mapping_set.system_pairs) > 1
    lexical = mapping_set.lexical
    out = _metadata(mapping_set, multi)
    out.append("\t".join(columns(mapping_set)) + "\n")
    base = mapping_set.base_iri
    out.extend("\t".join(_row(m, base, multi, lexical)) + "\n" for m in mapping_set.mappings)
    return "".join(out)


def write_sssom(mapping_set: MappingSet, handle: BinaryIO) -> None:
    """Write ``mapping_set`` as SSSOM/TSV (UTF-8)."""
    handle.write(sssom_text(mapping_set).encode())
