"""A JSON finding model and its Markdown rendering compared: what the rendering is documented to
lose, and what else differs.

:func:`apply_markdown_losses` is the reusable form of the losses that
:mod:`ontomap.readers.markdown_reader` documents: a JSON model passed through it equals the model
read back from its Markdown rendering, so anything else that differs is a real disagreement
(:func:`model_differences`). Reading a folder that holds both keeps the JSON and warns about such
differences (:class:`~ontomap.readers.ModelStream`); ``ontomap validate`` reports them
(``identity/markdown-mismatch``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ontomap.model import (
    Attribute,
    ChoiceAttribute,
    ChoiceValue,
    FindingModel,
    IndexCode,
    NumericAttribute,
    Organization,
    Person,
)
from ontomap.readers.json_positions import Path as ItemPath

__all__ = ["Difference", "apply_markdown_losses", "model_differences", "normalize_markdown_model"]


def _code_set(codes: tuple[IndexCode, ...]) -> tuple[IndexCode, ...]:
    """Index codes as a set (order and duplicates are not significant), in a stable order."""
    return tuple(sorted(set(codes), key=lambda c: (c.system, c.code, c.display or "")))


def _stripped(text: str | None) -> str | None:
    return (text or "").strip() or None


def _split(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(part for item in items for part in item.split(", "))


def apply_markdown_losses(model: FindingModel) -> FindingModel:
    """``model`` as its Markdown rendering reads back: exactly the documented losses applied.

    Index codes come back as sets (sorted); see :func:`normalize_markdown_model` for the
    Markdown side of a comparison.
    """
    attributes: list[Attribute] = []
    for attribute in model.attributes:
        changes: dict[str, object] = {
            "name": attribute.name.capitalize(),
            "description": _stripped(attribute.description),
            "required": None,
            "index_codes": _code_set(attribute.index_codes),
        }
        if isinstance(attribute, ChoiceAttribute):
            selected = attribute.max_selected
            changes["max_selected"] = selected if selected and selected > 1 else 1
            changes["values"] = tuple(
                dataclasses.replace(
                    value,
                    description=_stripped(value.description),
                    index_codes=_code_set(value.index_codes),
                )
                for value in attribute.values
            )
        else:
            changes["maximum"] = attribute.maximum or None
            changes["unit"] = attribute.unit or None
        attributes.append(dataclasses.replace(attribute, **changes))
    contributors = []
    for contributor in model.contributors:
        if isinstance(contributor, Person):
            if contributor.email or contributor.url:
                contributor = dataclasses.replace(contributor, github_username=None)
            else:
                contributor = Organization(contributor.name, contributor.organization_code)
        contributors.append(contributor)
    return dataclasses.replace(
        model,
        name=model.name.capitalize(),
        description=_stripped(model.description),
        synonyms=_split(model.synonyms),
        tags=_split(model.tags),
        contributors=tuple(contributors),
        attributes=tuple(attributes),
        index_codes=_code_set(model.index_codes),
        anatomic_locations=(),
    )


def normalize_markdown_model(model: FindingModel) -> FindingModel:
    """A model read from Markdown with its index codes as sets, to compare with
    :func:`apply_markdown_losses` of its JSON."""
    attributes: list[Attribute] = []
    for attribute in model.attributes:
        changes: dict[str, object] = {"index_codes": _code_set(attribute.index_codes)}
        if isinstance(attribute, ChoiceAttribute):
            changes["values"] = tuple(
                dataclasses.replace(value, index_codes=_code_set(value.index_codes))
                for value in attribute.values
            )
        attributes.append(dataclasses.replace(attribute, **changes))
    return dataclasses.replace(
        model, attributes=tuple(attributes), index_codes=_code_set(model.index_codes)
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Difference:
    """One way a Markdown model differs from its JSON: where (a path), the entity, and what."""

    path: ItemPath
    entity: str
    what: str


def _show(value: object, width: int = 200) -> str:
    if isinstance(value, tuple) and all(isinstance(v, IndexCode) for v in value):
        text = "[" + "; ".join(str(v) for v in value) + "]" if value else "none"
    elif isinstance(value, tuple):
        text = repr(list(value))
    else:
        text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _fields(
    markdown: object, json: object, names: Sequence[str], path: ItemPath, entity: str
) -> list[Difference]:
    out = []
    for name in names:
        mine, theirs = getattr(markdown, name), getattr(json, name)
        if mine != theirs:
            out.append(
                Difference(
                    (*path, name), entity, f"{name} {_show(mine)} here, {_show(theirs)} in JSON"
                )
            )
    return out


def model_differences(markdown: FindingModel, json: FindingModel) -> list[Difference]:
    """How a model read from Markdown differs from the JSON model it should render.

    ``json`` is compared after :func:`apply_markdown_losses`, so the documented losses are not
    differences. Each attribute and value is compared field by field, by position.
    """
    got, want = normalize_markdown_model(markdown), apply_markdown_losses(json)
    if got == want:
        return []
    out = _fields(
        got,
        want,
        ("oifm_id", "name", "description", "synonyms", "tags", "contributors", "index_codes"),
        (),
        want.oifm_id,
    )
    if len(got.attributes) != len(want.attributes):
        out.append(
            Difference(
                ("attributes",),
                want.oifm_id,
                f"{len(got.attributes)} attributes here, {len(want.attributes)} in JSON "
                f"({', '.join(a.oifma_id for a in want.attributes)})",
            )
        )
    for i, (mine, theirs) in enumerate(zip(got.attributes, want.attributes, strict=False)):
        out.extend(_attribute_differences(mine, theirs, ("attributes", i)))
    return out


def _attribute_differences(mine: Attribute, theirs: Attribute, path: ItemPath) -> list[Difference]:
    if mine == theirs:
        return []
    entity = theirs.oifma_id
    if type(mine) is not type(theirs):
        return [Difference(path, entity, f"a {mine.kind} attribute here, {theirs.kind} in JSON")]
    names = ["oifma_id", "name", "description", "required", "index_codes"]
    if isinstance(theirs, NumericAttribute):
        names += ["minimum", "maximum", "unit"]
    else:
        names += ["max_selected"]
    out = _fields(mine, theirs, names, path, entity)
    if isinstance(mine, ChoiceAttribute) and isinstance(theirs, ChoiceAttribute):
        if len(mine.values) != len(theirs.values):
            out.append(
                Difference(
                    (*path, "values"),
                    entity,
                    f"{len(mine.values)} values here, {len(theirs.values)} in JSON",
                )
            )
        for j, (a, b) in enumerate(zip(mine.values, theirs.values, strict=False)):
            out.extend(_value_differences(a, b, (*path, "values", j)))
    return out


def _value_differences(mine: ChoiceValue, theirs: ChoiceValue, path: ItemPath) -> list[Difference]:
    if mine == theirs:
        return []
    return _fields(
        mine, theirs, ("value_code", "name", "description", "index_codes"), path, theirs.value_code
    )
