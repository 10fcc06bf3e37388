"""Reader for OIFM JSON (``*.fm.json``, or ``*.json`` holding one model), as the corpus has it.

The JSON must be strict JSON: ``NaN``, ``Infinity`` and ``-Infinity`` (which Python's :mod:`json`
would accept) are refused, and so are numbers too large for a float (``1e400``), number literals
longer than :data:`~ontomap.readers.limits.MAX_NUMBER_LENGTH` characters, nesting too deep for
the parser and strings holding a character that is no text
(:data:`~ontomap.readers.common.FORBIDDEN_CHARACTER`). Every field must have its JSON type; each
problem is a :class:`~ontomap.errors.ModelReadError` naming the file and the line.

Where the ``findingmodel`` package (the OIFM reference implementation) accepts a file by filling
something in, the reader fills in the same, so that build and export give the reference's
reading, and warns (each such warning's message holds :data:`REFERENCE_READING`):

- a value without ``value_code`` (or ``null``) gets ``{oifma_id}.{position}``;
- a value code of the attribute numbered out of list order (``.1``, ``.0``; ``.0``, ``.0``) is
  read as ``{oifma_id}.{position}``: the reference numbers values by position;
- ``"max_selected": "all"`` is the number of values; ``0`` is ``1``; a number above the
  number of values is that number.

What the reference rejects stays an error: a ``max_selected`` of another type (a string other
than ``"all"``); so do a value code that is no value code or names another attribute, which the
reference would overwrite. Limits the reader does not check (a negative ``max_selected``, too
few values) are ``ontomap validate``'s errors, as before.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, TypeAlias

from ontomap.errors import InvalidIdentifierError, ModelReadError, ModelValidationError
from ontomap.model import (
    Attribute,
    ChoiceAttribute,
    ChoiceValue,
    Contributor,
    FindingModel,
    IndexCode,
    NumericAttribute,
    Organization,
    Person,
)
from ontomap.readers.common import (
    FORBIDDEN_CHARACTER,
    Diagnostic,
    describe_character,
    shown,
    unknown_system_warnings,
)
from ontomap.readers.json_positions import JsonLocator, Lines, depth_offset, literal_offset
from ontomap.readers.json_positions import Path as ItemPath
from ontomap.readers.limits import MAX_JSON_DEPTH, MAX_NUMBER_LENGTH
from ontomap.readers.located import JsonRecord
from ontomap.readers.schema import (
    ANCHORS,
    ATTRIBUTE,
    CHOICE,
    CODE,
    FINDING,
    NUMERIC,
    OIFM_RE,
    OIFMA_RE,
    ORGANIZATION,
    PERSON,
    TYPE_NAMES,
    VALUE,
    Field,
    anchor,
    code_reading,
    has_type,
    is_person,
    json_type,
    max_selected_reading,
    value_code_reading,
)

__all__ = [
    "REFERENCE_READING",
    "json_model",
    "json_type",
    "parse_json",
    "read_json",
    "read_json_record",
]

#: The end of every warning about a file the reader accepted as the ``findingmodel`` package
#: does, by filling something in (``ontomap validate`` reports these as ``structure/…`` rules).
REFERENCE_READING = "as the findingmodel package reads it"

#: Things filled in while reading a model: a message and the path of the item it is about.
_Notes = list[tuple[str, ItemPath]]


class _Located(Exception):
    """Internal: a structural problem and the path of the item it is about."""

    def __init__(self, reason: str, at: ItemPath) -> None:
        super().__init__(reason)
        self.reason = reason
        self.at = at


class _BadLiteral(Exception):
    """Internal: a number literal (or NaN, Infinity) that the JSON must not hold."""

    def __init__(self, literal: str, reason: str) -> None:
        super().__init__(reason)
        self.literal = literal
        self.reason = reason


def _constant(literal: str) -> Any:
    raise _BadLiteral(
        literal,
        f"{literal} is not a JSON number (JSON has no NaN or infinity): write a finite number, "
        "or leave the field out",
    )


def _check_length(literal: str) -> None:
    if len(literal) > MAX_NUMBER_LENGTH:
        raise _BadLiteral(
            literal,
            f"a number written with {len(literal):,} characters ({literal[:20]}…): at most "
            f"{MAX_NUMBER_LENGTH} are accepted",
        )


def _int(literal: str) -> int:
    _check_length(literal)
    return int(literal)


def _float(literal: str) -> float:
    _check_length(literal)
    value = float(literal)
    if not math.isfinite(value):
        raise _BadLiteral(
            literal, f"the number {literal} is too large (the largest is about 1.8e308)"
        )
    return value


def parse_json(path: Path, text: str) -> Any:
    """The value of a strict JSON text; raises :class:`ModelReadError` naming file and line.

    Beyond :func:`json.loads` it refuses what the module docstring lists (non-finite and
    oversized numbers, deep nesting, strings that are no text).
    """
    try:
        data = json.loads(text, parse_constant=_constant, parse_int=_int, parse_float=_float)
    except json.JSONDecodeError as exc:
        raise ModelReadError(
            path, f"invalid JSON: {exc.msg} (column {exc.colno})", exc.lineno
        ) from None
    except _BadLiteral as exc:
        offset = literal_offset(text, exc.literal)
        line = Lines(text).of(offset) if offset is not None else None
        raise ModelReadError(path, exc.reason, line) from None
    except RecursionError:
        offset = depth_offset(text, MAX_JSON_DEPTH)
        line = Lines(text).of(offset) if offset is not None else None
        raise ModelReadError(
            path,
            "the JSON nests lists and objects too deeply to be read (more than "
            f"{MAX_JSON_DEPTH} levels from this line on; a finding model needs 6)",
            line,
        ) from None
    if _SUSPECT_ESCAPE.search(text) or (
        not text.isascii() and FORBIDDEN_CHARACTER.search(text) is not None
    ):
        problem = _bad_string(data)
        if problem is not None:
            reason, at = problem
            raise ModelReadError(path, reason, JsonLocator(text).line(at))
    return data


#: An escape that may decode to a :data:`FORBIDDEN_CHARACTER` (``\\u0000``-``\\u001f``, a
#: surrogate, ``\\ufffe``, ``\\uffff``, ``\\b``, ``\\f``); a match only means "look closer".
_SUSPECT_ESCAPE = re.compile(r"\\(?:[uU](?:00[01]|[dD][89a-fA-F]|[fF]{3}[eEfF])|[bf])")


#: A parent's link and a key or index (``None`` at the top): a path built only when needed.
_Link: TypeAlias = "tuple[_Link, str | int] | None"


def _bad_string(data: Any) -> tuple[str, ItemPath] | None:
    """The first (in document order) string or field name holding a forbidden character."""
    # each entry: a value and its link (the parent's link and the key or index), so that only
    # the path of a bad string is ever built
    stack: list[tuple[Any, _Link]] = [(data, None)]
    while stack:
        value, link = stack.pop()
        if isinstance(value, str):
            match = FORBIDDEN_CHARACTER.search(value)
            if match is not None:
                return f"a string holds {describe_character(match.group())}", _path(link)
        elif isinstance(value, dict):
            items = list(value.items())
            for key, _item in items:
                match = FORBIDDEN_CHARACTER.search(key)
                if match is not None:
                    reason = f"a field name holds {describe_character(match.group())}"
                    return reason, _path((link, key))
            stack.extend((item, (link, key)) for key, item in reversed(items))
        elif isinstance(value, list):
            stack.extend((item, (link, i)) for i, item in reversed(list(enumerate(value))))
    return None


def _path(link: Any) -> ItemPath:
    keys: list[str | int] = []
    while link is not None:
        link, key = link
        keys.append(key)
    return tuple(reversed(keys))


def read_json(path: Path, text: str) -> tuple[FindingModel, list[Diagnostic]]:
    """Parse one OIFM JSON document; raises :class:`ModelReadError` naming file and line."""
    return json_model(read_json_record(path, text))


def read_json_record(path: Path, text: str) -> JsonRecord:
    """The located record of a JSON file: its value as parsed (:func:`parse_json`), or the
    error that stopped the parse. Never raises for bad input."""
    try:
        return JsonRecord(path, text, parse_json(path, text))
    except ModelReadError as exc:
        return JsonRecord(path, text, None, exc)


def json_model(record: JsonRecord) -> tuple[FindingModel, list[Diagnostic]]:
    """The model of a JSON record, and the reader's warnings; raises :class:`ModelReadError`
    (naming file and line) where the record holds no valid finding model."""
    if record.error is not None:
        raise record.error
    path, text, data = record.path, record.text, record.data
    if not isinstance(data, dict):
        raise ModelReadError(path, "not a finding model: the JSON is not an object", 1)
    if "oifm_id" not in data:
        hint = "; it looks like a finding model without its ID" if "attributes" in data else ""
        raise ModelReadError(
            path,
            f'not a finding model: no "oifm_id" field{hint} (add "oifm_id": "OIFM_XXX_NNNNNN")',
            1,
        )
    notes: _Notes = []
    try:
        model = _model(data, notes)
    except _Located as exc:
        raise ModelReadError(path, exc.reason, record.line(exc.at)) from None
    warnings = unknown_system_warnings(path, model, text)
    if notes:
        warnings[:0] = [
            Diagnostic("warning", path, reason, record.line(at)) for reason, at in notes
        ]
    return model, warnings


# -- typed access: the fields of ontomap.readers.schema, stopping at the first problem -------

#: Where the reader points for something missing: an object's ID, else its name, else its start.
_ANCHORS = (*ANCHORS, "name")


def _anchor(obj: dict[str, Any], at: ItemPath) -> ItemPath:
    return anchor(obj, at, _ANCHORS)


def _str(obj: dict[str, Any], field: Field, at: ItemPath, where: str) -> str | None:
    """``obj``'s string ``field``, ``None`` where it is absent (an error where it is
    :attr:`~Field.needed`)."""
    key = field.name
    value = obj.get(key)
    if type(value) is str:
        return value
    if value is None:
        if field.needed:
            raise _Located(f'{where}: missing "{key}"', _anchor(obj, at))
        return None
    raise _Located(
        f'{where}: "{key}" must be {TYPE_NAMES[field.type]}, not {json_type(value)}', (*at, key)
    )


def _list(obj: dict[str, Any], field: Field, at: ItemPath, where: str) -> list[Any]:
    """``obj``'s list ``field``, empty where it is absent."""
    value = obj.get(field.name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Located(
            f'{where}: "{field.name}" must be a list, not {json_type(value)}', (*at, field.name)
        )
    return value


def _object(value: Any, what: str, at: ItemPath) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Located(f"{what} must be an object, not {json_type(value)}", at)
    return value


def _strings(obj: dict[str, Any], field: Field, at: ItemPath, where: str) -> tuple[str, ...]:
    """``obj``'s list ``field`` whose items are strings (:attr:`Field.items`)."""
    items = _list(obj, field, at, where)
    kind = field.items or "string"
    for i, item in enumerate(items):
        if not has_type(item, kind):
            raise _Located(
                f'{where}: every entry of "{field.name}" must be {TYPE_NAMES[kind]}, '
                f"not {json_type(item)}",
                (*at, field.name, i),
            )
    return tuple(items)


def _codes(obj: dict[str, Any], field: Field, at: ItemPath, where: str) -> tuple[IndexCode, ...]:
    codes = []
    key = field.name
    for i, raw in enumerate(_list(obj, field, at, where)):
        if type(raw) is dict:
            # the rules of CODE for the common case, inline: each index code is read here
            system, code, display = raw.get("system"), raw.get("code"), raw.get("display")
            if (
                type(system) is str
                and type(code) is str
                and code.strip()
                and (display is None or type(display) is str)
            ):
                codes.append(IndexCode.of(system, code, display))
                continue
        here = (*at, key, i)
        entry = _object(raw, f'{where}: each of "{key}" (with system and code)', here)
        system = _str(entry, CODE["system"], here, f"{where}, {key}") or ""
        label = _cut(system)
        code = entry.get("code")
        reading = code_reading(code)
        if reading == "missing":
            raise _Located(
                f'{where}, {key}: an index code of {label} has no "code"', _anchor(entry, here)
            )
        if reading == "mistyped":
            raise _Located(
                f'{where}, {key}: "code" of {label} must be a string, not {json_type(code)}',
                (*here, "code"),
            )
        display = _str(entry, CODE["display"], here, f"{where}, {key}")
        codes.append(IndexCode.of(system, str(code), display))
    return tuple(codes)


def _number(obj: dict[str, Any], field: Field, at: ItemPath, where: str) -> int | float | None:
    value = obj.get(field.name)
    if value is None:
        return None
    if not has_type(value, "number"):
        raise _Located(
            f'{where}: "{field.name}" must be a number, not {json_type(value)}', (*at, field.name)
        )
    return value


def _identifier(kind: str, value: str, pattern: re.Pattern[str], at: ItemPath) -> None:
    if pattern.fullmatch(value) is None:
        raise _Located(_invalid(InvalidIdentifierError(kind, value, pattern.pattern)), at)


def _cut(text: str, width: int = 60) -> str:
    """``text`` cut to ``width`` characters, for a message."""
    return text if len(text) <= width else text[: width - 1] + "…"


def _invalid(exc: InvalidIdentifierError) -> str:
    """The message of ``exc``, with a long identifier cut short."""
    return f"invalid {exc.kind} {shown(exc.value)}: expected the pattern {exc.pattern}"


# -- the model ----------------------------------------------------------------------------------


def _contributor(raw: Any, at: ItemPath, where: str) -> Contributor:
    entry = _object(raw, f"{where}: each contributor", at)
    name = _str(entry, PERSON["name"], at, f"{where}, contributor") or ""
    if is_person(entry):
        return Person(
            name=name,
            email=_str(entry, PERSON["email"], at, where),
            github_username=_str(entry, PERSON["github_username"], at, where),
            organization_code=_str(entry, PERSON["organization_code"], at, where),
            url=_str(entry, PERSON["url"], at, where),
        )
    return Organization(
        name=name,
        code=_str(entry, ORGANIZATION["code"], at, where),
        url=_str(entry, ORGANIZATION["url"], at, where),
    )


def _value(
    raw: Any, at: ItemPath, here: str, oifma_id: str, position: int, notes: _Notes
) -> ChoiceValue:
    value = _object(raw, f"{here}: each value", at)
    expected = f"{oifma_id}.{position}"
    reading = value_code_reading(value.get("value_code"), oifma_id, position)
    if reading == "missing":
        name = value.get("name")
        named = f" ({shown(name)})" if isinstance(name, str) else ""
        notes.append(
            (
                f'{here}: value {position}{named} has no "value_code": read as {expected}, '
                f"its position, {REFERENCE_READING}",
                _anchor(value, at),
            )
        )
        code = expected
    else:
        code = _str(value, VALUE["value_code"], at, f"{here}, value") or ""
        if reading == "renumbered":
            notes.append(
                (
                    f"{here}: value code {shown(code)} is value {position} in the list: read as "
                    f"{expected}, its position, {REFERENCE_READING}",
                    (*at, "value_code"),
                )
            )
            code = expected
    label = f"value {_cut(code)}"
    name = _str(value, VALUE["name"], at, label) or ""
    description = _str(value, VALUE["description"], at, label)
    index_codes = _codes(value, VALUE["index_codes"], at, label)
    try:
        return ChoiceValue(code, name, description, index_codes)
    except InvalidIdentifierError as exc:
        raise _Located(_invalid(exc), (*at, "value_code")) from None


def _max_selected(
    entry: dict[str, Any], count: int, at: ItemPath, here: str, notes: _Notes
) -> int | None:
    """``max_selected`` as the reference reads it (``"all"``, ``0`` and too many filled in)."""
    max_selected = entry.get("max_selected", 1)
    reading, read = max_selected_reading(max_selected, count)
    where = (*at, "max_selected")
    if reading == "all":
        notes.append(
            (
                f'{here}: "max_selected": "all" read as {read}, the number of values, '
                f"{REFERENCE_READING}",
                where,
            )
        )
    elif reading == "mistyped":
        raise _Located(
            f'{here}: "max_selected" must be a whole number or "all", not '
            f"{json_type(max_selected)}",
            where,
        )
    elif reading == "zero":
        notes.append((f'{here}: "max_selected": 0 read as 1, {REFERENCE_READING}', where))
    elif reading == "above":
        notes.append(
            (
                f'{here}: "max_selected": {max_selected} with {count} values read as {count}, '
                f"{REFERENCE_READING}",
                where,
            )
        )
    return read


def _attribute(raw: Any, at: ItemPath, where: str, notes: _Notes) -> Attribute:
    entry = _object(raw, f"{where}: each attribute", at)
    oifma_id = _str(entry, ATTRIBUTE["oifma_id"], at, f"{where}, attribute") or ""
    _identifier("attribute ID", oifma_id, OIFMA_RE, (*at, "oifma_id"))
    here = f"attribute {oifma_id}"
    name = _str(entry, ATTRIBUTE["name"], at, here) or ""
    kind = entry.get("type")
    required = entry.get("required", False)
    if not has_type(required, "boolean"):
        raise _Located(
            f'{here}: "required" must be true or false, not {json_type(required)}',
            (*at, "required"),
        )
    description = _str(entry, ATTRIBUTE["description"], at, here)
    index_codes = _codes(entry, ATTRIBUTE["index_codes"], at, here)
    if kind == "choice":
        values = tuple(
            _value(value, (*at, "values", i), here, oifma_id, i, notes)
            for i, value in enumerate(_list(entry, CHOICE["values"], at, here))
        )
        max_selected = _max_selected(entry, len(values), at, here, notes)
        try:
            return ChoiceAttribute(
                oifma_id=oifma_id,
                name=name,
                values=values,
                description=description,
                required=required,
                max_selected=max_selected,
                index_codes=index_codes,
            )
        except ModelValidationError as exc:
            codes = [value.value_code for value in values]
            position = _nth(codes, exc.value, exc.occurrence)
            where_at = (*at, "values", position, "value_code") if position is not None else at
            raise _Located(str(exc), where_at) from None
    if kind == "numeric":
        return NumericAttribute(
            oifma_id=oifma_id,
            name=name,
            description=description,
            required=required,
            minimum=_number(entry, NUMERIC["minimum"], at, here),
            maximum=_number(entry, NUMERIC["maximum"], at, here),
            unit=_str(entry, NUMERIC["unit"], at, here),
            index_codes=index_codes,
        )
    if kind is None:
        raise _Located(f'{here}: missing "type" (write "choice" or "numeric")', _anchor(entry, at))
    found = shown(kind) if isinstance(kind, str) else json_type(kind)
    raise _Located(f'{here}: "type" must be "choice" or "numeric", not {found}', (*at, "type"))


def _nth(items: list[str], value: str | None, occurrence: int) -> int | None:
    """Index of the ``occurrence``-th (1-based) ``value`` in ``items``, or ``None``."""
    seen = 0
    for i, item in enumerate(items):
        if item == value:
            seen += 1
            if seen == occurrence:
                return i
    return None


def _model(data: dict[str, Any], notes: _Notes) -> FindingModel:
    oifm_id = data["oifm_id"]
    if not isinstance(oifm_id, str):
        raise _Located(f'"oifm_id" must be a string, not {json_type(oifm_id)}', ("oifm_id",))
    _identifier("OIFM ID", oifm_id, OIFM_RE, ("oifm_id",))
    where = oifm_id
    name = _str(data, FINDING["name"], (), where) or ""
    description = _str(data, FINDING["description"], (), where)
    synonyms = _strings(data, FINDING["synonyms"], (), where)
    tags = _strings(data, FINDING["tags"], (), where)
    contributors = tuple(
        _contributor(c, ("contributors", i), where)
        for i, c in enumerate(_list(data, FINDING["contributors"], (), where))
    )
    attributes = tuple(
        _attribute(a, ("attributes", i), where, notes)
        for i, a in enumerate(_list(data, FINDING["attributes"], (), where))
    )
    try:
        return FindingModel(
            oifm_id=oifm_id,
            name=name,
            description=description,
            synonyms=synonyms,
            tags=tags,
            contributors=contributors,
            attributes=attributes,
            index_codes=_codes(data, FINDING["index_codes"], (), where),
            anatomic_locations=_codes(data, FINDING["anatomic_locations"], (), where),
        )
    except (InvalidIdentifierError, ModelValidationError) as exc:
        ids = [attribute.oifma_id for attribute in attributes]
        value = getattr(exc, "value", None)
        position = _nth(ids, value, getattr(exc, "occurrence", 1))
        raise _Located(
            str(exc), ("attributes", position, "oifma_id") if position is not None else ()
        ) from None
