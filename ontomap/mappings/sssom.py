"""SSSOM/TSV: the mapping set as a table with its YAML metadata block.

The file follows the SSSOM specification (https://mapping-commons.github.io/sssom/): a
``#``-prefixed YAML block (``curie_map`` with only the prefixes the rows use, beyond SSSOM's
built-in ones; ``mapping_set_id``, ``license``, ``mapping_tool`` with its version, the mapping
date...), then one row per mapping. Columns, in the order of the SSSOM schema
(a label's tabs and line breaks, U+2028 and the like included, are written as one space):

==========================  ==================================================================
``subject_id``, ``_label``  the source code (CURIE) and the display most models give it
``predicate_id``            ``skos:closeMatch`` or ``skos:relatedMatch`` (see docs/mappings.md)
``object_id``, ``_label``   the target code and its display
``mapping_justification``   ``semapv:InstanceBasedMatching``: the codes share instances
``subject_source`` …        (sets spanning several system pairs only) the concept schemes;
                            ``cardinality_scope`` then names these two columns
``mapping_cardinality``     1:1, 1:n, n:1 or n:n among the set's rows (SSSOM's definition)
``confidence``              the share of the subject code's uses that carry the object code
``see_also``                the supporting entities: IRIs of the findings, attributes and
                            values that carry both codes, ``|``-separated
``comment``                 the evidence in words (counts, both shares, the cardinality in
                            the whole corpus, the outlier mark)
==========================  ==================================================================
"""

from __future__ import annotations

import json
import re
from typing import BinaryIO

from ontomap.mappings import JUSTIFICATION, Mapping, MappingSet, evidence, number
from ontomap.terminology import SCHEME_NAMESPACE

__all__ = ["COLUMNS", "sssom_text", "write_sssom"]

#: Columns of every row, in the SSSOM schema's order; ``subject_source`` and ``object_source``
#: are added (after ``mapping_justification``) for sets spanning several system pairs.
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
    "comment",
)
_SOURCE_COLUMNS = ("subject_source", "object_source")
#: Prefix of the concept schemes in ``subject_source`` / ``object_source``.
SCHEME_PREFIX = "scheme"
#: SSSOM writes ``n:n`` where the lookup writes ``n:m``.
_CARDINALITY = {"1:1": "1:1", "1:n": "1:n", "n:1": "n:1", "n:m": "n:n"}

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
    return dict(sorted(used.items()))


def _metadata(mapping_set: MappingSet, multi: bool) -> list[str]:
    lines = []
    if multi:  # cardinality_scope came with SSSOM 1.1
        lines.append('sssom_version: "1.1"')
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


def _row(mapping: Mapping, base_iri: str, multi: bool) -> list[str]:
    p = mapping.pair
    cells = [
        p.source.curie,
        _cell(p.source_label),
        mapping.predicate,
        p.target.curie,
        _cell(p.target_label),
        JUSTIFICATION,
    ]
    if multi:
        cells += [f"{SCHEME_PREFIX}:{p.source.system}", f"{SCHEME_PREFIX}:{p.target.system}"]
    cells += [
        _CARDINALITY[mapping.set_cardinality],
        repr(number(p.share)),
        "|".join(base_iri + entity for entity in p.entity_ids),
        _cell(evidence(mapping)),
    ]
    return cells


def sssom_text(mapping_set: MappingSet) -> str:
    """The SSSOM/TSV text of ``mapping_set`` (rows in the set's order)."""
    multi = len(mapping_set.system_pairs) > 1
    columns = list(COLUMNS)
    if multi:
        at = columns.index("mapping_justification") + 1
        columns[at:at] = _SOURCE_COLUMNS
    out = _metadata(mapping_set, multi)
    out.append("\t".join(columns) + "\n")
    base = mapping_set.base_iri
    out.extend("\t".join(_row(m, base, multi)) + "\n" for m in mapping_set.mappings)
    return "".join(out)


def write_sssom(mapping_set: MappingSet, handle: BinaryIO) -> None:
    """Write ``mapping_set`` as SSSOM/TSV (UTF-8)."""
    handle.write(sssom_text(mapping_set).encode())
