"""``ontomap reason``: check an OWL ontology with HermiT."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ontomap.cli import EXIT_INPUT_ERRORS, handle_errors, main
from ontomap.cli.options import is_quiet, plural, progress_enabled, verbosity_options
from ontomap.reason import reason

#: ``reason`` exits 1 for an inconsistent ontology or an unsatisfiable class.
EXIT_PROBLEMS = EXIT_INPUT_ERRORS


@main.command("reason")
@click.argument("ontology", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--java",
    metavar="PATH",
    envvar="ONTOMAP_JAVA",
    show_envvar=True,
    help="Java executable to run HermiT with. Default: java on PATH, else $JAVA_HOME/bin/java.",
)
@click.option(
    "--java-memory",
    "memory_mb",
    type=click.IntRange(min=64),
    metavar="MB",
    help="Java heap for HermiT, in MB (owlready2's default: 2000).",
)
@verbosity_options
@handle_errors
def reason_command(ontology: Path, java: str | None, memory_mb: int | None) -> None:
    """Check an OWL ontology with the HermiT reasoner (through owlready2).

    Reports whether ONTOLOGY (RDF/XML, Turtle or N-Triples, such as the output of
    `ontomap export -f owl`) is consistent and lists its unsatisfiable classes. HermiT runs on
    Java: install a Java runtime first (Debian/Ubuntu: apt-get install default-jre-headless).

    \b
    Examples:
      ontomap export defs/ -o findings.owl && ontomap reason findings.owl
      ontomap export defs/ -f owl-ttl -o findings.owl.ttl && ontomap reason findings.owl.ttl
      ontomap reason findings.owl --java /usr/lib/jvm/java-17-openjdk-amd64/bin/java

    \b
    Exit codes: 0 consistent and every class satisfiable; 1 inconsistent, or some class
    unsatisfiable; 2 could not reason (Java or owlready2 missing, file unreadable, HermiT
    failed). owl:imports are not followed: HermiT sees ONTOLOGY only.
    """
    from ontomap.progress import Activity

    with Activity(f"reasoning on {ontology} with HermiT", enabled=progress_enabled()):
        report = reason(ontology, java=java, memory_mb=memory_mb)
    took = f"HermiT, {report.seconds:.1f} s"
    if not report.consistent:
        click.echo(f"{ontology}: inconsistent ({took})")
        sys.exit(EXIT_PROBLEMS)
    count = len(report.unsatisfiable)
    if count:
        click.echo(
            f"{ontology}: consistent, but "
            f"{plural(count, 'unsatisfiable class', 'unsatisfiable classes')} "
            f"of {report.classes:,} ({took}):"
        )
        for iri, label in report.unsatisfiable:
            click.echo(f"  <{iri}>" + (f" {label}" if label else ""))
        sys.exit(EXIT_PROBLEMS)
    if not is_quiet():
        classes = plural(report.classes, "class", "classes")
        click.echo(f"{ontology}: consistent, {classes}, none unsatisfiable ({took})")
