"""FHIR terminology operations over a store: ``$translate``, ``$lookup``, ``$validate-code``,
``$expand``, the CapabilityStatement and the ``CodeSystem``, ``ValueSet`` and ``ConceptMap``
resources behind them, R4 and R5, as plain JSON dicts.

>>> from ontomap.store import Store
>>> from ontomap.fhir import FhirService, Params, TerminologySource
>>> with Store("./kg", read_only=True) as store:  # doctest: +SKIP
...     service = FhirService(TerminologySource(store))
...     status, answer = service.handle(
...         "R5", "GET", "ConceptMap/$translate",
...         [("sourceSystem", "http://radlex.org"), ("sourceCode", "RID5791"),
...          ("targetSystem", "http://snomed.info/sct")])

``ontomap serve`` answers these under ``/fhir/r4`` and ``/fhir/r5``; ``ontomap translate``
prints the same ``$translate`` answer. See docs/fhir.md.
"""

from ontomap.fhir.operations import expand, lookup_code, translate, validate_code
from ontomap.fhir.resources import (
    FHIR_VERSIONS,
    OIFM_SYSTEM,
    VALUE_SET_NAMESPACE,
    FhirError,
    FhirVersion,
    Params,
)
from ontomap.fhir.server import FhirService, capability_statement, terminology_capabilities
from ontomap.fhir.source import OifmEntity, TerminologySource

__all__ = [
    "FHIR_VERSIONS",
    "OIFM_SYSTEM",
    "VALUE_SET_NAMESPACE",
    "FhirError",
    "FhirService",
    "FhirVersion",
    "OifmEntity",
    "Params",
    "TerminologySource",
    "capability_statement",
    "expand",
    "lookup_code",
    "terminology_capabilities",
    "translate",
    "validate_code",
]
