"""The rules of the OIFM JSON schema, once: the fields of each kind of object, their JSON types,
which are required, length limits, the ID patterns, how value codes are numbered and how
``max_selected`` is read.

Two consumers apply them, each in its own words: the JSON reader
(:mod:`ontomap.readers.json_reader`) stops at the first rule a file breaks that keeps it from
making the model (:attr:`Field.needed`); ``ontomap validate`` (:mod:`ontomap.validate.structure`)
reports every rule a file breaks (:attr:`Field.required`, :attr:`Field.length`, unknown fields),
each with its line. The limits are those of the OIFM JSON schema
(openimagingdata/findingmodels, ``schema/finding_model.schema.json``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from ontomap.model import OIFM_ID_PATTERN, OIFMA_ID_PATTERN

__all__ = [
    "ATTRIBUTE",
    "CHOICE",
    "CODE",
    "FINDING",
    "KINDS",
    "NUMERIC",
    "ORGANIZATION",
    "PERSON",
    "PERSON_KEYS",
    "VALUE",
    "Field",
    "JsonType",
    "anchor",
    "code_reading",
    "has_type",
    "is_person",
    "json_type",
    "max_selected_reading",
    "value_code_reading",
]

#: Limits from the OIFM JSON schema: characters of the text without surrounding white space.
FINDING_NAME_MIN = 5
FINDING_DESCRIPTION_MIN = 5
ATTRIBUTE_NAME_MIN, ATTRIBUTE_NAME_MAX = 3, 100
ATTRIBUTE_DESCRIPTION_MIN, ATTRIBUTE_DESCRIPTION_MAX = 5, 500
VALUE_NAME_MIN = 1
#: The fewest values a choice attribute has.
MIN_CHOICE_VALUES = 2

OIFM_RE = re.compile(OIFM_ID_PATTERN)
OIFMA_RE = re.compile(OIFMA_ID_PATTERN)
#: A value code: its attribute's ID, a dot, its position.
VALUE_CODE_RE = re.compile(rf"(?P<attribute>{OIFMA_ID_PATTERN})\.(?P<n>[0-9]+)")

#: The JSON types a field can have (``number``: an integer or a float, never true or false).
JsonType = Literal["string", "list", "object", "boolean", "number"]

#: How messages name a JSON type that a field must have.
TYPE_NAMES: dict[str, str] = {
    "string": "a string",
    "list": "a list",
    "object": "an object",
    "boolean": "true or false",
    "number": "a number",
}


def has_type(value: Any, kind: JsonType) -> bool:
    """Whether a parsed JSON value has the JSON type ``kind``."""
    if kind == "string":
        return isinstance(value, str)
    if kind == "list":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "boolean":
        return isinstance(value, bool)
    return isinstance(value, int | float) and not isinstance(value, bool)


def json_type(value: Any, boolean: str = "true or false") -> str:
    """The JSON type of a parsed value, for messages: ``a string``, ``a list``, ``null``…
    (true and false are named ``boolean``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return boolean
    if isinstance(value, int | float):
        return "a number"
    return {str: "a string", list: "a list", dict: "an object"}.get(type(value), "a value")


@dataclass(frozen=True, slots=True)
class Field:
    """A field of one kind of object of the OIFM JSON."""

    name: str
    type: JsonType
    #: The schema requires it (``ontomap validate`` reports it missing).
    required: bool = False
    #: The reader cannot make the model without it (it stops there); where the schema
    #: requires a field the reader does without, the reader reads it as absent.
    needed: bool = False
    #: The JSON type of each entry of a list.
    items: JsonType | None = None
    #: Fewest and most characters (``None``: no most) of the text without surrounding white
    #: space.
    length: tuple[int, int | None] | None = None


def _fields(*fields: Field) -> dict[str, Field]:
    return {field.name: field for field in fields}


#: The fields of a finding model.
FINDING = _fields(
    Field("oifm_id", "string", required=True, needed=True),
    Field("name", "string", required=True, needed=True, length=(FINDING_NAME_MIN, None)),
    Field("description", "string", required=True, length=(FINDING_DESCRIPTION_MIN, None)),
    Field("synonyms", "list", items="string"),
    Field("tags", "list", items="string"),
    Field("contributors", "list", items="object"),
    Field("attributes", "list", required=True, items="object"),
    Field("index_codes", "list", items="object"),
    Field("anatomic_locations", "list", items="object"),
)
#: The fields every attribute has.
ATTRIBUTE = _fields(
    Field("oifma_id", "string", required=True, needed=True),
    Field(
        "name",
        "string",
        required=True,
        needed=True,
        length=(ATTRIBUTE_NAME_MIN, ATTRIBUTE_NAME_MAX),
    ),
    Field(
        "description",
        "string",
        length=(ATTRIBUTE_DESCRIPTION_MIN, ATTRIBUTE_DESCRIPTION_MAX),
    ),
    Field("type", "string", required=True, needed=True),
    Field("required", "boolean"),
    Field("index_codes", "list", items="object"),
)
#: The fields of a choice attribute (``max_selected``: a whole number, or ``"all"``, see
#: :func:`max_selected_reading`).
CHOICE = {
    **ATTRIBUTE,
    **_fields(
        Field("values", "list", required=True, items="object"),
        Field("max_selected", "number"),
    ),
}
#: The fields of a numeric attribute.
NUMERIC = {
    **ATTRIBUTE,
    **_fields(Field("minimum", "number"), Field("maximum", "number"), Field("unit", "string")),
}
#: The attribute kinds (the values of ``type``) and their fields.
KINDS: dict[str, dict[str, Field]] = {"choice": CHOICE, "numeric": NUMERIC}
#: The fields of a value of a choice attribute (a missing ``value_code`` is filled in, see
#: :func:`value_code_reading`).
VALUE = _fields(
    Field("value_code", "string"),
    Field("name", "string", required=True, needed=True, length=(VALUE_NAME_MIN, None)),
    Field("description", "string"),
    Field("index_codes", "list", items="object"),
)
#: The fields of an index code (``code`` may be written as a whole number, see
#: :func:`code_reading`).
CODE = _fields(
    Field("system", "string", required=True, needed=True),
    Field("code", "string", required=True, needed=True),
    Field("display", "string"),
)
#: The fields of a contributor who is a person.
PERSON = _fields(
    Field("name", "string", required=True, needed=True),
    Field("email", "string"),
    Field("github_username", "string"),
    Field("organization_code", "string"),
    Field("url", "string"),
)
#: The fields of a contributor that is an organisation.
ORGANIZATION = _fields(
    Field("name", "string", required=True, needed=True),
    Field("code", "string"),
    Field("url", "string"),
)
#: The fields that make a contributor a person.
PERSON_KEYS = ("email", "github_username", "organization_code")


def is_person(entry: dict[str, Any]) -> bool:
    """Whether a contributor is a person (it has one of :data:`PERSON_KEYS`)."""
    return any(key in entry for key in PERSON_KEYS)


#: The fields whose line stands for an object where something of it is missing, in order.
ANCHORS = ("value_code", "oifma_id", "oifm_id", "system")


def anchor(
    obj: dict[str, Any], at: tuple[str | int, ...], keys: tuple[str, ...] = ANCHORS
) -> tuple[str | int, ...]:
    """Where to point for something missing from ``obj``: the first of ``keys`` that it has
    as a string, else ``obj`` itself."""
    for key in keys:
        if isinstance(obj.get(key), str):
            return (*at, key)
    return at


def code_reading(code: Any) -> Literal["missing", "mistyped", "ok"]:
    """How an index code's ``code`` reads: ``missing`` (absent, null or blank), ``mistyped``
    (neither a string nor a whole number, which is read as its digits) or ``ok``."""
    if code is None or (isinstance(code, str) and not code.strip()):
        return "missing"
    if isinstance(code, str) or (isinstance(code, int) and not isinstance(code, bool)):
        return "ok"
    return "mistyped"


ValueCodeReading = Literal[
    "missing", "mistyped", "malformed", "other-attribute", "renumbered", "ok"
]


def value_code_reading(code: Any, oifma_id: str | None, position: int) -> ValueCodeReading:
    """How the ``value_code`` of value ``position`` of attribute ``oifma_id`` (``None`` where
    its ID is no string) reads, as the findingmodel package reads it:

    - ``missing``: none (or null), so it is read as ``{oifma_id}.{position}``;
    - ``mistyped``: not a string; ``malformed``: not of the form ``OIFMA_XXX_NNNNNN.N``;
      ``other-attribute``: it names another attribute (all three are errors);
    - ``renumbered``: the attribute's own, numbered out of list order: read as
      ``{oifma_id}.{position}``;
    - ``ok``: ``{oifma_id}.{position}`` itself.
    """
    if code is None:
        return "missing"
    if not isinstance(code, str):
        return "mistyped"
    match = VALUE_CODE_RE.fullmatch(code)
    if match is None:
        return "malformed"
    if oifma_id is not None and match["attribute"] != oifma_id:
        return "other-attribute"
    return "renumbered" if match["n"] != str(position) else "ok"


MaxSelectedReading = Literal["null", "all", "mistyped", "negative", "zero", "above", "ok"]


def max_selected_reading(raw: Any, count: int) -> tuple[MaxSelectedReading, int | None]:
    """How ``max_selected`` reads for a choice of ``count`` values, as the findingmodel
    package reads it, and the number it is read as:

    - ``null``: ``None``; ``ok``: the number itself; ``negative``: the number itself (an
      error of the schema, which the reader leaves to ``ontomap validate``);
    - ``all``: ``"all"`` is the number of values (at least 1); ``zero``: ``0`` is 1;
      ``above``: a number above ``count`` (where there are values) is ``count``;
    - ``mistyped``: neither a whole number nor ``"all"`` (an error).
    """
    if raw is None:
        return "null", None
    if raw == "all":
        return "all", max(count, 1)
    if isinstance(raw, bool) or not isinstance(raw, int):
        return "mistyped", None
    if raw < 0:
        return "negative", raw
    if raw == 0:
        return "zero", 1
    if count and raw > count:
        return "above", count
    return "ok", raw
