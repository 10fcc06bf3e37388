"""The user's own registry of code systems ($ONTOMAP_REGISTRY, ~/.config/ontomap/…)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import EXAMPLES, ROOT

REGISTRY = """
[systems.ACRCOMMON]
label = "ACR Common"
aliases = ["ACR"]
prefix = "acrcommon"
namespace = "https://example.org/acr-common/"
pattern = '^[0-9]+$'
"""


def _cli(*args: object, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ontomap", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        timeout=300,
        env=env,
    )


def _model(folder: Path) -> Path:
    model = json.loads((EXAMPLES / "solitary_pulmonary_nodule.fm.json").read_text("utf-8"))
    model["index_codes"] = [{"system": "ACR", "code": "1234", "display": "acr thing"}]
    path = folder / "m.fm.json"
    path.write_text(json.dumps(model), "utf-8")
    return path


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONTOMAP_", "XDG_"))}
    env["HOME"] = str(tmp_path / "home")
    return {**env, **extra}


def test_without_a_registry_the_code_is_kept_under_the_generic_namespace(tmp_path: Path) -> None:
    done = _cli("export", _model(tmp_path), "-f", "nt", env=_env(tmp_path))
    assert done.returncode == 0, done.stderr.decode()
    assert b"<https://w3id.org/ontomap/code/ACR/1234>" in done.stdout
    assert b"unknown code system 'ACR'" in done.stderr
    assert b"ONTOMAP_REGISTRY" in done.stderr


def test_the_user_registry_names_the_system(tmp_path: Path) -> None:
    registry = tmp_path / "mine.toml"
    registry.write_text(REGISTRY, "utf-8")
    for env in (
        _env(tmp_path, ONTOMAP_REGISTRY=str(registry)),
        _env(tmp_path, XDG_CONFIG_HOME=str(tmp_path / "config")),
    ):
        config = tmp_path / "config" / "ontomap"
        config.mkdir(parents=True, exist_ok=True)
        (config / "terminologies.toml").write_text(REGISTRY, "utf-8")
        done = _cli("export", _model(tmp_path), "-f", "ttl", env=env)
        assert done.returncode == 0, done.stderr.decode()
        assert b"@prefix acrcommon: <https://example.org/acr-common/> ." in done.stdout
        assert b"acrcommon:1234" in done.stdout and b"unknown code system" not in done.stderr


def test_a_broken_registry_stops_with_its_name_and_line(tmp_path: Path) -> None:
    registry = tmp_path / "broken.toml"
    registry.write_text('[systems.X]\nlabel = "x"\nprefix = \n', "utf-8")
    done = _cli("export", _model(tmp_path), env=_env(tmp_path, ONTOMAP_REGISTRY=str(registry)))
    assert done.returncode == 2
    message = done.stderr.decode()
    assert str(registry) in message and "line 3" in message and "Traceback" not in message
    registry.write_text('[systems.X]\nlabel = "x"\n', "utf-8")
    done = _cli("export", _model(tmp_path), env=_env(tmp_path, ONTOMAP_REGISTRY=str(registry)))
    assert done.returncode == 2 and b"needs prefix, namespace" in done.stderr
