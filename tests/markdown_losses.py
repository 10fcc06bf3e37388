"""The losses of the Markdown rendering, written independently of ontomap's own code, so that
tests can check the Markdown reader (and the graphs it gives) against the JSON models."""

from __future__ import annotations

import dataclasses

from ontomap.model import ChoiceAttribute, FindingModel, IndexCode, Organization, Person


def _codes(codes: tuple[IndexCode, ...]) -> tuple[IndexCode, ...]:
    """Index codes as a set (order and duplicates are not significant), in a stable order."""
    return tuple(sorted(set(codes), key=lambda c: (c.system, c.code, c.display or "")))


def _description(text: str | None) -> str | None:
    return (text or "").strip() or None


def _split(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(part for item in items for part in item.split(", "))


def apply_markdown_losses(model: FindingModel) -> FindingModel:
    """``model`` as its Markdown rendering reads back: exactly the documented losses applied."""
    attributes = []
    for attribute in model.attributes:
        changes: dict[str, object] = {
            "name": attribute.name.capitalize(),
            "description": _description(attribute.description),
            "required": None,
            "index_codes": _codes(attribute.index_codes),
        }
        if isinstance(attribute, ChoiceAttribute):
            selected = attribute.max_selected
            changes["max_selected"] = selected if selected and selected > 1 else 1
            changes["values"] = tuple(
                dataclasses.replace(
                    value,
                    description=_description(value.description),
                    index_codes=_codes(value.index_codes),
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
        description=_description(model.description),
        synonyms=_split(model.synonyms),
        tags=_split(model.tags),
        contributors=tuple(contributors),
        attributes=tuple(attributes),
        index_codes=_codes(model.index_codes),
        anatomic_locations=(),
    )
