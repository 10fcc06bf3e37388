"""The FHIR JSON pieces every operation shares: versions, canonical URLs, code systems by
URI, ``Parameters`` in and out, and errors as ``OperationOutcome``.

Everything here builds plain JSON-ready dicts (no FHIR model classes): the answers are small
and their shapes are fixed, and building dicts costs a few microseconds where a validating
model costs a millisecond.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ontomap.errors import ExitCode, OntomapError
from ontomap.mappings import MAPPING_SET_NAMESPACE
from ontomap.mappings.fhir import all_codes_value_set
from ontomap.terminology import CodeSystem, default_registry

__all__ = [
    "CODE_SYSTEM_NAMESPACE",
    "DESIGNATION_USE",
    "FHIR_VERSIONS",
    "OIFM_SYSTEM",
    "TX_ISSUE_TYPE",
    "VALUE_SET_NAMESPACE",
    "FhirError",
    "FhirVersion",
    "Params",
    "concept_map_url",
    "outcome",
    "parameters",
    "system_for_uri",
    "system_uri",
]

FhirVersion = Literal["R4", "R5"]
#: The FHIR version each served version answers as (``fhirVersion``).
FHIR_VERSIONS: dict[FhirVersion, str] = {"R4": "4.0.1", "R5": "5.0.0"}

#: Canonical URL of the code system of OIFM identifiers (findings, attributes, values).
OIFM_SYSTEM = "https://w3id.org/ontomap/fhir/CodeSystem/oifm"
#: Canonical URLs of ontomap's code systems (``{namespace}{id}``).
CODE_SYSTEM_NAMESPACE = "https://w3id.org/ontomap/fhir/CodeSystem/"
#: Canonical URLs of the value sets of choice attributes (``{namespace}{OIFMA ID}``).
VALUE_SET_NAMESPACE = "https://w3id.org/ontomap/fhir/ValueSet/"
#: The ``use`` of a designation that is a display authors gave a code in the models.
DESIGNATION_USE = CODE_SYSTEM_NAMESPACE + "designation-use"
#: HL7's issue types of terminology answers (``OperationOutcome.issue.details``).
TX_ISSUE_TYPE = "http://hl7.org/fhir/tools/CodeSystem/tx-issue-type"
#: HL7's designation uses (the preferred term of a loaded release).
HL7_TERM_MAINT = "http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra"

#: The largest page of an expansion or search (``count``, ``_count``).
MAX_COUNT = 1000


class FhirError(OntomapError):
    """A FHIR request that cannot be answered: its HTTP status, the OperationOutcome issue code
    (``invalid``, ``not-found``...), the tx issue type and the message."""

    exit_code = ExitCode.NOT_FOUND

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        tx_type: str | None = None,
        expression: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.tx_type = tx_type
        self.expression = expression

    def outcome(self) -> dict[str, Any]:
        return outcome([issue("error", self.code, self.message, self.tx_type, self.expression)])


def issue(
    severity: str,
    code: str,
    text: str,
    tx_type: str | None = None,
    expression: str | None = None,
) -> dict[str, Any]:
    """One ``OperationOutcome.issue``."""
    found: dict[str, Any] = {"severity": severity, "code": code}
    details: dict[str, Any] = {"text": text}
    if tx_type is not None:
        details = {"coding": [{"system": TX_ISSUE_TYPE, "code": tx_type}], "text": text}
    found["details"] = details
    if expression is not None:
        found["location"] = [expression]
        found["expression"] = [expression]
    return found


def outcome(issues: list[dict[str, Any]]) -> dict[str, Any]:
    """An ``OperationOutcome`` of ``issues``."""
    return {"resourceType": "OperationOutcome", "issue": issues}


def parameters(items: Iterable[dict[str, Any] | None]) -> dict[str, Any]:
    """A ``Parameters`` resource of ``items`` (``None`` items left out)."""
    return {"resourceType": "Parameters", "parameter": [p for p in items if p is not None]}


def param(name: str, kind: str, value: Any) -> dict[str, Any] | None:
    """``{"name": name, "value<Kind>": value}``; ``None`` when ``value`` is ``None``."""
    if value is None:
        return None
    return {"name": name, f"value{kind}": value}


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    found = {"system": system, "code": code}
    if display:
        found["display"] = display
    return found


# ------------------------------------------------------------------ code systems


def system_uri(system: CodeSystem) -> str:
    """The canonical FHIR URI of a code system (its concept scheme IRI when it has none)."""
    return system.fhir_system or system.scheme_iri


def system_for_uri(uri: str, expression: str = "system") -> CodeSystem:
    """The registry's code system whose FHIR URI (or key, alias, scheme IRI) is ``uri``;
    raises a :class:`FhirError` (404 ``not-found``) for an unknown one."""
    registry = default_registry()
    for system in registry.systems:
        if uri in (system.fhir_system, system.scheme_iri):
            return system
    found = registry.find(uri)
    if found is not None:
        return found
    raise FhirError(
        404,
        "not-found",
        f"A definition for CodeSystem {uri} could not be found: this server knows "
        f"{', '.join([OIFM_SYSTEM, *(system_uri(s) for s in registry.systems)])}",
        "not-found",
        expression,
    )


def concept_map_url(source: CodeSystem | None, target: CodeSystem | None) -> str:
    """The canonical URL of the ConceptMap ``ontomap mappings --from SOURCE --to TARGET``
    writes (``all`` for a side that is not given)."""
    if source is None and target is None:
        return MAPPING_SET_NAMESPACE + "all-systems"
    left = source.prefix if source else "all"
    right = target.prefix if target else "all"
    return f"{MAPPING_SET_NAMESPACE}{left}-to-{right}"


def value_set_system(url: str) -> CodeSystem | None:
    """The code system whose implicit all-codes value set is ``url``, else ``None``."""
    for system in default_registry().systems:
        if url == all_codes_value_set(system_uri(system)):
            return system
    return None


# ------------------------------------------------------------------ parameters in

#: ``value[x]`` keys of a ``Parameters.parameter`` read as text.
_TEXT_KEYS = (
    "valueUri",
    "valueCode",
    "valueString",
    "valueCanonical",
    "valueUrl",
    "valueId",
    "valueDateTime",
    "valueDate",
)


@dataclass
class Params:
    """An operation's input parameters by name: text, booleans, integers or codings (dicts
    with ``system``, ``code``, ``display``, ``version``), from a URL query or a ``Parameters``
    body."""

    values: dict[str, list[Any]] = field(default_factory=dict)

    @classmethod
    def from_query(cls, query: Iterable[tuple[str, str]]) -> Params:
        """From ``name=value`` pairs; a coding is written ``system|code`` in a URL."""
        found = cls()
        for name, value in query:
            if name in ("coding", "sourceCoding", "targetCoding"):
                system, bar, code = value.rpartition("|")
                value = {"system": system, "code": code} if bar else {"code": value}
            found.values.setdefault(name, []).append(value)
        return found

    @classmethod
    def from_body(cls, body: bytes, query: Iterable[tuple[str, str]] = ()) -> Params:
        """From a ``Parameters`` resource in JSON (plus the URL's parameters)."""
        found = cls.from_query(query)
        try:
            resource = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FhirError(400, "invalid", f"the body is not JSON: {exc}") from None
        if not isinstance(resource, dict) or resource.get("resourceType") != "Parameters":
            kind = resource.get("resourceType") if isinstance(resource, dict) else None
            raise FhirError(
                400, "invalid", f"POST a Parameters resource, not {kind or 'this JSON'}"
            )
        items = resource.get("parameter", [])
        if not isinstance(items, list):
            raise FhirError(400, "invalid", "Parameters.parameter must be a list")
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise FhirError(400, "invalid", "each parameter needs a name")
            found.values.setdefault(item["name"], []).append(_value(item))
        return found

    def all(self, name: str) -> list[Any]:
        return self.values.get(name, [])

    def get(self, *names: str) -> Any:
        """The one value of the first of ``names`` given (``None``: none given); a parameter
        given twice is an error."""
        for name in names:
            values = self.values.get(name, [])
            if len(values) > 1:
                raise FhirError(400, "invalid", f"give the parameter {name!r} once", None, name)
            if values:
                return values[0]
        return None

    def text(self, *names: str) -> str | None:
        value = self.get(*names)
        if value is None:
            return None
        if not isinstance(value, str):
            raise FhirError(400, "invalid", f"the parameter {names[0]!r} must be text")
        return value

    def coding(self, *names: str) -> dict[str, Any] | None:
        value = self.get(*names)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise FhirError(400, "invalid", f"the parameter {names[0]!r} must be a Coding")
        return value

    def flag(self, name: str) -> bool:
        value = self.get(name)
        if value is None or isinstance(value, bool):
            return bool(value)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise FhirError(400, "invalid", f"the parameter {name!r} must be true or false")

    def count(self, name: str, default: int, largest: int) -> int:
        value = self.get(name)
        if value is None:
            return default
        if isinstance(value, str) and value.isdigit() and len(value) <= 10:
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= largest:
            raise FhirError(
                400, "invalid", f"the parameter {name!r} must be a whole number from 0 to {largest}"
            )
        return value


def _value(item: Mapping[str, Any]) -> Any:
    for key in _TEXT_KEYS:
        if key in item:
            value = item[key]
            if not isinstance(value, str):
                raise FhirError(400, "invalid", f"{item['name']}: {key} must be a string")
            return value
    if "valueBoolean" in item:
        return bool(item["valueBoolean"])
    if "valueInteger" in item:
        return item["valueInteger"]
    if "valueCoding" in item:
        value = item["valueCoding"]
        if not isinstance(value, dict):
            raise FhirError(400, "invalid", f"{item['name']}: valueCoding must be an object")
        return value
    if "valueCodeableConcept" in item:
        value = item["valueCodeableConcept"]
        codings = value.get("coding") if isinstance(value, dict) else None
        if not isinstance(codings, list) or not codings or not isinstance(codings[0], dict):
            raise FhirError(400, "invalid", f"{item['name']}: a CodeableConcept needs a coding")
        return codings[0]
    raise FhirError(400, "not-supported", f"parameter {item['name']!r}: unsupported value type")
