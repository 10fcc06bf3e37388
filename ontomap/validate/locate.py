"""Line numbers of the items of a finding model in its source text (JSON or Markdown).

A *path* names an item of a model the way its JSON does: ``("attributes", 2, "values", 1,
"value_code")``. The readers' located records (:mod:`ontomap.readers.located`) answer
``line(path)``: the 1-based line of that item in the file, or of the nearest enclosing item that
has one. The validator asks the same record the reader made the model from; it parses nothing
itself.
"""

from __future__ import annotations

from ontomap.readers.json_positions import JsonLocator, Path
from ontomap.readers.located import JsonRecord, Locator, MarkdownRecord

__all__ = ["JsonLocator", "JsonRecord", "Locator", "MarkdownLocator", "MarkdownRecord", "Path"]

#: The locator of a Markdown file is its record.
MarkdownLocator = MarkdownRecord
