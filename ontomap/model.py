"""The typed finding-model: immutable values that readers produce and the graph builder consumes.

All classes are frozen, hashable dataclasses. Identifiers are validated on construction, so a
:class:`FindingModel` that exists is well-formed: its IDs follow the OIFM patterns and every
value code belongs to its attribute.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeAlias

from ontomap.errors import InvalidIdentifierError, ModelValidationError
from ontomap.terminology import CodeSystem, Registry, default_registry

OIFM_ID_PATTERN = r"OIFM_[A-Z]{3,4}_[0-9]{6}"
OIFMA_ID_PATTERN = r"OIFMA_[A-Z]{3,4}_[0-9]{6}"
VALUE_CODE_PATTERN = OIFMA_ID_PATTERN + r"\.[0-9]+"

_OIFM_RE = re.compile(OIFM_ID_PATTERN)
_OIFMA_RE = re.compile(OIFMA_ID_PATTERN)
_VALUE_RE = re.compile(VALUE_CODE_PATTERN)


def _check_id(kind: str, value: object, regex: re.Pattern[str]) -> None:
    if not isinstance(value, str) or not regex.fullmatch(value):
        raise InvalidIdentifierError(kind, str(value), regex.pattern)


@dataclass(frozen=True, slots=True)
class IndexCode:
    """A code in a terminology that an author attached to a finding, attribute or value.

    ``system`` is the registry key (``RADLEX``, ``SNOMED``, ...): spellings such as
    ``SNOMEDCT`` are folded into their key by :meth:`of`. :attr:`curie` and :attr:`iri` name the
    code with the registry in use (:func:`ontomap.terminology.default_registry`, which
    :func:`ontomap.terminology.use_registry` replaces); :meth:`Registry.iri
    <ontomap.terminology.Registry.iri>` names it with any other.
    """

    system: str
    code: str
    display: str | None = None

    @classmethod
    def of(
        cls, system: str, code: str, display: str | None = None, registry: Registry | None = None
    ) -> IndexCode:
        """An index code with ``system`` normalised through ``registry`` (the one in use by
        default).

        Equal codes are interned: a corpus repeats the same few thousand codes many times.
        """
        return _interned_code(registry or default_registry(), system, code, display)

    @property
    def code_system(self) -> CodeSystem:
        return default_registry().resolve(self.system)

    @property
    def curie(self) -> str:
        return self.code_system.curie(self.code)

    @property
    def iri(self) -> str:
        return self.code_system.code_iri(self.code)

    def __str__(self) -> str:
        return f"{self.system} {self.code}" + (f" {self.display}" if self.display else "")


@lru_cache(maxsize=1 << 16)
def _interned_code(registry: Registry, system: str, code: str, display: str | None) -> IndexCode:
    key = registry.resolve(system).key
    display = display.strip() if display else None
    return IndexCode(key, code.strip(), display or None)


@dataclass(frozen=True, slots=True)
class Person:
    """A person credited with a finding model."""

    name: str
    email: str | None = None
    github_username: str | None = None
    organization_code: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Organization:
    """An organisation credited with a finding model; ``code`` is its short code (e.g. GMTS)."""

    name: str
    code: str | None = None
    url: str | None = None


Contributor: TypeAlias = Person | Organization


@dataclass(frozen=True, slots=True)
class ChoiceValue:
    """One allowed answer of a choice attribute; ``value_code`` is ``OIFMA_….N``."""

    value_code: str
    name: str
    description: str | None = None
    index_codes: tuple[IndexCode, ...] = ()

    def __post_init__(self) -> None:
        _check_id("value code", self.value_code, _VALUE_RE)


@dataclass(frozen=True, slots=True)
class ChoiceAttribute:
    """An attribute answered by choosing among ``values``.

    ``required`` is ``None`` where the source does not say (the Markdown rendering never does).
    """

    oifma_id: str
    name: str
    values: tuple[ChoiceValue, ...]
    description: str | None = None
    required: bool | None = False
    max_selected: int | None = 1
    index_codes: tuple[IndexCode, ...] = ()

    def __post_init__(self) -> None:
        _check_id("attribute ID", self.oifma_id, _OIFMA_RE)
        seen: set[str] = set()
        for value in self.values:
            if value.value_code.rpartition(".")[0] != self.oifma_id:
                raise ModelValidationError(
                    f"value code {value.value_code} does not belong to attribute {self.oifma_id}"
                    f" (expected {self.oifma_id}.N)",
                    value.value_code,
                )
            if value.value_code in seen:
                raise ModelValidationError(
                    f"value code {value.value_code} appears twice in {self.oifma_id}; "
                    "number the values 0, 1, 2, ... in order",
                    value.value_code,
                    occurrence=2,
                )
            seen.add(value.value_code)

    @property
    def kind(self) -> str:
        return "choice"


@dataclass(frozen=True, slots=True)
class NumericAttribute:
    """An attribute answered with a number, optionally bounded and with a unit."""

    oifma_id: str
    name: str
    description: str | None = None
    required: bool | None = False
    minimum: int | float | None = None
    maximum: int | float | None = None
    unit: str | None = None
    index_codes: tuple[IndexCode, ...] = ()

    def __post_init__(self) -> None:
        _check_id("attribute ID", self.oifma_id, _OIFMA_RE)

    @property
    def kind(self) -> str:
        return "numeric"


Attribute: TypeAlias = ChoiceAttribute | NumericAttribute


@dataclass(frozen=True, slots=True)
class FindingModel:
    """An Open Imaging Finding Model: a finding, its attributes, values and index codes."""

    oifm_id: str
    name: str
    description: str | None = None
    synonyms: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    contributors: tuple[Contributor, ...] = ()
    attributes: tuple[Attribute, ...] = ()
    index_codes: tuple[IndexCode, ...] = ()
    anatomic_locations: tuple[IndexCode, ...] = field(default=())

    def __post_init__(self) -> None:
        _check_id("OIFM ID", self.oifm_id, _OIFM_RE)
        seen: set[str] = set()
        for attribute in self.attributes:
            if attribute.oifma_id in seen:
                raise ModelValidationError(
                    f"attribute {attribute.oifma_id} appears twice in {self.oifm_id}",
                    attribute.oifma_id,
                    occurrence=2,
                )
            seen.add(attribute.oifma_id)

    def entities(self) -> list[tuple[str, str, str, tuple[IndexCode, ...]]]:
        """``(kind, id, label, index_codes)`` for the finding, each attribute and each value."""
        out = [("finding", self.oifm_id, self.name, self.index_codes)]
        for attribute in self.attributes:
            out.append(("attribute", attribute.oifma_id, attribute.name, attribute.index_codes))
            if isinstance(attribute, ChoiceAttribute):
                for value in attribute.values:
                    out.append(("value", value.value_code, value.name, value.index_codes))
        return out
