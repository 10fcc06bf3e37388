"""The crosswalk as tools for AI agents: an MCP (Model Context Protocol) server.

``ontomap mcp`` serves the tools of :class:`~ontomap.mcp.tools.Tools` over stdio (or
streamable HTTP on loopback): ``lookup_code``, ``where_used``, ``translate``,
``validate_codes``, ``search_findings``, ``get_finding``, ``sparql_select`` and
``mapping_set``, and each finding model as the resource ``ontomap://findings/{oifm_id}``.
See docs/mcp.md.

>>> from ontomap.mcp import Tools
>>> with Tools("./kg") as tools:  # doctest: +SKIP
...     tools.translate("RADLEX:RID5791", "SNOMED")["matches"][0]["curie"]
'sct:263768009'

:mod:`ontomap.mcp.tools` needs nothing beyond ontomap itself; :mod:`ontomap.mcp.server`
needs the MCP Python SDK (``pip install "ontomap[mcp]"``).
"""

from __future__ import annotations

from ontomap.mcp.tools import ToolInputError, Tools

__all__ = ["ToolInputError", "Tools"]
