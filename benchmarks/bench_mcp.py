"""Time the tools of ``ontomap mcp`` through the MCP SDK's client.

    python benchmarks/bench_mcp.py --store ./kg [--repeat 20]

Each tool is called ``--repeat`` times on an in-process server (the SDK's client and server,
JSON-RPC framing included; the first call of each tool is timed apart: it reads the store's
search index or starts the query worker), then over stdio the time from starting
``ontomap mcp`` to the first answer. Prints one row per measure: median, min and max in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

from ontomap.mcp.server import build_server
from ontomap.mcp.tools import Tools

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("lookup_code", {"code": "RADLEX:RID5791"}),
    ("lookup_code", {"code": "RADLEX:RID5791", "limit": 1000}),
    ("where_used", {"code": "sct:263768009", "limit": 100}),
    ("translate", {"code": "RADLEX:RID28473", "target_system": "SNOMED"}),
    ("validate_codes", {"codes": ["RID5791", "sct:263768009", "sct:263768008", "FOO:1"] * 25}),
    ("search_findings", {"query": "abscess"}),
    ("search_findings", {"query": "RADLEX:RID5791", "limit": 100}),
    ("get_finding", {"oifm_id": "OIFM_GMTS_004244"}),
    ("sparql_select", {"query": "SELECT ?f WHERE { ?f a oifm:FindingModel } LIMIT 100"}),
    ("mapping_set", {"source_system": "RADLEX", "target_system": "SNOMED", "limit": 100}),
]


def _row(name: str, times: list[float]) -> str:
    ms = [t * 1000 for t in times]
    return f"| {name} | {len(ms)} | {statistics.median(ms):.1f} | {min(ms):.1f} | {max(ms):.1f} |"


async def in_process(store: Path, repeat: int) -> list[str]:
    rows = []
    with Tools(store) as tools:
        async with Client(build_server(tools)) as client:
            for name, args in CALLS:
                label = f"{name} {' '.join(f'{k}={str(v)[:24]}' for k, v in args.items())}"
                started = time.perf_counter()
                first = await client.call_tool(name, args)
                assert not first.is_error, first.content[0].text
                rows.append(_row(f"{label} (first)", [time.perf_counter() - started]))
                times = []
                for _ in range(repeat):
                    started = time.perf_counter()
                    answer = await client.call_tool(name, args)
                    times.append(time.perf_counter() - started)
                    assert not answer.is_error
                rows.append(_row(label, times))
    return rows


async def over_stdio(store: Path, repeat: int) -> list[str]:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "ontomap", "mcp", "--store", str(store)]
    )
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        async with Client(params) as client:
            answer = await client.call_tool("lookup_code", {"code": "RID5791", "limit": 1})
            times.append(time.perf_counter() - started)
            assert not answer.is_error
    return [_row("stdio: start, initialize, first lookup_code", times)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--stdio-repeat", type=int, default=5)
    options = parser.parse_args()
    rows = asyncio.run(in_process(options.store, options.repeat))
    rows += asyncio.run(over_stdio(options.store, options.stdio_repeat))
    print("| call | n | median ms | min ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
