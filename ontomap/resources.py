"""Where the bundled ontology files live, installed or in a source checkout."""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def ontologies_dir() -> Path:
    """The folder holding ``oifm.ttl``, ``terminologies.toml`` and the bundled examples.

    An installed wheel carries it as ``ontomap/ontologies``; a source checkout (including an
    editable install) has it beside the package, at the project root.
    """
    package = Path(__file__).resolve().parent
    for candidate in (package / "ontologies", package.parent / "ontologies"):
        if (candidate / "oifm.ttl").is_file():
            return candidate
    raise FileNotFoundError(
        f"ontomap's ontologies folder is missing (looked in {package / 'ontologies'} and "
        f"{package.parent / 'ontologies'}); reinstall ontomap"
    )


def examples_dir() -> Path:
    """The folder of the example finding models that ship with ontomap (``ontomap build
    --examples``): ``examples/`` of :func:`ontologies_dir`."""
    folder = ontologies_dir() / "examples"
    if not folder.is_dir():
        raise FileNotFoundError(f"ontomap's examples folder {folder} is missing; reinstall ontomap")
    return folder
