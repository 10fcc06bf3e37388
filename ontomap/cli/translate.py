"""``ontomap translate``: a code's mappings to another code system, as FHIR ``$translate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ontomap.cli import EXIT_NOT_FOUND, fail, handle_errors, main
from ontomap.cli.options import endpoint_option, open_target, store_option, timeout_option
from ontomap.errors import UnknownCodeSystemError
from ontomap.lookup import CodeLookupError, parse_code
from ontomap.terminology import default_registry


def _system(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return default_registry().get(value).key
    except UnknownCodeSystemError as exc:
        raise click.BadParameter(str(exc)) from None


def _part(match: dict[str, Any], name: str) -> Any:
    for part in match["part"]:
        if part["name"] == name:
            return next(v for k, v in part.items() if k.startswith("value"))
    return None


def _extension(match: dict[str, Any], name: str) -> Any:
    for extension in match.get("extension", ()):
        if extension["url"].endswith("#" + name):
            return next(v for k, v in extension.items() if k.startswith("value"))
    return None


def render_table(answer: dict[str, Any], version: str) -> str:
    """The ``$translate`` answer for people: one line per match."""
    relation = "equivalence" if version == "R4" else "relationship"
    message = next(p["valueString"] for p in answer["parameter"] if p["name"] == "message")
    lines = [message]
    matches = [p for p in answer["parameter"] if p["name"] == "match"]
    if matches:
        lines.append("")
        lines.append(
            f"{'system':<24} {'code':<18} {relation:<12} {'contexts':>8} {'share':>6} "
            f"{'conf.':>6} {'card.':<5} display"
        )
    for match in matches:
        concept = _part(match, "concept")
        found = _part(match, "source") or concept
        template = " TEMPLATE" if _extension(match, "template") else ""
        lines.append(
            f"{found['system']:<24} {found['code']:<18} {_part(match, relation):<12} "
            f"{_extension(match, 'contextCount'):>8} {_extension(match, 'share'):>6} "
            f"{_extension(match, 'confidence'):>6} {_extension(match, 'cardinality') or '':<5} "
            f"{found.get('display', '')}{template}"
        )
    return "\n".join(lines)


@main.command("translate")
@click.argument("code")
@click.option(
    "--to",
    metavar="SYSTEM",
    callback=_system,
    help=f"The code system to translate to ({', '.join(default_registry().keys)}); "
    "default: every other system.",
)
@click.option(
    "--fhir",
    "version",
    type=click.Choice(["r4", "r5"]),
    default="r5",
    show_default=True,
    help="The FHIR version of the answer (R4: equivalence, R5: relationship).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table for people; json: the FHIR Parameters resource that "
    "'ontomap serve' answers to ConceptMap/$translate.",
)
@store_option
@endpoint_option
@timeout_option
@handle_errors
def translate(
    code: str,
    to: str | None,
    version: str,
    fmt: str,
    store_path: Path | None,
    endpoint: str | None,
    timeout: float | None,
) -> None:
    """Translate CODE to the code system --to: the mappings derived from the OIFM index codes
    (the pairs that 'ontomap mappings' writes as ConceptMaps), answered exactly as FHIR
    ConceptMap/$translate on 'ontomap serve' (/fhir/r4, /fhir/r5) answers them.

    CODE is written as for 'ontomap lookup' (RADLEX:RID5791, "SNOMED 263768009",
    http://snomed.info/sct|263768009, RID5791). Each match carries its evidence (contexts,
    template, share, confidence, cardinality): evidence, not equivalence.

    \b
    Examples:
      ontomap translate RADLEX:RID5791 --to SNOMED --store ./kg
      ontomap translate RID5791 --to SNOMED --format json --fhir r4

    \b
    Exit codes: 0 at least one mapping, 2 usage error, 3 no mapping (or an unknown,
    malformed or unused code), 4 store or endpoint error.
    """
    from ontomap.fhir import Params, TerminologySource
    from ontomap.fhir import translate as fhir_translate
    from ontomap.fhir.resources import FhirError, system_uri

    try:
        parsed = parse_code(code)
    except CodeLookupError as exc:
        fail(str(exc), EXIT_NOT_FOUND)
        return
    query = [
        ("sourceSystem", system_uri(parsed.code_system)),
        ("sourceCode", parsed.code),
    ]
    if to is not None:
        query.append(("targetSystem", system_uri(default_registry().get(to))))
    fhir_version = "R4" if version == "r4" else "R5"
    with open_target(store_path, endpoint, timeout) as backend:
        try:
            answer = fhir_translate(
                TerminologySource(backend), fhir_version, Params.from_query(query)
            )
        except FhirError as exc:
            fail(exc.message, EXIT_NOT_FOUND)
            return
    found = next(p["valueBoolean"] for p in answer["parameter"] if p["name"] == "result")
    if fmt == "json":
        click.echo(json.dumps(answer, ensure_ascii=False, indent=2))
    elif found:
        click.echo(render_table(answer, fhir_version))
    if not found:
        message = next(p["valueString"] for p in answer["parameter"] if p["name"] == "message")
        fail(message, EXIT_NOT_FOUND)
