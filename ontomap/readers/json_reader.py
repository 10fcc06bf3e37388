"""Reader for OIFM JSON (``*.fm.json``, or ``*.json`` holding one model), as the corpus has it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ontomap.errors import ModelReadError, OntomapError
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
from ontomap.readers.common import Diagnostic, line_of, unknown_system_warnings


class _Located(Exception):
    """Internal: a structural problem plus a text to look for, to name the line."""

    def __init__(self, reason: str, needle: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.needle = needle


def read_json(path: Path, text: str) -> tuple[FindingModel, list[Diagnostic]]:
    """Parse one OIFM JSON document; raises :class:`ModelReadError` naming file and line."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelReadError(
            path, f"invalid JSON: {exc.msg} (column {exc.colno})", exc.lineno
        ) from None
    if not isinstance(data, dict):
        raise ModelReadError(path, "not a finding model: the JSON is not an object", 1)
    if "oifm_id" not in data:
        hint = "; it looks like a finding model without its ID" if "attributes" in data else ""
        raise ModelReadError(
            path,
            f'not a finding model: no "oifm_id" field{hint} (add "oifm_id": "OIFM_XXX_NNNNNN")',
            1,
        )
    try:
        model = _model(data)
    except _Located as exc:
        line = line_of(text, exc.needle) if exc.needle else None
        raise ModelReadError(path, exc.reason, line) from None
    except OntomapError as exc:
        needle = getattr(exc, "value", None)
        line = None
        if isinstance(needle, str):
            start = 0
            for _ in range(getattr(exc, "occurrence", 1) - 1):
                found = text.find(f'"{needle}"', start)
                start = found + 1 if found >= 0 else start
            line = line_of(text, f'"{needle}"', start)
        raise ModelReadError(path, str(exc), line) from None
    return model, unknown_system_warnings(path, model, text)


def _str(obj: dict[str, Any], key: str, where: str, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise _Located(f'{where}: missing "{key}"', _needle_of(obj))
        return None
    if not isinstance(value, str):
        raise _Located(f'{where}: "{key}" must be a string, not {type(value).__name__}', f'"{key}"')
    return value


def _needle_of(obj: dict[str, Any]) -> str | None:
    for key in ("value_code", "oifma_id", "oifm_id", "code", "name"):
        if isinstance(obj.get(key), str):
            return f'"{obj[key]}"'
    return None


def _list(obj: dict[str, Any], key: str, where: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Located(f'{where}: "{key}" must be a list', f'"{key}"')
    return value


def _strings(obj: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    items = _list(obj, key, where)
    for item in items:
        if not isinstance(item, str):
            raise _Located(f'{where}: every entry of "{key}" must be a string', f'"{key}"')
    return tuple(items)


def _codes(obj: dict[str, Any], key: str, where: str) -> tuple[IndexCode, ...]:
    codes = []
    for entry in _list(obj, key, where):
        if not isinstance(entry, dict):
            raise _Located(
                f'{where}: each of "{key}" must be an object with system and code', f'"{key}"'
            )
        system = _str(entry, "system", f"{where}, {key}")
        code = entry.get("code")
        if isinstance(code, int):
            code = str(code)
        if not isinstance(code, str) or not code.strip():
            raise _Located(
                f'{where}, {key}: an index code of {system} has no "code"', f'"{system}"'
            )
        display = entry.get("display")
        codes.append(
            IndexCode.of(system or "", code, display if isinstance(display, str) else None)
        )
    return tuple(codes)


def _number(obj: dict[str, Any], key: str, where: str) -> int | float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Located(f'{where}: "{key}" must be a number', f'"{key}"')
    return value


def _contributor(entry: Any, where: str) -> Contributor:
    if not isinstance(entry, dict):
        raise _Located(f"{where}: each contributor must be an object", '"contributors"')
    name = _str(entry, "name", f"{where}, contributor") or ""
    if "email" in entry or "github_username" in entry or "organization_code" in entry:
        return Person(
            name=name,
            email=_str(entry, "email", where, required=False),
            github_username=_str(entry, "github_username", where, required=False),
            organization_code=_str(entry, "organization_code", where, required=False),
            url=_str(entry, "url", where, required=False),
        )
    return Organization(
        name=name,
        code=_str(entry, "code", where, required=False),
        url=_str(entry, "url", where, required=False),
    )


def _attribute(entry: Any, where: str) -> Attribute:
    if not isinstance(entry, dict):
        raise _Located(f"{where}: each attribute must be an object", '"attributes"')
    oifma_id = _str(entry, "oifma_id", f"{where}, attribute") or ""
    here = f"attribute {oifma_id}"
    name = _str(entry, "name", here) or ""
    kind = entry.get("type")
    required = entry.get("required", False)
    if not isinstance(required, bool):
        raise _Located(f'{here}: "required" must be true or false', f'"{oifma_id}"')
    common = dict(
        oifma_id=oifma_id,
        name=name,
        description=_str(entry, "description", here, required=False),
        required=required,
        index_codes=_codes(entry, "index_codes", here),
    )
    if kind == "choice":
        values = []
        for value in _list(entry, "values", here):
            if not isinstance(value, dict):
                raise _Located(f"{here}: each value must be an object", f'"{oifma_id}"')
            code = _str(value, "value_code", f"{here}, value") or ""
            values.append(
                ChoiceValue(
                    value_code=code,
                    name=_str(value, "name", f"value {code}") or "",
                    description=_str(value, "description", f"value {code}", required=False),
                    index_codes=_codes(value, "index_codes", f"value {code}"),
                )
            )
        max_selected = entry.get("max_selected", 1)
        if max_selected is not None and (
            isinstance(max_selected, bool) or not isinstance(max_selected, int)
        ):
            raise _Located(f'{here}: "max_selected" must be a whole number', f'"{oifma_id}"')
        return ChoiceAttribute(values=tuple(values), max_selected=max_selected, **common)
    if kind == "numeric":
        return NumericAttribute(
            minimum=_number(entry, "minimum", here),
            maximum=_number(entry, "maximum", here),
            unit=_str(entry, "unit", here, required=False),
            **common,
        )
    raise _Located(f'{here}: "type" must be "choice" or "numeric", not {kind!r}', f'"{oifma_id}"')


def _model(data: dict[str, Any]) -> FindingModel:
    oifm_id = data["oifm_id"]
    if not isinstance(oifm_id, str):
        raise _Located('"oifm_id" must be a string', '"oifm_id"')
    where = oifm_id
    return FindingModel(
        oifm_id=oifm_id,
        name=_str(data, "name", where) or "",
        description=_str(data, "description", where, required=False),
        synonyms=_strings(data, "synonyms", where),
        tags=_strings(data, "tags", where),
        contributors=tuple(_contributor(c, where) for c in _list(data, "contributors", where)),
        attributes=tuple(_attribute(a, where) for a in _list(data, "attributes", where)),
        index_codes=_codes(data, "index_codes", where),
        anatomic_locations=_codes(data, "anatomic_locations", where),
    )
