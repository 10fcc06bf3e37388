"""FHIR requests to resources: the REST paths under a version's base (``metadata``, the
operations, read and search of ``CodeSystem``, ``ValueSet`` and ``ConceptMap``), answered
from a :class:`~ontomap.fhir.source.TerminologySource`.

:func:`handle` is what a worker of ``ontomap serve`` runs for each FHIR request: it takes the
request's parts (method, path below the base, URL parameters, body) and gives the HTTP status
and the resource. It never raises for a bad request: every error is an ``OperationOutcome``.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import Any

from ontomap import __version__
from ontomap.errors import OntomapError, StoreError
from ontomap.fhir.operations import (
    code_systems,
    expand,
    lookup_code,
    now,
    translate,
    validate_code,
    value_set_attribute,
    value_set_resource,
)
from ontomap.fhir.resources import (
    FHIR_VERSIONS,
    MAX_COUNT,
    OIFM_SYSTEM,
    VALUE_SET_NAMESPACE,
    FhirError,
    FhirVersion,
    Params,
    system_uri,
)
from ontomap.fhir.source import TerminologySource
from ontomap.mappings import MappingSet, build_mapping_set, recorded_files, source_date
from ontomap.mappings.fhir import all_codes_value_set, concept_map
from ontomap.terminology import CodeSystem

__all__ = ["OPERATIONS", "FhirService", "capability_statement", "terminology_capabilities"]

#: (resource type, operation) → the HL7 OperationDefinition it implements.
OPERATIONS: dict[tuple[str, str], str] = {
    ("CodeSystem", "lookup"): "http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup",
    ("CodeSystem", "validate-code"): (
        "http://hl7.org/fhir/OperationDefinition/CodeSystem-validate-code"
    ),
    ("ValueSet", "expand"): "http://hl7.org/fhir/OperationDefinition/ValueSet-expand",
    ("ValueSet", "validate-code"): "http://hl7.org/fhir/OperationDefinition/ValueSet-validate-code",
    ("ConceptMap", "translate"): "http://hl7.org/fhir/OperationDefinition/ConceptMap-translate",
}
_TYPES = ("CodeSystem", "ValueSet", "ConceptMap")


def capability_statement(version: FhirVersion) -> dict[str, Any]:
    """The server's ``CapabilityStatement``: read and search of the three terminology
    resources and their operations, JSON only."""
    resources = []
    for kind in _TYPES:
        resources.append(
            {
                "type": kind,
                "interaction": [{"code": "read"}, {"code": "search-type"}],
                "searchParam": [{"name": "url", "type": "uri"}],
                "operation": [
                    {"name": op, "definition": definition}
                    for (of, op), definition in OPERATIONS.items()
                    if of == kind
                ],
            }
        )
    statement: dict[str, Any] = {
        "resourceType": "CapabilityStatement",
        "id": "ontomap",
        "name": "OntomapTerminologyServer",
        "title": "ontomap terminology server",
        "status": "active",
        "date": now(),
        "publisher": "ontomap",
        "kind": "instance",
        "instantiates": ["http://hl7.org/fhir/CapabilityStatement/terminology-server"],
        "software": {"name": "ontomap", "version": __version__},
        "implementation": {
            "description": "RadLex, SNOMED CT, LOINC, GAMUTS, RadElement and OIFM codes of "
            "Open Imaging Finding Models, and the crosswalk derived from them (read-only)"
        },
        "fhirVersion": FHIR_VERSIONS[version],
        "format": ["application/fhir+json", "json"],
        "rest": [{"mode": "server", "resource": resources}],
    }
    return statement


def terminology_capabilities(version: FhirVersion) -> dict[str, Any]:
    """The server's ``TerminologyCapabilities`` (``metadata?mode=terminology``)."""
    systems: list[dict[str, Any]] = [{"uri": OIFM_SYSTEM}]
    systems += [{"uri": system_uri(s)} for s in code_systems()]
    if version == "R5":  # R5 says how much of each system the server has
        for found in systems:
            found["content"] = "complete" if found["uri"] == OIFM_SYSTEM else "fragment"
    return {
        "resourceType": "TerminologyCapabilities",
        "id": "ontomap",
        "name": "OntomapTerminologyCapabilities",
        "status": "active",
        "date": now(),
        "kind": "instance",
        "software": {"name": "ontomap", "version": __version__},
        "codeSystem": systems,
        "expansion": {
            "hierarchical": False,
            "paging": True,
            "parameter": [{"name": n} for n in ("filter", "count", "offset")],
        },
        "validateCode": {"translations": False},
        "translation": {"needsMap": False},
        "closure": {"translation": False},
    }


def _bundle(resources: list[dict[str, Any]], total: int) -> dict[str, Any]:
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": total}
    if resources:
        bundle["entry"] = [{"resource": r, "search": {"mode": "match"}} for r in resources]
    return bundle


class FhirService:
    """Answers FHIR requests from one read-only store (keep one per store generation)."""

    def __init__(self, source: TerminologySource) -> None:
        self.source = source

    # -------------------------------------------------------------- resources

    @cached_property
    def _mapping_sets(self) -> dict[str, MappingSet]:
        """The mapping sets behind the ConceptMaps, by ConceptMap URL: all systems, then each
        pair of systems with mappings, both ways."""
        store = self.source.store
        if store is None:
            raise FhirError(501, "not-supported", "the ConceptMaps need a local store")
        try:
            date = source_date(recorded_files(store))
        except OntomapError:
            date = None
        whole = build_mapping_set(store, mapping_date=date)
        found = {whole.id: whole}
        for x, y in whole.system_pairs:
            for a, b in ((x, y), (y, x)):
                mapping_set = build_mapping_set(store, a, b, mapping_date=date)
                found[mapping_set.id] = mapping_set
        return found

    def concept_maps(self, version: FhirVersion) -> list[dict[str, Any]]:
        return [concept_map(m, version) for m in self._mapping_sets.values()]

    def code_system(self, system: CodeSystem | None) -> dict[str, Any]:
        """A ``CodeSystem`` resource that names a system this server answers for; its codes
        are not listed (``content`` ``not-present``); ``count`` is the codes the models use."""
        if system is None:
            return {
                "resourceType": "CodeSystem",
                "id": "oifm",
                "url": OIFM_SYSTEM,
                "name": "OIFM",
                "title": "Open Imaging Finding Model identifiers",
                "status": "active",
                "description": "The IDs of the findings (OIFM_...), attributes (OIFMA_...) and "
                "choice values (OIFMA_....N) of the finding models this server holds.",
                "caseSensitive": True,
                "content": "not-present",
            }
        count = len(self.source.used_codes(system))
        return {
            "resourceType": "CodeSystem",
            "id": system.prefix,
            "url": system_uri(system),
            "name": "".join(ch for ch in system.label.title() if ch.isalnum()),
            "title": system.label,
            "status": "active",
            "description": f"{system.label} as used by the OIFM models this server holds "
            f"({count:,} codes); $lookup and $validate-code answer from the models and from any "
            "loaded release.",
            "caseSensitive": True,
            "valueSet": all_codes_value_set(system_uri(system)),
            "content": "not-present",
            "count": count,
        }

    def _code_systems(self) -> list[dict[str, Any]]:
        return [self.code_system(None), *(self.code_system(s) for s in code_systems())]

    def read(self, version: FhirVersion, kind: str, resource_id: str) -> dict[str, Any]:
        if kind == "CodeSystem":
            found = [r for r in self._code_systems() if r["id"] == resource_id]
        elif kind == "ConceptMap":
            found = [r for r in self.concept_maps(version) if r["id"] == resource_id]
        else:
            found = [
                value_set_resource(self.source, version, all_codes_value_set(system_uri(s)))
                for s in code_systems()
                if f"all-{s.prefix}" == resource_id
            ]
            attribute = value_set_attribute(resource_id)
            if not found and attribute in set(self.source.choice_attributes):
                url = VALUE_SET_NAMESPACE + attribute
                found = [value_set_resource(self.source, version, url)]
        if not found:
            raise FhirError(404, "not-found", f"no {kind} with id {resource_id!r} on this server")
        return found[0]

    def search(self, version: FhirVersion, kind: str, params: Params) -> dict[str, Any]:
        url = params.text("url")
        count = params.count("_count", 50, MAX_COUNT)
        offset = params.count("_offset", 0, 10**9)
        bare = url.split("|", 1)[0] if url else None
        if kind == "CodeSystem":
            found = [r for r in self._code_systems() if bare is None or r["url"] == bare]
            return _bundle(found[offset : offset + count], len(found))
        if kind == "ConceptMap":
            found = [r for r in self.concept_maps(version) if bare is None or r["url"] == bare]
            return _bundle(found[offset : offset + count], len(found))
        implicit = [all_codes_value_set(system_uri(s)) for s in code_systems()]
        if bare is not None:
            if bare in implicit:
                return _bundle([value_set_resource(self.source, version, bare)], 1)
            if bare.startswith(VALUE_SET_NAMESPACE):
                attribute = bare[len(VALUE_SET_NAMESPACE) :]
                if attribute in set(self.source.choice_attributes):
                    return _bundle([value_set_resource(self.source, version, bare)], 1)
            return _bundle([], 0)
        everything = [*implicit, *(VALUE_SET_NAMESPACE + i for i in self.source.choice_attributes)]
        page = everything[offset : offset + count]
        resources = [value_set_resource(self.source, version, u) for u in page]
        return _bundle(resources, len(everything))

    # -------------------------------------------------------------- requests

    def handle(
        self,
        version: FhirVersion,
        method: str,
        path: str,
        query: Iterable[tuple[str, str]],
        body: bytes | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """The (HTTP status, resource) answering a request for ``path`` below the base of
        ``version`` (``metadata``, ``ConceptMap/$translate``, ``ValueSet/ID``...)."""
        try:
            return 200, self._route(version, method, path.strip("/"), list(query), body)
        except FhirError as exc:
            return exc.status, exc.outcome()
        except StoreError as exc:
            return 500, FhirError(500, "exception", str(exc)).outcome()
        except OntomapError as exc:
            return 400, FhirError(400, "invalid", str(exc)).outcome()

    def _route(
        self,
        version: FhirVersion,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        body: bytes | None,
    ) -> dict[str, Any]:
        parts = path.split("/") if path else []
        if parts == ["metadata"]:
            _only(method, ("GET",))
            mode = dict(query).get("mode")
            if mode == "terminology":
                return terminology_capabilities(version)
            return capability_statement(version)
        if not parts or parts[0] not in _TYPES or len(parts) > 3:
            raise FhirError(
                404,
                "not-found",
                f"no such path {path!r}: this server answers metadata, CodeSystem, ValueSet "
                "and ConceptMap (read, search, $lookup, $validate-code, $expand, $translate)",
            )
        kind = parts[0]
        operation = next((p for p in parts[1:] if p.startswith("$")), None)
        if operation is None:
            _only(method, ("GET",))
            if len(parts) == 1:
                return self.search(version, kind, Params.from_query(query))
            if len(parts) == 2:
                return self.read(version, kind, parts[1])
            raise FhirError(404, "not-found", f"no such path {path!r}")
        name = operation[1:]
        if (kind, name) not in OPERATIONS:
            raise FhirError(
                400,
                "not-supported",
                f"{kind} has no operation ${name} here; it has "
                + ", ".join(f"${op}" for (of, op) in OPERATIONS if of == kind),
            )
        _only(method, ("GET", "POST"))
        params = (
            Params.from_body(body or b"", query) if method == "POST" else Params.from_query(query)
        )
        if len(parts) == 3:  # an instance-level operation: the resource names the url
            instance = self.read(version, kind, parts[1])
            params.values.setdefault("url", [instance["url"]])
        if name == "translate":
            return translate(self.source, version, params)
        if name == "lookup":
            return lookup_code(self.source, version, params)
        if name == "expand":
            return expand(self.source, version, params)
        return validate_code(self.source, version, params, kind)


def _only(method: str, allowed: tuple[str, ...]) -> None:
    if method not in allowed:
        raise FhirError(
            405, "not-supported", f"use {' or '.join(allowed)} here, not {method} (read-only)"
        )
