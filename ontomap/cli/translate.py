"""``ontomap translate``: a code's mappings to another code system, as FHIR ``$translate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ontomap.cli import EXIT_NOT_FOUND, fail, handle_errors, main
from ontomap.cli.options import (
    columns,
    endpoint_option,
    open_target,
    store_option,
    system_key,
    terminal_width,
    timeout_option,
    verbosity_options,
)
from ontomap.lookup import parse_code
from ontomap.terminology import default_registry


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


def render_table(answer: dict[str, Any], version: str, width: int | None = None) -> str:
    """The ``$translate`` answer for people: one line per match, fitting in ``width``
    characters where it is given (long cells cut with ``…``)."""
    relation = "equivalence" if version == "R4" else "relationship"
    message = next(p["valueString"] for p in answer["parameter"] if p["name"] == "message")
    lines = [message]
    matches = [p for p in answer["parameter"] if p["name"] == "match"]
    rows = []
    for match in matches:
        concept = _part(match, "concept")
        found = _part(match, "source") or concept
        template = " TEMPLATE" if _extension(match, "template") else ""
        rows.append(
            [
                str(found["system"]),
                str(found["code"]),
                str(_part(match, relation)),
                str(_extension(match, "contextCount")),
                str(_extension(match, "share")),
                str(_extension(match, "confidence")),
                str(_extension(match, "cardinality") or ""),
                f"{found.get('display', '')}{template}",
            ]
        )
    if rows:
        header = ["system", "code", relation, "contexts", "share", "conf.", "card.", "display"]
        lines.append("")
        lines.extend(columns(header, rows, {3, 4, 5}, width=width, indent="", rule=False))
    return "\n".join(lines)


@main.command("translate")
@click.argument("code")
@click.option(
    "--to",
    metavar="SYSTEM",
    callback=system_key,
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
@verbosity_options
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
    from ontomap.fhir.resources import system_uri

    parsed = parse_code(code)
    query = [
        ("sourceSystem", system_uri(parsed.code_system)),
        ("sourceCode", parsed.code),
    ]
    if to is not None:
        query.append(("targetSystem", system_uri(default_registry().get(to))))
    fhir_version = "R4" if version == "r4" else "R5"
    with open_target(store_path, endpoint, timeout) as backend:
        answer = fhir_translate(TerminologySource(backend), fhir_version, Params.from_query(query))
    found = next(p["valueBoolean"] for p in answer["parameter"] if p["name"] == "result")
    if fmt == "json":
        click.echo(json.dumps(answer, ensure_ascii=False, indent=2))
    elif found:
        click.echo(render_table(answer, fhir_version, terminal_width()))
    if not found:
        message = next(p["valueString"] for p in answer["parameter"] if p["name"] == "message")
        fail(message, EXIT_NOT_FOUND)
