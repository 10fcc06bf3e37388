"""The code-system registry: which terminologies ontomap knows and how their codes are named.

The registry is data (``ontologies/terminologies.toml``, plus the user's own file: see
:func:`user_registry_path`); this module reads it and answers questions about systems and
codes. Unknown systems are not an error here: they get a generic
namespace so that no index code is ever dropped.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import quote

from ontomap.errors import RegistryError, UnknownCodeSystemError
from ontomap.resources import ontologies_dir

#: Namespace under which codes of systems without an RDF namespace of their own are named.
GENERIC_CODE_NAMESPACE = "https://w3id.org/ontomap/code/"
#: Namespace of the ``skos:ConceptScheme`` of every code system.
SCHEME_NAMESPACE = "https://w3id.org/ontomap/scheme/"


@dataclass(frozen=True, slots=True)
class CodeSystem:
    """One terminology: its key (``RADLEX``, ``SNOMED``...), naming rules and code syntax."""

    key: str
    label: str
    prefix: str
    namespace: str
    fhir_system: str | None
    pattern: str | None
    check_digit: str | None = None
    aliases: tuple[str, ...] = ()
    own_namespace: bool = True
    known: bool = True

    @property
    def scheme_iri(self) -> str:
        return SCHEME_NAMESPACE + self.key

    def code_iri(self, code: str) -> str:
        return self.namespace + quote(code, safe="-._~")

    def curie(self, code: str) -> str:
        return f"{self.prefix}:{code}"

    def is_well_formed(self, code: str) -> bool:
        """Whether ``code`` matches the system's syntax and check digit (where one is defined)."""
        if self.pattern is not None and not re.fullmatch(self.pattern, code):
            return False
        if self.check_digit == "verhoeff":
            return verhoeff_valid(code)
        if self.check_digit == "mod10":
            return loinc_check_valid(code)
        return True


def _normal(name: str) -> str:
    return re.sub(r"[\s_-]+", "", name.strip()).upper()


class Registry:
    """All known code systems, looked up by key or alias (case- and separator-insensitive)."""

    __slots__ = ("_index", "_resolved", "systems")

    def __init__(self, systems: tuple[CodeSystem, ...]) -> None:
        self.systems = systems
        self._index: dict[str, CodeSystem] = {}
        for system in systems:
            for name in (system.key, system.prefix, *system.aliases):
                self._index[_normal(name)] = system
        self._resolved: dict[str, CodeSystem] = {}

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.systems)

    def find(self, name: str) -> CodeSystem | None:
        """The known system called ``name`` (key or alias), or ``None``."""
        return self._index.get(_normal(name))

    def get(self, name: str) -> CodeSystem:
        """The known system called ``name``; raises :class:`UnknownCodeSystemError` otherwise."""
        system = self.find(name)
        if system is None:
            raise UnknownCodeSystemError(name, self.keys)
        return system

    def resolve(self, name: str) -> CodeSystem:
        """The system called ``name``; an unknown name gets a generic system (never dropped)."""
        system = self._resolved.get(name)
        if system is None:
            system = self.find(name) or _generic_system(name)
            self._resolved[name] = system
        return system

    def by_prefix(self, prefix: str) -> CodeSystem | None:
        """The known system whose CURIE prefix is ``prefix`` (case-insensitive), or ``None``."""
        for system in self.systems:
            if system.prefix == prefix.lower():
                return system
        return None


@cache
def _generic_system(name: str) -> CodeSystem:
    key = re.sub(r"[^A-Za-z0-9]+", "_", name.strip()).strip("_").upper() or "UNKNOWN"
    return CodeSystem(
        key=key,
        label=name.strip(),
        prefix=key.lower(),
        namespace=f"{GENERIC_CODE_NAMESPACE}{key}/",
        fhir_system=None,
        pattern=None,
        own_namespace=False,
        known=False,
    )


#: Environment variable naming a user registry file (see :func:`user_registry_path`).
REGISTRY_ENV = "ONTOMAP_REGISTRY"


def user_registry_path() -> Path | None:
    """The user's own registry file: ``$ONTOMAP_REGISTRY``, else
    ``$XDG_CONFIG_HOME/ontomap/terminologies.toml`` (``~/.config/…`` without XDG_CONFIG_HOME)
    where that file exists; ``None`` when there is none."""
    named = os.environ.get(REGISTRY_ENV)
    if named:
        return Path(named)
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    path = Path(config) / "ontomap" / "terminologies.toml"
    return path if path.is_file() else None


def _systems(path: Path) -> dict[str, CodeSystem]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise RegistryError(f"cannot read the registry {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"{path}: not TOML: {exc}") from None
    systems: dict[str, CodeSystem] = {}
    for key, entry in (data.get("systems") or {}).items():
        missing = [k for k in ("label", "prefix", "namespace") if k not in entry]
        if missing:
            raise RegistryError(f"{path}: [systems.{key}] needs {', '.join(missing)}")
        systems[key] = CodeSystem(
            key=key,
            label=entry["label"],
            prefix=entry["prefix"],
            namespace=entry["namespace"],
            fhir_system=entry.get("fhir_system"),
            pattern=entry.get("pattern"),
            check_digit=entry.get("check_digit"),
            aliases=tuple(entry.get("aliases", ())),
            own_namespace=entry.get("own_namespace", True),
        )
    return systems


@cache
def default_registry() -> Registry:
    """The registry shipped in ``ontologies/terminologies.toml``, with the systems of the
    user's registry file (:func:`user_registry_path`) added, or replacing shipped ones of the
    same key."""
    systems = _systems(ontologies_dir() / "terminologies.toml")
    user = user_registry_path()
    if user is not None:
        systems.update(_systems(user))
    return Registry(tuple(systems.values()))


# Verhoeff tables (dihedral group D5), as used by SNOMED CT identifiers.
_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


def verhoeff_valid(digits: str) -> bool:
    """Whether a string of digits ends in a correct Verhoeff check digit."""
    if not digits.isdigit():
        return False
    check = 0
    for i, char in enumerate(reversed(digits)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[i % 8][int(char)]]
    return check == 0


def loinc_check_valid(code: str) -> bool:
    """Whether a LOINC code has a correct mod-10 check digit.

    The rule is defined for term codes (``NNNNN-C``); answer (``LA…``), part (``LP…``) and group
    (``LG…``) codes are checked for their syntax only.
    """
    match = re.fullmatch(r"(L[AGP])?([0-9]+)-([0-9])", code)
    if match is None:
        return False
    if match.group(1):
        return True
    body, check = match.group(2), int(match.group(3))
    total = 0
    for i, char in enumerate(reversed(body)):
        digit = int(char)
        if i % 2 == 0:
            digit *= 2
            digit = digit // 10 + digit % 10
        total += digit
    return (10 - total % 10) % 10 == check
