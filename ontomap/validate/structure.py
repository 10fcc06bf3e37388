"""Structural checks: the OIFM JSON schema's rules, on what a file says (``structure/…``).

They run on a record's raw JSON (or, for Markdown, on the model in the JSON shape) and report
every problem with its line, where a reader stops at the first one. Limits are those of the OIFM
JSON schema (see :mod:`ontomap.validate.rules`).
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from ontomap.model import OIFM_ID_PATTERN, OIFMA_ID_PATTERN
from ontomap.readers.common import shown
from ontomap.readers.json_reader import REFERENCE_READING
from ontomap.validate.locate import MarkdownLocator
from ontomap.validate.locate import Path as ItemPath
from ontomap.validate.records import Record
from ontomap.validate.report import Finding
from ontomap.validate.rules import (
    ATTRIBUTE_DESCRIPTION_MAX,
    ATTRIBUTE_DESCRIPTION_MIN,
    ATTRIBUTE_NAME_MAX,
    ATTRIBUTE_NAME_MIN,
    FINDING_DESCRIPTION_MIN,
    FINDING_NAME_MIN,
    MIN_CHOICE_VALUES,
    RULES,
    VALUE_NAME_MIN,
)

_OIFM = re.compile(OIFM_ID_PATTERN)
_OIFMA = re.compile(OIFMA_ID_PATTERN)
_VALUE_CODE = re.compile(rf"(?P<attribute>{OIFMA_ID_PATTERN})\.(?P<n>[0-9]+)")

#: The fields the readers know, per kind of object; any other is reported as unknown.
MODEL_FIELDS = frozenset(
    {
        "oifm_id",
        "name",
        "description",
        "synonyms",
        "tags",
        "contributors",
        "attributes",
        "index_codes",
        "anatomic_locations",
    }
)
ATTRIBUTE_FIELDS = frozenset({"oifma_id", "name", "description", "type", "required", "index_codes"})
CHOICE_FIELDS = ATTRIBUTE_FIELDS | {"values", "max_selected"}
NUMERIC_FIELDS = ATTRIBUTE_FIELDS | {"minimum", "maximum", "unit"}
VALUE_FIELDS = frozenset({"value_code", "name", "description", "index_codes"})
CODE_FIELDS = frozenset({"system", "code", "display"})
PERSON_FIELDS = frozenset({"name", "email", "github_username", "organization_code", "url"})
ORGANIZATION_FIELDS = frozenset({"name", "code", "url"})

_JSON_TYPES = {str: "a string", list: "a list", dict: "an object", bool: "true or false"}


class _Checker:
    """Walks one record's data, collecting findings with their lines."""

    def __init__(self, record: Record) -> None:
        self.record = record
        self.findings: list[Finding] = []

    def emit(self, rule: str, path: ItemPath, entity: str | None, message: str) -> None:
        self.findings.append(
            RULES[rule].finding(
                message, file=self.record.file, line=self.record.line(path), entity=entity
            )
        )

    # -- typed access ------------------------------------------------------------------------

    def field(
        self,
        obj: dict[str, Any],
        key: str,
        kind: type,
        path: ItemPath,
        entity: str | None,
        where: str,
        required: bool = False,
    ) -> Any:
        """``obj[key]`` if it has the JSON type ``kind``; reports a missing or mistyped field."""
        value = obj.get(key)
        if value is None:
            if required:
                self.emit(
                    "structure/required-field",
                    _anchor(obj, path),
                    entity,
                    f'{where} has no "{key}"',
                )
            return None
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            self.emit(
                "structure/field-type",
                (*path, key),
                entity,
                f'"{key}" of {where} must be {_JSON_TYPES.get(kind, kind.__name__)}, '
                f"not {_json_type(value)}",
            )
            return None
        return value

    def unknown(
        self, obj: dict[str, Any], known: frozenset[str], path: ItemPath, entity: str | None
    ) -> None:
        if isinstance(self.record.locator, MarkdownLocator):
            return
        for key in obj:
            if key not in known:
                close = difflib.get_close_matches(key, sorted(known), n=1)
                guess = f'did you mean "{close[0]}"? ' if close else ""
                self.emit(
                    "structure/unknown-field",
                    (*path, key),
                    entity,
                    f'unknown field "{key[:60]}{"…" * (len(key) > 60)}": {guess}ontomap does '
                    f"not read it (known here: {', '.join(sorted(known))})",
                )

    def length(
        self,
        rule: str,
        text: str,
        path: ItemPath,
        entity: str | None,
        what: str,
        low: int,
        high: int | None = None,
    ) -> None:
        size = len(text.strip())
        if size < low or (high is not None and size > high):
            limit = f"{low}-{high}" if high is not None else f"at least {low}"
            self.emit(
                rule,
                path,
                entity,
                f"{what} has {size:,} characters ({limit} allowed): {shown(text)}",
            )

    # -- the model ---------------------------------------------------------------------------

    def model(self, data: dict[str, Any]) -> None:
        oifm_id = data.get("oifm_id")
        entity = oifm_id if isinstance(oifm_id, str) else None
        if entity is None:
            what = "no oifm_id" if oifm_id is None else f"oifm_id is {_json_type(oifm_id)}"
            self.emit("structure/finding-id", ("oifm_id",), None, f"the finding has {what}")
        elif not _OIFM.fullmatch(oifm_id):
            self.emit(
                "structure/finding-id",
                ("oifm_id",),
                entity,
                f"invalid OIFM ID {shown(oifm_id)}: expected OIFM_XXX_NNNNNN ({OIFM_ID_PATTERN})",
            )
        where = f"finding {entity}" if entity else "the finding"
        self.unknown(data, MODEL_FIELDS, (), entity)
        name = self.field(data, "name", str, (), entity, where, required=True)
        if name is not None:
            self.length(
                "structure/name-length", name, ("name",), entity, "the name", FINDING_NAME_MIN
            )
        description = self.field(data, "description", str, (), entity, where, required=True)
        if description is not None:
            self.length(
                "structure/description-length",
                description,
                ("description",),
                entity,
                "the description",
                FINDING_DESCRIPTION_MIN,
            )
        for key in ("synonyms", "tags"):
            items = self.field(data, key, list, (), entity, where)
            for i, item in enumerate(items or ()):
                if not isinstance(item, str):
                    self.emit(
                        "structure/field-type",
                        (key, i),
                        entity,
                        f"each of {key} must be a string, not {_json_type(item)}",
                    )
        for i, contributor in enumerate(
            self.field(data, "contributors", list, (), entity, where) or ()
        ):
            self.contributor(contributor, ("contributors", i), entity)
        self.codes(data, "index_codes", (), entity, where)
        self.codes(data, "anatomic_locations", (), entity, where)
        attributes = self.field(data, "attributes", list, (), entity, where, required=True)
        if attributes is None:
            return
        if not attributes:
            self.emit(
                "structure/no-attributes", ("attributes",), entity, f"{where} has no attributes"
            )
        for i, attribute in enumerate(attributes):
            self.attribute(attribute, ("attributes", i), entity)

    def contributor(self, entry: Any, path: ItemPath, entity: str | None) -> None:
        if not isinstance(entry, dict):
            self.emit(
                "structure/field-type",
                path,
                entity,
                f"each contributor must be an object, not {_json_type(entry)}",
            )
            return
        person = any(key in entry for key in ("email", "github_username", "organization_code"))
        self.unknown(entry, PERSON_FIELDS if person else ORGANIZATION_FIELDS, path, entity)
        self.field(entry, "name", str, path, entity, "a contributor", required=True)
        for key in ("email", "github_username", "organization_code", "code", "url"):
            self.field(entry, key, str, path, entity, "a contributor")

    def codes(
        self, obj: dict[str, Any], key: str, path: ItemPath, entity: str | None, where: str
    ) -> None:
        for i, entry in enumerate(self.field(obj, key, list, path, entity, where) or ()):
            here = (*path, key, i)
            if not isinstance(entry, dict):
                self.emit(
                    "structure/field-type",
                    here,
                    entity,
                    f"each of {key} of {where} must be an object with system and code, "
                    f"not {_json_type(entry)}",
                )
                continue
            self.unknown(entry, CODE_FIELDS, here, entity)
            what = f"an index code of {where}"
            self.field(entry, "system", str, here, entity, what, required=True)
            code = entry.get("code")
            if code is None or (isinstance(code, str) and not code.strip()):
                self.emit(
                    "structure/required-field",
                    _anchor(entry, here),
                    entity,
                    f'{what} has no "code"',
                )
            elif not isinstance(code, str | int) or isinstance(code, bool):
                self.emit(
                    "structure/field-type",
                    (*here, "code"),
                    entity,
                    f'"code" of {what} must be a string, not {_json_type(code)}',
                )
            self.field(entry, "display", str, here, entity, what)

    def attribute(self, entry: Any, path: ItemPath, finding: str | None) -> None:
        if not isinstance(entry, dict):
            self.emit(
                "structure/field-type",
                path,
                finding,
                f"each attribute must be an object, not {_json_type(entry)}",
            )
            return
        oifma_id = entry.get("oifma_id")
        entity = oifma_id if isinstance(oifma_id, str) else None
        if entity is None:
            what = (
                "no oifma_id" if oifma_id is None else f"an oifma_id that is {_json_type(oifma_id)}"
            )
            self.emit(
                "structure/attribute-id",
                path if oifma_id is None else (*path, "oifma_id"),
                finding,
                f"attribute {path[-1]} of {f'finding {finding}' if finding else 'the finding'} "
                f"has {what}",
            )
        elif not _OIFMA.fullmatch(oifma_id):
            self.emit(
                "structure/attribute-id",
                (*path, "oifma_id"),
                entity,
                f"invalid OIFMA ID {shown(oifma_id)}: expected OIFMA_XXX_NNNNNN "
                f"({OIFMA_ID_PATTERN})",
            )
        where = f"attribute {entity or path[-1]}"
        kind = entry.get("type")
        if kind is None and not isinstance(self.record.locator, MarkdownLocator):
            self.emit("structure/required-field", path, entity, f'{where} has no "type"')
        elif kind not in ("choice", "numeric", None):
            found = shown(kind) if isinstance(kind, str) else _json_type(kind)
            self.emit(
                "structure/field-type",
                (*path, "type"),
                entity,
                f'"type" of {where} must be "choice" or "numeric", not {found}',
            )
        known = {"choice": CHOICE_FIELDS, "numeric": NUMERIC_FIELDS}.get(
            kind if isinstance(kind, str) else "", CHOICE_FIELDS | NUMERIC_FIELDS
        )
        self.unknown(entry, known, path, entity)
        name = self.field(entry, "name", str, path, entity, where, required=True)
        if name is not None:
            self.length(
                "structure/name-length",
                name,
                (*path, "name"),
                entity,
                f"the name of {where}",
                ATTRIBUTE_NAME_MIN,
                ATTRIBUTE_NAME_MAX,
            )
        description = self.field(entry, "description", str, path, entity, where)
        if description is not None:
            self.length(
                "structure/description-length",
                description,
                (*path, "description"),
                entity,
                f"the description of {where}",
                ATTRIBUTE_DESCRIPTION_MIN,
                ATTRIBUTE_DESCRIPTION_MAX,
            )
        self.field(entry, "required", bool, path, entity, where)
        self.codes(entry, "index_codes", path, entity, where)
        if kind == "choice":
            self.choice(entry, path, entity, where)
        elif kind == "numeric":
            self.numeric(entry, path, entity, where)

    def choice(self, entry: dict[str, Any], path: ItemPath, entity: str | None, where: str) -> None:
        values = self.field(entry, "values", list, path, entity, where, required=True)
        if values is None:
            return
        if len(values) < MIN_CHOICE_VALUES:
            self.emit(
                "structure/too-few-values",
                (*path, "values"),
                entity,
                f"{where} has {len(values)} value{'s' * (len(values) != 1)} "
                f"(a choice needs at least {MIN_CHOICE_VALUES})",
            )
        max_selected = entry.get("max_selected")
        count = len(values)
        at = (*path, "max_selected")
        if max_selected == "all":
            self.emit(
                "structure/max-selected-all",
                at,
                entity,
                f'max_selected of {where} is "all": read as {max(count, 1)}, the number of '
                f"values, {REFERENCE_READING}",
            )
        elif max_selected is not None:
            if isinstance(max_selected, bool) or not isinstance(max_selected, int):
                self.emit(
                    "structure/field-type",
                    at,
                    entity,
                    f'"max_selected" of {where} must be a whole number or "all", '
                    f"not {_json_type(max_selected)}",
                )
            elif max_selected < 0:
                self.emit(
                    "structure/max-selected",
                    at,
                    entity,
                    f"max_selected of {where} is {max_selected}, with {count} values "
                    f"(allowed: 1-{max(count, 1)})",
                )
            elif max_selected == 0:
                self.emit(
                    "structure/max-selected-zero",
                    at,
                    entity,
                    f"max_selected of {where} is 0: read as 1, {REFERENCE_READING}",
                )
            elif count and max_selected > count:
                self.emit(
                    "structure/max-selected-above",
                    at,
                    entity,
                    f"max_selected of {where} is {max_selected}, with {count} values: read as "
                    f"{count}, {REFERENCE_READING}",
                )
        for position, value in enumerate(values):
            self.value(value, (*path, "values", position), entity, where, position)

    def value(
        self,
        entry: Any,
        path: ItemPath,
        attribute: str | None,
        where: str,
        position: int,
    ) -> None:
        if not isinstance(entry, dict):
            self.emit(
                "structure/field-type",
                path,
                attribute,
                f"each value of {where} must be an object, not {_json_type(entry)}",
            )
            return
        code = entry.get("value_code")
        entity = code if isinstance(code, str) else attribute
        expected = f"{attribute}.{position}" if attribute else f"OIFMA_XXX_NNNNNN.{position}"
        if code is None:
            self.emit(
                "structure/value-code-missing",
                (*path, "name") if isinstance(entry.get("name"), str) else path,
                attribute,
                f"value {position} of {where} has no value_code: read as {expected}, its "
                f"position, {REFERENCE_READING}",
            )
        elif not isinstance(code, str):
            self.emit(
                "structure/value-code",
                (*path, "value_code"),
                entity,
                f"value {position} of {where} has a value_code that is {_json_type(code)} "
                f"(expected {expected})",
            )
        else:
            match = _VALUE_CODE.fullmatch(code)
            if match is None:
                self.emit(
                    "structure/value-code",
                    (*path, "value_code"),
                    entity,
                    f"invalid value code {shown(code)} in {where}: expected {expected} "
                    f"(the attribute's ID, a dot, the value's position)",
                )
            elif attribute is not None and match["attribute"] != attribute:
                self.emit(
                    "structure/value-code",
                    (*path, "value_code"),
                    entity,
                    f"value code {shown(code)} names attribute {match['attribute']}, but it is in "
                    f"{attribute} (expected {expected})",
                )
            elif match["n"] != str(position):
                self.emit(
                    "structure/value-renumbered",
                    (*path, "value_code"),
                    entity,
                    f"value code {shown(code)} is value {position} of {where}: read as "
                    f"{expected}, its position, {REFERENCE_READING}",
                )
        self.unknown(entry, VALUE_FIELDS, path, entity)
        here = f"value {entity or position}"
        name = self.field(entry, "name", str, path, entity, here, required=True)
        if name is not None:
            self.length(
                "structure/name-length",
                name,
                (*path, "name"),
                entity,
                f"the name of {here}",
                VALUE_NAME_MIN,
            )
        self.field(entry, "description", str, path, entity, here)
        self.codes(entry, "index_codes", path, entity, here)

    def numeric(
        self, entry: dict[str, Any], path: ItemPath, entity: str | None, where: str
    ) -> None:
        bounds = {}
        for key in ("minimum", "maximum"):
            value = entry.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.emit(
                    "structure/field-type",
                    (*path, key),
                    entity,
                    f'"{key}" of {where} must be a number, not {_json_type(value)}',
                )
                continue
            bounds[key] = value
        if len(bounds) == 2 and bounds["minimum"] > bounds["maximum"]:
            self.emit(
                "structure/min-max",
                (*path, "minimum"),
                entity,
                f"{where}: minimum {bounds['minimum']} is greater than maximum {bounds['maximum']}",
            )
        self.field(entry, "unit", str, path, entity, where)


def _anchor(obj: dict[str, Any], path: ItemPath) -> ItemPath:
    """Where to point for something missing from ``obj``: its ID's line, else its start."""
    for key in ("value_code", "oifma_id", "oifm_id", "system"):
        if isinstance(obj.get(key), str):
            return (*path, key)
    return path


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return _JSON_TYPES.get(type(value), type(value).__name__)


def check_structure(record: Record) -> list[Finding]:
    """The ``structure/…`` findings of one file (none where it has no data to check)."""
    checker = _Checker(record)
    data = record.data
    if data is not None and record.error is not None and not {"oifm_id", "attributes"} & set(data):
        return []  # JSON, but no finding model at all: read/unreadable says so
    if data is not None:
        checker.model(data)
    elif isinstance(record.locator, MarkdownLocator):
        _markdown_ids(checker, record.locator)
    return checker.findings


def _markdown_ids(checker: _Checker, locator: MarkdownLocator) -> None:
    """The ID checks of a Markdown file the reader rejected: its title and attribute headings."""
    if locator.title is not None:
        oifm_id = locator.title[1]
        if not _OIFM.fullmatch(oifm_id):
            checker.findings.append(
                RULES["structure/finding-id"].finding(
                    f"invalid OIFM ID {shown(oifm_id)} in the title: expected OIFM_XXX_NNNNNN",
                    file=checker.record.file,
                    line=locator.title[0],
                    entity=oifm_id or None,
                )
            )
    for line, oifma_id in locator.attribute_headings():
        if not _OIFMA.fullmatch(oifma_id):
            checker.findings.append(
                RULES["structure/attribute-id"].finding(
                    f"invalid OIFMA ID {shown(oifma_id)} in an attribute heading: expected "
                    "OIFMA_XXX_NNNNNN",
                    file=checker.record.file,
                    line=line,
                    entity=oifma_id or None,
                )
            )
