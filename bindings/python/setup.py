"""Build step of the agent-vault package (the metadata is in pyproject.toml).

A wheel must carry the WebAssembly module, which is built from the Go
sources of this repository and not committed. When the package directory
has no agent_vault.wasm (a clean clone), ``make wasm`` at the repository
root builds it; without Go the build fails here, instead of installing a
package that fails at its first ``Vault()``.

The wheel also carries the module compiled by the wasmtime of the build,
so the first get after installing does not spend seconds compiling it
(agent_vault/_cache.py uses it when the installed wasmtime is the same).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WASM = os.path.join(HERE, "src", "agent_vault", "agent_vault.wasm")
MISSING = "agent_vault.wasm is missing: install Go >= 1.26 (and make) or use a built wheel"


def _build_wasm() -> str:
    """Builds the module at the repository root; returns its path."""
    if not os.path.isfile(os.path.join(ROOT, "go.mod")) or not os.path.isdir(os.path.join(ROOT, "wasm", "guest")):
        raise SystemExit(f"{MISSING} (and no agent-vault source tree around {HERE} to build it from)")
    for tool in ("go", "make"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{MISSING} ({tool} is not on PATH)")
    print("agent-vault: building agent_vault.wasm with `make wasm` (takes a minute)", flush=True)
    if subprocess.run(["make", "-C", ROOT, "--no-print-directory", "wasm"]).returncode != 0:
        raise SystemExit(f"{MISSING} (`make wasm` failed in {ROOT}; see its output above)")
    return os.path.join(ROOT, "build", "agent_vault.wasm")


class BuildPy(build_py):
    """build_py that puts the module into the package it builds."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install runs from src/, as `make build` left it
        target = os.path.join(self.build_lib, "agent_vault", "agent_vault.wasm")
        if not os.path.isfile(target):
            self.copy_file(WASM if os.path.isfile(WASM) else _build_wasm(), target)
        _precompile(target)


def _precompile(wasm_path: str) -> None:
    """Writes agent_vault.cwasm beside the module and, in a .json beside it,
    the wasmtime version and both files' SHA-256."""
    from importlib.metadata import version

    import wasmtime

    print(f"agent-vault: precompiling the module with wasmtime {version('wasmtime')}", flush=True)
    with open(wasm_path, "rb") as f:
        wasm = f.read()
    cwasm = bytes(wasmtime.Module(wasmtime.Engine(), wasm).serialize())
    out = os.path.join(os.path.dirname(wasm_path), "agent_vault.cwasm")
    with open(out, "wb") as f:
        f.write(cwasm)
    meta = {"wasmtime": version("wasmtime"), "wasm_sha256": hashlib.sha256(wasm).hexdigest(),
            "sha256": hashlib.sha256(cwasm).hexdigest()}
    with open(out + ".json", "w") as f:
        json.dump(meta, f)


setup(cmdclass={"build_py": BuildPy})
