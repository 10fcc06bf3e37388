"""The checks cheap enough for every build: malformed codes and value numbering.

``ontomap validate`` reports these with file, line and a fix (rules ``code/syntax``,
``code/check-digit``, ``code/snomed-partition``); ``ontomap build`` only counts the models that
have any, so that a build does not stay silent about what validate would call a problem. Value
codes out of order only come from models made in code: the JSON reader numbers values by
position, as the ``findingmodel`` package does (with a warning, ``structure/value-renumbered``),
and the Markdown reader in bullet order.
"""

from __future__ import annotations

from collections.abc import Iterator

from ontomap.model import ChoiceAttribute, FindingModel, IndexCode


def _codes(model: FindingModel) -> Iterator[IndexCode]:
    yield from model.index_codes
    yield from model.anatomic_locations
    for attribute in model.attributes:
        yield from attribute.index_codes
        if isinstance(attribute, ChoiceAttribute):
            for value in attribute.values:
                yield from value.index_codes


def _code_ok(code: IndexCode) -> bool:
    system = code.code_system
    if not system.known:
        return True  # an unknown system is validate's business, not a malformed code
    if not system.is_well_formed(code.code):
        return False
    return system.key != "SNOMED" or code.code[-3:-1] in ("00", "10")


def has_problems(model: FindingModel) -> bool:
    """Whether ``model`` has a malformed code (syntax, check digit, SNOMED CT partition) or
    choice values not numbered ``{oifma_id}.0``, ``.1``, … in order."""
    for attribute in model.attributes:
        if isinstance(attribute, ChoiceAttribute):
            expected = [f"{attribute.oifma_id}.{i}" for i in range(len(attribute.values))]
            if [v.value_code for v in attribute.values] != expected:
                return True
    return not all(_code_ok(code) for code in _codes(model))
