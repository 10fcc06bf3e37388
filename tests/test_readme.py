"""The README's examples run verbatim after its two Set-up commands.

Every ``sh`` block is run by bash (``set -e``, ``pipefail``) and every ``python`` block by this
Python, in README order, in one scratch project folder that sees the clone's ``ontologies/``,
``ontomap/`` and ``tests/`` and, beside it, ``../shared`` where the corpus is. Set up is done
first as the README says (its ``ontomap build`` of the examples into ``./kg``; the installs are
what this test environment already is). A block right under an HTML comment starting "not run"
is left out: it says why. A command whose line ends in a comment ``# exits N …`` must exit
with N (``validate`` exits 1 when it finds errors). A command ending in ``&`` (a server) runs in
the background, and the next line waits until the ``127.0.0.1:PORT`` that line names accepts
connections, as a user would wait for the server to start; whatever is still running when the
block ends is stopped.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CORPUS, ROOT

README = ROOT / "README.md"
EXITS = re.compile(r"^(?P<command>.*?)\s+#\s*exits (?P<code>\d+)\b.*$", re.M)
#: A server started in the background, with the port it listens on.
BACKGROUND = re.compile(r"^[^#\n]*&[ \t]*(?:#[^\n]*)?$", re.M)
PORT = re.compile(r"127\.0\.0\.1:(\d+)")
#: Bash: wait up to 60 s until a local port accepts connections; stop background jobs at exit.
SERVERS = """
_wait_port() {
    for _ in $(seq 600); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on 127.0.0.1:$1 after 60 s" >&2; return 1
}
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
"""


def _with_waits(script: str) -> str:
    """``script`` with a wait for its port after each line that starts a server (``… &``)."""

    def wait(match: re.Match[str]) -> str:
        ports = PORT.findall(match.group(0))
        assert ports, f"a background command names no 127.0.0.1:PORT: {match.group(0)}"
        return match.group(0) + "\n" + "".join(f"_wait_port {p}\n" for p in ports)

    return BACKGROUND.sub(wait, script)


BLOCK = re.compile(r"(?:<!--(?P<note>[^>]*)-->\n)?```(?P<lang>sh|python)\n(?P<body>.*?)```", re.S)


def _blocks() -> list[tuple[int, str, str, str]]:
    text = README.read_text("utf-8")
    out = []
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start("lang")) + 1
        out.append((line, match["lang"], match["body"], (match["note"] or "").strip()))
    return out


BLOCKS = _blocks()
SETUP = [b for b in BLOCKS if "pip install" in b[2]]
EXAMPLES = [b for b in BLOCKS if b not in SETUP]


def test_the_readme_has_its_two_set_up_commands() -> None:
    assert len(SETUP) == 2
    assert "ontomap build ontologies/examples --store ./kg" in SETUP[0][2]
    assert SETUP[1][2].strip().endswith("pytest")
    assert len(EXAMPLES) >= 9


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("readme")
    folder = root / "ontomap"
    folder.mkdir()
    for name in ("ontologies", "ontomap", "tests"):
        (folder / name).symlink_to(ROOT / name)
    if CORPUS.exists():
        (root / "shared").symlink_to(CORPUS.parents[1])
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONTOMAP_")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(root / "home")  # the default store, if a command fell back on it
    setup = SETUP[0][2].split("&& ontomap ", 1)[1]
    done = subprocess.run(
        ["bash", "-c", f"ontomap {setup}"], cwd=folder, env=env, capture_output=True, timeout=300
    )
    assert done.returncode == 0, done.stderr.decode()
    return folder, env


@pytest.mark.parametrize(
    ("line", "lang", "body", "note"), EXAMPLES, ids=[f"README.md:{b[0]}" for b in EXAMPLES]
)
def test_readme_example_runs(
    project: tuple[Path, dict[str, str]], line: int, lang: str, body: str, note: str
) -> None:
    if note.startswith("not run"):
        pytest.skip(f"README.md:{line}: {note}")
    if "../shared/corpus" in body and not CORPUS.exists():
        pytest.skip(f"README.md:{line} reads the corpus, which is not at {CORPUS}")
    folder, env = project
    if lang == "sh":
        script = _with_waits(EXITS.sub(r"(set +e; \g<command>; test $? -eq \g<code>)", body))
        command = ["bash", "-c", "set -euo pipefail\n" + SERVERS + script]
    else:
        command = [sys.executable, "-c", body]
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, timeout=600)
    output = (done.stdout + done.stderr).decode(errors="replace")
    assert done.returncode == 0, f"README.md:{line} failed:\n{body}\n{output[-3000:]}"
    assert "Traceback" not in output, f"README.md:{line}:\n{output[-3000:]}"
