"""Located raw records: what one source file says, with the line of every field.

Each input format has one parser, and it yields a located raw record: the file's content as
it is (for JSON, the parsed value before any check; for Markdown, what the reader found on
every line: names, descriptions, codes as written, values, bounds) with the line of every item,
plus the problems met on the way. The model is made from the record alone
(:func:`~ontomap.readers.json_reader.json_model`,
:func:`~ontomap.readers.markdown_reader.markdown_model`), and ``ontomap validate`` runs its
rules on the same record, asking it where an item is written.

A *path* names an item the way the OIFM JSON nests it: ``("attributes", 2, "values", 1,
"value_code")``. A record answers ``line(path)``: the 1-based line of that item, or of the
nearest enclosing item that has one (a Markdown record answers JSON paths too, so the same
checks run on both formats).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ontomap.errors import ModelReadError
from ontomap.readers.json_positions import JsonLocator
from ontomap.readers.json_positions import Path as ItemPath

__all__ = [
    "ItemPath",
    "JsonRecord",
    "Locator",
    "MarkdownAttribute",
    "MarkdownContributor",
    "MarkdownRecord",
    "MarkdownValue",
    "WrittenCode",
]

#: An index code as a Markdown line writes it: the system as spelled, the code, the display
#: (``None`` where there is none).
WrittenCode = tuple[str, str, str | None]


class Locator(Protocol):
    """Answers where an item of a model is written."""

    def line(self, path: ItemPath) -> int | None: ...


@dataclass(slots=True)
class JsonRecord:
    """A JSON source file: its text and its value as :func:`json.loads` gives it.

    ``data`` is ``None`` where the text is no acceptable JSON; then ``error`` says why (with the
    line). Lines of items are found on the first question (:class:`JsonLocator`), so a file
    nobody asks about costs nothing beyond its parse.
    """

    path: Path
    text: str
    data: Any = None
    error: ModelReadError | None = None
    _locator: JsonLocator | None = field(default=None, repr=False, compare=False)

    def line(self, path: ItemPath) -> int | None:
        if self._locator is None:
            self._locator = JsonLocator(self.text)
        return self._locator.line(path)


@dataclass(slots=True)
class MarkdownValue:
    """One value bullet ``- **name**: description`` of a Markdown rendering, as written."""

    name: str
    #: Its description's lines (the text after ``:`` on the bullet, then continuation lines).
    description: list[str] = field(default_factory=list)
    #: Its codes, from the line ``_SYSTEM code display_`` under it.
    codes: list[WrittenCode] = field(default_factory=list)


@dataclass(slots=True)
class MarkdownContributor:
    """One contributor bullet, as written: a person (with an email or a link) or an
    organisation."""

    name: str
    person: bool
    #: A person's organisation, or an organisation's own code, in parentheses.
    code: str | None = None
    email: str | None = None
    url: str | None = None


@dataclass(slots=True)
class MarkdownAttribute:
    """One attribute of a Markdown rendering: what is written, and where."""

    #: The line of its heading ``### Name—`OIFMA_…```.
    heading: int
    #: Its ID as written in the heading (which need not be a valid one).
    oifma_id: str
    #: The first line of each of its fields: ``description``, ``index_codes``,
    #: ``max_selected``, ``minimum``, ``maximum``, ``unit``.
    fields: dict[str, int] = field(default_factory=dict)
    #: The line of each value bullet ``- **name**``, in order.
    values: list[int] = field(default_factory=list)
    #: Value position → the first line of its codes ``_SYSTEM code display_``.
    value_codes: dict[int, int] = field(default_factory=dict)
    #: Its name as the heading writes it.
    name: str = ""
    #: ``"choice"`` or ``"numeric"``, as its lines say; ``None`` where they say neither or
    #: both (a problem of the record) or the heading stands where no attribute can be.
    kind: str | None = None
    #: Its description's lines.
    description: list[str] = field(default_factory=list)
    #: Its codes, from ``**Codes**:`` lines.
    codes: list[WrittenCode] = field(default_factory=list)
    #: ``N`` of ``*(Select up to N)*``, ``1`` for ``*(Select one)*``, ``None`` without the line.
    max_selected: int | None = None
    #: Its value bullets, in order.
    choices: list[MarkdownValue] = field(default_factory=list)
    #: ``minimum``, ``maximum`` (a number, or ``None`` for ``None`` or nothing) and ``unit``
    #: (text or ``None``), where their lines are given.
    numeric: dict[str, int | float | str | None] = field(default_factory=dict)


@dataclass(slots=True)
class MarkdownRecord:
    """A Markdown source file: what each line says, where each item is, and the problems met.

    The Markdown reader fills it in as it reads each line (the one parse of the layout); a
    problem on one line is recorded (``problems``, each a :class:`ModelReadError` with its
    line) and reading goes on, so that the record locates every item of a file even where the
    model cannot be made. The model is made from the record alone, where it has no problem
    (else the reader raises the first).
    """

    path: Path
    #: The file's text, as given to the reader.
    text: str
    #: The file's lines, split at ``\\n`` only (U+2028, U+0085 and the like are text), with a
    #: byte-order mark dropped; a line may end with ``\\r`` (CRLF files).
    raw_lines: list[str]
    #: ``(line, id)`` of the title ``# Name—`OIFM_…```, or ``None``.
    title: tuple[int, str] | None = None
    #: The first line of each field of the finding's header: ``synonyms``, ``tags``,
    #: ``index_codes``, ``description``.
    header: dict[str, int] = field(default_factory=dict)
    attributes: list[MarkdownAttribute] = field(default_factory=list)
    #: The line of each contributor bullet, in order.
    contributors: list[int] = field(default_factory=list)
    #: The finding's name as the title writes it (``None`` without a title).
    name: str | None = None
    #: The items of ``**Synonyms:**`` and ``**Tags:**`` (the last such line of each).
    synonyms: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    #: The lines of the finding's description.
    description: list[str] = field(default_factory=list)
    #: The finding's codes, from ``**Codes:**`` lines.
    codes: list[WrittenCode] = field(default_factory=list)
    #: Each contributor bullet, as written, in order (one per entry of :attr:`contributors`
    #: that could be read).
    people: list[MarkdownContributor] = field(default_factory=list)
    #: Line → code → the system name written before it there (``SNOMEDCT`` in
    #: ``SNOMEDCT 12345 …``; the model keeps only the registry key).
    spellings: dict[int, dict[str, str]] = field(default_factory=dict)
    problems: list[ModelReadError] = field(default_factory=list)
    _lines: list[str] | None = field(default=None, repr=False, compare=False)

    @property
    def lines(self) -> list[str]:
        """The file's lines without a final ``\\r``."""
        if self._lines is None:
            self._lines = [line.removesuffix("\r") for line in self.raw_lines]
        return self._lines

    def attribute_headings(self) -> list[tuple[int, str]]:
        """``(line, id)`` of every attribute heading, in order."""
        return [(attribute.heading, attribute.oifma_id) for attribute in self.attributes]

    def line(self, path: ItemPath) -> int | None:
        title = self.title[0] if self.title else 1
        if not path or path[0] in ("oifm_id", "name"):
            return title
        head = path[0]
        if head == "attributes" and len(path) > 1 and isinstance(path[1], int):
            if path[1] >= len(self.attributes):
                return title
            attribute = self.attributes[path[1]]
            if len(path) == 2:
                return attribute.heading
            key = path[2]
            if key == "values" and len(path) > 3 and isinstance(path[3], int):
                position = path[3]
                values = attribute.values
                bullet = values[position] if 0 <= position < len(values) else attribute.heading
                if len(path) > 4 and path[4] == "index_codes":
                    return attribute.value_codes.get(position, bullet)
                return bullet
            return attribute.fields.get(str(key), attribute.heading)
        if head == "contributors" and len(path) > 1 and isinstance(path[1], int):
            if 0 <= path[1] < len(self.contributors):
                return self.contributors[path[1]]
            return title
        return self.header.get(str(head), title)

    def system_spelling(self, line: int | None, code: str) -> str | None:
        """The system name written before ``code`` on ``line``, or ``None`` where there is
        none."""
        if line is None:
            return None
        return self.spellings.get(line, {}).get(code)
