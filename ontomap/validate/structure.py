"""Structural checks: the OIFM JSON schema's rules, on what a file says (``structure/…``).

They run on a record's raw JSON (or, for Markdown, on the model in the JSON shape) and report
every problem with its line, where the reader stops at the first one. The rules (fields, JSON
types, required fields, lengths, ID patterns, value numbering, ``max_selected``) are those of
:mod:`ontomap.readers.schema`, which the JSON reader applies too.
"""

from __future__ import annotations

import difflib
from typing import Any

from ontomap.model import OIFM_ID_PATTERN, OIFMA_ID_PATTERN
from ontomap.readers.common import shown
from ontomap.readers.json_reader import REFERENCE_READING
from ontomap.readers.schema import (
    ATTRIBUTE,
    CODE,
    FINDING,
    KINDS,
    MIN_CHOICE_VALUES,
    NUMERIC,
    OIFM_RE,
    OIFMA_RE,
    ORGANIZATION,
    PERSON,
    TYPE_NAMES,
    VALUE,
    VALUE_CODE_RE,
    Field,
    anchor,
    code_reading,
    has_type,
    is_person,
    json_type,
    max_selected_reading,
    value_code_reading,
)
from ontomap.validate.locate import MarkdownLocator
from ontomap.validate.locate import Path as ItemPath
from ontomap.validate.records import Record
from ontomap.validate.report import Finding
from ontomap.validate.rules import RULES

#: The fields the readers know, per kind of object; any other is reported as unknown.
MODEL_FIELDS = frozenset(FINDING)
ATTRIBUTE_FIELDS = frozenset(ATTRIBUTE)
CHOICE_FIELDS = frozenset(KINDS["choice"])
NUMERIC_FIELDS = frozenset(NUMERIC)
VALUE_FIELDS = frozenset(VALUE)
CODE_FIELDS = frozenset(CODE)
PERSON_FIELDS = frozenset(PERSON)
ORGANIZATION_FIELDS = frozenset(ORGANIZATION)
#: The string fields of a contributor beside its name (a person's and an organisation's).
_CONTRIBUTOR_STRINGS = tuple(
    field for key, field in {**PERSON, **ORGANIZATION}.items() if key != "name"
)


def _json_type(value: Any) -> str:
    return json_type(value, boolean="a boolean")


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
        spec: Field,
        path: ItemPath,
        entity: str | None,
        where: str,
    ) -> Any:
        """``obj[spec.name]`` if it has the field's JSON type; reports a missing (where
        :attr:`~ontomap.readers.schema.Field.required`) or mistyped field."""
        key = spec.name
        value = obj.get(key)
        if value is None:
            if spec.required:
                self.emit(
                    "structure/required-field",
                    _anchor(obj, path),
                    entity,
                    f'{where} has no "{key}"',
                )
            return None
        if not has_type(value, spec.type):
            self.emit(
                "structure/field-type",
                (*path, key),
                entity,
                f'"{key}" of {where} must be {TYPE_NAMES[spec.type]}, not {_json_type(value)}',
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
        spec: Field,
        text: str,
        path: ItemPath,
        entity: str | None,
        what: str,
    ) -> None:
        """Reports ``text`` (of field ``spec``) outside the field's length limits."""
        if spec.length is None:
            return
        low, high = spec.length
        size = len(text.strip())
        if size < low or (high is not None and size > high):
            limit = f"{low}-{high}" if high is not None else f"at least {low}"
            self.emit(
                f"structure/{spec.name}-length",
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
        elif not OIFM_RE.fullmatch(entity):
            self.emit(
                "structure/finding-id",
                ("oifm_id",),
                entity,
                f"invalid OIFM ID {shown(entity)}: expected OIFM_XXX_NNNNNN ({OIFM_ID_PATTERN})",
            )
        where = f"finding {entity}" if entity else "the finding"
        self.unknown(data, MODEL_FIELDS, (), entity)
        for key in ("name", "description"):
            text = self.field(data, FINDING[key], (), entity, where)
            if text is not None:
                self.length(FINDING[key], text, (key,), entity, f"the {key}")
        for key in ("synonyms", "tags"):
            spec = FINDING[key]
            kind = spec.items or "string"
            for i, item in enumerate(self.field(data, spec, (), entity, where) or ()):
                if not has_type(item, kind):
                    self.emit(
                        "structure/field-type",
                        (key, i),
                        entity,
                        f"each of {key} must be {TYPE_NAMES[kind]}, not {_json_type(item)}",
                    )
        for i, contributor in enumerate(
            self.field(data, FINDING["contributors"], (), entity, where) or ()
        ):
            self.contributor(contributor, ("contributors", i), entity)
        self.codes(data, FINDING["index_codes"], (), entity, where)
        self.codes(data, FINDING["anatomic_locations"], (), entity, where)
        attributes = self.field(data, FINDING["attributes"], (), entity, where)
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
        person = is_person(entry)
        self.unknown(entry, PERSON_FIELDS if person else ORGANIZATION_FIELDS, path, entity)
        self.field(entry, PERSON["name"], path, entity, "a contributor")
        for spec in _CONTRIBUTOR_STRINGS:
            self.field(entry, spec, path, entity, "a contributor")

    def codes(
        self, obj: dict[str, Any], spec: Field, path: ItemPath, entity: str | None, where: str
    ) -> None:
        key = spec.name
        for i, entry in enumerate(self.field(obj, spec, path, entity, where) or ()):
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
            self.field(entry, CODE["system"], here, entity, what)
            code = entry.get("code")
            reading = code_reading(code)
            if reading == "missing":
                self.emit(
                    "structure/required-field",
                    _anchor(entry, here),
                    entity,
                    f'{what} has no "code"',
                )
            elif reading == "mistyped":
                self.emit(
                    "structure/field-type",
                    (*here, "code"),
                    entity,
                    f'"code" of {what} must be a string, not {_json_type(code)}',
                )
            self.field(entry, CODE["display"], here, entity, what)

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
        elif not OIFMA_RE.fullmatch(entity):
            self.emit(
                "structure/attribute-id",
                (*path, "oifma_id"),
                entity,
                f"invalid OIFMA ID {shown(entity)}: expected OIFMA_XXX_NNNNNN ({OIFMA_ID_PATTERN})",
            )
        where = f"attribute {entity or path[-1]}"
        kind = entry.get("type")
        if kind is None and not isinstance(self.record.locator, MarkdownLocator):
            self.emit("structure/required-field", path, entity, f'{where} has no "type"')
        elif kind is not None and not (isinstance(kind, str) and kind in KINDS):
            found = shown(kind) if isinstance(kind, str) else _json_type(kind)
            self.emit(
                "structure/field-type",
                (*path, "type"),
                entity,
                f'"type" of {where} must be "choice" or "numeric", not {found}',
            )
        fields = KINDS.get(kind) if isinstance(kind, str) else None
        known = frozenset(fields) if fields is not None else CHOICE_FIELDS | NUMERIC_FIELDS
        self.unknown(entry, known, path, entity)
        for key in ("name", "description"):
            text = self.field(entry, ATTRIBUTE[key], path, entity, where)
            if text is not None:
                self.length(ATTRIBUTE[key], text, (*path, key), entity, f"the {key} of {where}")
        self.field(entry, ATTRIBUTE["required"], path, entity, where)
        self.codes(entry, ATTRIBUTE["index_codes"], path, entity, where)
        if kind == "choice":
            self.choice(entry, path, entity, where)
        elif kind == "numeric":
            self.numeric(entry, path, entity, where)

    def choice(self, entry: dict[str, Any], path: ItemPath, entity: str | None, where: str) -> None:
        values = self.field(entry, KINDS["choice"]["values"], path, entity, where)
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
        reading, read = max_selected_reading(max_selected, count)
        if reading == "all":
            self.emit(
                "structure/max-selected-all",
                at,
                entity,
                f'max_selected of {where} is "all": read as {read}, the number of '
                f"values, {REFERENCE_READING}",
            )
        elif reading == "mistyped":
            self.emit(
                "structure/field-type",
                at,
                entity,
                f'"max_selected" of {where} must be a whole number or "all", '
                f"not {_json_type(max_selected)}",
            )
        elif reading == "negative":
            self.emit(
                "structure/max-selected",
                at,
                entity,
                f"max_selected of {where} is {max_selected}, with {count} values "
                f"(allowed: 1-{max(count, 1)})",
            )
        elif reading == "zero":
            self.emit(
                "structure/max-selected-zero",
                at,
                entity,
                f"max_selected of {where} is 0: read as 1, {REFERENCE_READING}",
            )
        elif reading == "above":
            self.emit(
                "structure/max-selected-above",
                at,
                entity,
                f"max_selected of {where} is {max_selected}, with {count} values: read as "
                f"{read}, {REFERENCE_READING}",
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
        reading = value_code_reading(code, attribute, position)
        if reading == "missing":
            self.emit(
                "structure/value-code-missing",
                (*path, "name") if isinstance(entry.get("name"), str) else path,
                attribute,
                f"value {position} of {where} has no value_code: read as {expected}, its "
                f"position, {REFERENCE_READING}",
            )
        elif reading == "mistyped":
            self.emit(
                "structure/value-code",
                (*path, "value_code"),
                entity,
                f"value {position} of {where} has a value_code that is {_json_type(code)} "
                f"(expected {expected})",
            )
        elif reading == "malformed":
            self.emit(
                "structure/value-code",
                (*path, "value_code"),
                entity,
                f"invalid value code {shown(code)} in {where}: expected {expected} "
                f"(the attribute's ID, a dot, the value's position)",
            )
        elif reading == "other-attribute":
            named = VALUE_CODE_RE.fullmatch(code) if isinstance(code, str) else None
            self.emit(
                "structure/value-code",
                (*path, "value_code"),
                entity,
                f"value code {shown(code)} names attribute "
                f"{named['attribute'] if named else '?'}, but it is in {attribute} "
                f"(expected {expected})",
            )
        elif reading == "renumbered":
            self.emit(
                "structure/value-renumbered",
                (*path, "value_code"),
                entity,
                f"value code {shown(code)} is value {position} of {where}: read as "
                f"{expected}, its position, {REFERENCE_READING}",
            )
        self.unknown(entry, VALUE_FIELDS, path, entity)
        here = f"value {entity or position}"
        name = self.field(entry, VALUE["name"], path, entity, here)
        if name is not None:
            self.length(VALUE["name"], name, (*path, "name"), entity, f"the name of {here}")
        self.field(entry, VALUE["description"], path, entity, here)
        self.codes(entry, VALUE["index_codes"], path, entity, here)

    def numeric(
        self, entry: dict[str, Any], path: ItemPath, entity: str | None, where: str
    ) -> None:
        bounds = {}
        for key in ("minimum", "maximum"):
            value = entry.get(key)
            if value is None:
                continue
            if not has_type(value, NUMERIC[key].type):
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
        self.field(entry, NUMERIC["unit"], path, entity, where)


def _anchor(obj: dict[str, Any], path: ItemPath) -> ItemPath:
    """Where to point for something missing from ``obj``: its ID's line, else its start."""
    return anchor(obj, path)


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
        if not OIFM_RE.fullmatch(oifm_id):
            checker.findings.append(
                RULES["structure/finding-id"].finding(
                    f"invalid OIFM ID {shown(oifm_id)} in the title: expected OIFM_XXX_NNNNNN",
                    file=checker.record.file,
                    line=locator.title[0],
                    entity=oifm_id or None,
                )
            )
    for line, oifma_id in locator.attribute_headings():
        if not OIFMA_RE.fullmatch(oifma_id):
            checker.findings.append(
                RULES["structure/attribute-id"].finding(
                    f"invalid OIFMA ID {shown(oifma_id)} in an attribute heading: expected "
                    "OIFMA_XXX_NNNNNN",
                    file=checker.record.file,
                    line=line,
                    entity=oifma_id or None,
                )
            )
