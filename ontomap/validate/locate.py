"""Line numbers of the items of a finding model in its source text (JSON or Markdown).

A *path* names an item of a model the way its JSON does: ``("attributes", 2, "values", 1,
"value_code")``. A locator answers ``line(path)``: the 1-based line of that item in the file, or
of the nearest enclosing item that has one. JSON positions are computed lazily, on the first
question, so files without findings cost nothing.
"""

from __future__ import annotations

import re
from typing import Protocol

from ontomap.readers.json_positions import JsonLocator, Path
from ontomap.readers.markdown_reader import ATTRIBUTE_RE, TITLE_RE

__all__ = ["JsonLocator", "Locator", "MarkdownLocator", "Path"]


class Locator(Protocol):
    """Answers where an item of a model is written."""

    def line(self, path: Path) -> int | None: ...


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

    __slots__ = ("_attributes", "_contributors", "_header", "_spellings", "lines", "title")

    def __init__(self, text: str) -> None:
        # lines as the Markdown reader counts them: split at "\n" only (U+2028, U+0085 and
        # the like are text), without a final "\r" or the byte-order mark
        self.lines = [line.removesuffix("\r") for line in text.removeprefix("\ufeff").split("\n")]
        #: ``(line, id)`` of the title, or ``None``.
        self.title: tuple[int, str] | None = None
        self._header: dict[str, int] = {}
        self._attributes: list[dict[str | tuple[str, int], int]] = []
        self._contributors: list[int] = []
        self._spellings: dict[int, dict[str, str]] = {}
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
        spellings = self._spellings.get(line)
        if spellings is None:
            spellings = self._spellings[line] = _spellings(self.lines[line - 1])
        return spellings.get(code)


_SPELLED = re.compile(r"(?:^|(?<=[\s_;:*]))([A-Za-z][A-Za-z0-9_-]*)\s+(?=(\S+))")
_ALNUM = re.compile(r"[0-9A-Za-z]")
#: Longest code :func:`_spellings` finds a spelling for (codes are far shorter).
_LONGEST_CODE = 200


def _spellings(text: str) -> dict[str, str]:
    """Code → the system name written before it (``SNOMEDCT`` in ``SNOMEDCT 12345 …``), for the
    first ``NAME code`` of each code on a line, in one pass (a code ends where a character
    that is not a letter or digit follows, or at white space)."""
    out: dict[str, str] = {}
    for match in _SPELLED.finditer(text):
        word, token = match.group(1), match.group(2)[:_LONGEST_CODE]
        for end in range(1, len(token) + 1):
            if end == len(token) or not _ALNUM.match(token, end):
                out.setdefault(token[:end], word)
    return out
