"""Installing the package from a clean clone, as a user would with pip:
the wheel carries the module, or the build fails saying why."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO_ROOT, VECTORS


def _clean_clone(tmp_path: Path) -> Path:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True, capture_output=True)
    assert not (clone / "bindings" / "python" / "src" / "agent_vault" / "agent_vault.wasm").exists()
    return clone


def _venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, capture_output=True)
    return path / "bin" / "python"


def _pip_install(python: Path, clone: Path, env: dict) -> subprocess.CompletedProcess:
    url = f"git+file://{clone}#subdirectory=bindings/python"
    return subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", url],
                          env=env, capture_output=True, text=True, cwd=clone.parent)


def test_install_from_a_clean_clone_builds_the_module(tmp_path: Path) -> None:
    clone = _clean_clone(tmp_path)
    python = _venv(tmp_path / "venv")
    proc = _pip_install(python, clone, dict(os.environ))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    case = next(c for c in json.loads((VECTORS / "cases.json").read_text())["cases"]
                if c["name"] == "get stripe/api-key as billing")
    # The first get after installing, in a fresh HOME and cache, with no way
    # to compile: the module must come precompiled in the wheel; the second
    # get then finds it in the cache.
    code = ("import sys, agent_vault; from agent_vault import _runtime; "
            "assert 'site-packages' in agent_vault.__file__, agent_vault.__file__; "
            "from agent_vault import _capi, _pyapi; _capi.compile = _pyapi.compile = None; "
            "from agent_vault import Vault; "
            "sys.stdout.write(Vault(sys.argv[1], key_path=sys.argv[2], auto_pull=False).get('stripe/api-key'))")
    home = tmp_path / "fresh-home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), XDG_CACHE_HOME=str(tmp_path / "fresh-cache"))
    for _ in range(2):
        run = subprocess.run([str(python), "-c", code, str(VECTORS / "vault"), str(VECTORS / "keys" / "billing.key")],
                             capture_output=True, text=True, cwd=tmp_path, env=env)
        assert run.returncode == 0, run.stderr
        assert run.stdout.encode() == base64.b64decode(case["expect"]["value_b64"])
    assert len(list((tmp_path / "fresh-cache" / "agent-vault").glob("*.cwasm.mac"))) == 1


def test_install_without_go_fails_with_a_clear_message(tmp_path: Path) -> None:
    clone = _clean_clone(tmp_path)
    python = _venv(tmp_path / "venv")
    env = dict(os.environ, PATH=f"{python.parent}{os.pathsep}/usr/bin{os.pathsep}/bin")
    assert subprocess.run(["sh", "-c", "command -v go"], env=env, capture_output=True).returncode != 0
    proc = _pip_install(python, clone, env)
    assert proc.returncode != 0
    assert "agent_vault.wasm is missing: install Go >= 1.26" in proc.stdout + proc.stderr
    check = subprocess.run([str(python), "-c", "import agent_vault"], capture_output=True, cwd=tmp_path)
    assert check.returncode != 0  # nothing half-installed
