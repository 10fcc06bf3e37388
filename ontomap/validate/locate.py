"""Line numbers of the items of a finding model in its source text (JSON or Markdown).

A *path* names an item of a model the way its JSON does: ``("attributes", 2, "values", 1,
"value_code")``. A locator answers ``line(path)``: the 1-based line of that item in the file, or
of the nearest enclosing item that has one. JSON positions are computed lazily, on the first
question, so files without findings cost nothing.
"""

from __future__ import annotations

import contextlib
import re
from bisect import bisect_right
from json import scanner
from json.decoder import scanstring
from typing import Protocol

from ontomap.readers.markdown_reader import ATTRIBUTE_RE, TITLE_RE

Path = tuple[str | int, ...]


class Locator(Protocol):
    """Answers where an item of a model is written."""

    def line(self, path: Path) -> int | None: ...


class _Lines:
    """Offsets → 1-based line numbers."""

    __slots__ = ("_starts",)

    def __init__(self, text: str) -> None:
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def of(self, offset: int) -> int:
        return bisect_right(self._starts, offset)


_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = scanner.NUMBER_RE


class JsonLocator:
    """Lines of the members and items of a JSON document.

    A member's line is the line of its key; a list item's, the line where the item starts.
    The text must be valid JSON (as :func:`json.loads` accepted it).
    """

    __slots__ = ("_lines", "_positions", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._positions: dict[Path, int] | None = None
        self._lines: _Lines | None = None

    def line(self, path: Path) -> int | None:
        if self._positions is None:
            self._positions = {}
            self._lines = _Lines(self.text)
            # not valid JSON after all: keep the positions found so far
            with contextlib.suppress(IndexError, ValueError):
                self._scan(_WS.match(self.text, 0).end(), ())  # type: ignore[union-attr]
        assert self._lines is not None
        for depth in range(len(path), -1, -1):
            offset = self._positions.get(path[:depth])
            if offset is not None:
                return self._lines.of(offset)
        return None

    def _scan(self, i: int, path: Path) -> int:
        """Record positions in the value starting at ``i``; return the offset after it."""
        text, positions, ws = self.text, self._positions, _WS.match
        assert positions is not None
        positions.setdefault(path, i)
        char = text[i]
        if char == "{":
            i = ws(text, i + 1).end()
            if text[i] == "}":
                return i + 1
            while True:
                key_at = i
                key, i = scanstring(text, i + 1)
                i = ws(text, i).end() + 1  # the ':'
                member = (*path, key)
                positions[member] = key_at
                i = self._scan(ws(text, i).end(), member)
                i = ws(text, i).end()
                if text[i] == "}":
                    return i + 1
                i = ws(text, i + 1).end()  # past the ','
        if char == "[":
            i = ws(text, i + 1).end()
            if text[i] == "]":
                return i + 1
            index = 0
            while True:
                i = self._scan(i, (*path, index))
                i = ws(text, i).end()
                if text[i] == "]":
                    return i + 1
                i = ws(text, i + 1).end()
                index += 1
        if char == '"':
            return scanstring(text, i + 1)[1]
        for word in ("true", "false", "null"):
            if text.startswith(word, i):
                return i + len(word)
        match = _NUMBER.match(text, i)
        if match is None:
            raise ValueError(f"unexpected character at offset {i}")
        return match.end()


# -- Markdown -----------------------------------------------------------------------------------

_VALUE = re.compile(r"- \*\*")
_VALUE_CODES = re.compile(r"_.+_\s*$")
_CODES = re.compile(r"\*\*Codes(?::\*\*|\*\*:)")
_NUMERIC = re.compile(r"(?P<field>Mininum|Minimum|Maximum|Unit):")
_SELECT = re.compile(r"\*\(Select ")


class MarkdownLocator:
    """Lines of the items of a finding model in its Markdown rendering.

    It follows the layout the Markdown reader documents (``# Name—`ID```, ``### Attribute—`ID```,
    ``- **value**`` bullets, ``**Codes**`` and ``_code_`` lines, ``Minimum:``…), and answers
    paths of the JSON shape, so the same checks run on JSON and on Markdown.
    """

    __slots__ = ("_attributes", "_contributors", "_header", "lines", "title")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        #: ``(line, id)`` of the title, or ``None``.
        self.title: tuple[int, str] | None = None
        self._header: dict[str, int] = {}
        self._attributes: list[dict[str | tuple[str, int], int]] = []
        self._contributors: list[int] = []
        self._scan()

    def _scan(self) -> None:
        attribute: dict[str | tuple[str, int], int] | None = None
        values = 0
        contributors = False
        for number, line in enumerate(self.lines, start=1):
            stripped = line.strip()
            if self.title is None:
                match = TITLE_RE.fullmatch(line)
                if match:
                    self.title = (number, match["id"].strip())
                continue
            match = ATTRIBUTE_RE.fullmatch(line)
            if match:
                attribute = {"": number, "id": number}
                self._attributes.append(attribute)
                values = 0
                continue
            if stripped == "**Contributors**":
                contributors, attribute = True, None
                continue
            if contributors:
                if line.startswith("- "):
                    self._contributors.append(number)
                continue
            if attribute is None:
                header = self._header
                if line.startswith("**Synonyms:**"):
                    header.setdefault("synonyms", number)
                elif line.startswith("**Tags:**"):
                    header.setdefault("tags", number)
                elif _CODES.match(line):
                    header.setdefault("index_codes", number)
                elif stripped and not line.startswith("#") and stripped != "---":
                    header.setdefault("description", number)
                continue
            if _VALUE.match(line):
                attribute[("value", values)] = number
                values += 1
            elif _VALUE_CODES.match(line) and values:
                attribute.setdefault(("codes", values - 1), number)
            elif _CODES.match(line):
                attribute.setdefault("index_codes", number)
            elif _SELECT.match(line):
                attribute.setdefault("max_selected", number)
            elif match := _NUMERIC.match(line):
                key = {"Mininum": "minimum"}.get(match["field"], match["field"].lower())
                attribute.setdefault(key, number)
            elif stripped and not values:
                attribute.setdefault("description", number)

    def attribute_headings(self) -> list[tuple[int, str]]:
        """``(line, id)`` of every attribute heading, in order."""
        out = []
        for attribute in self._attributes:
            match = ATTRIBUTE_RE.fullmatch(self.lines[attribute[""] - 1])
            assert match is not None
            out.append((attribute[""], match["id"].strip()))
        return out

    def line(self, path: Path) -> int | None:
        title = self.title[0] if self.title else 1
        if not path or path[0] in ("oifm_id", "name"):
            return title
        head = path[0]
        if head == "attributes" and len(path) > 1 and isinstance(path[1], int):
            if path[1] >= len(self._attributes):
                return title
            attribute = self._attributes[path[1]]
            if len(path) == 2:
                return attribute[""]
            field = path[2]
            if field == "values" and len(path) > 3 and isinstance(path[3], int):
                bullet = attribute.get(("value", path[3]), attribute[""])
                if len(path) > 4 and path[4] == "index_codes":
                    return attribute.get(("codes", path[3]), bullet)
                return bullet
            if field == "oifma_id":
                return attribute[""]
            return attribute.get(str(field), attribute[""])
        if head == "contributors" and len(path) > 1 and isinstance(path[1], int):
            if path[1] < len(self._contributors):
                return self._contributors[path[1]]
            return title
        return self._header.get(str(head), title)

    def system_spelling(self, line: int | None, code: str) -> str | None:
        """The system name written before ``code`` on ``line`` (``SNOMEDCT`` in
        ``SNOMEDCT 12345 …``), or ``None`` where it cannot be found."""
        if line is None or not 0 < line <= len(self.lines):
            return None
        match = re.search(
            r"(?:^|[\s_;:*])([A-Za-z][A-Za-z0-9_-]*)\s+" + re.escape(code) + r"(?![0-9A-Za-z])",
            self.lines[line - 1],
        )
        return match.group(1) if match else None
