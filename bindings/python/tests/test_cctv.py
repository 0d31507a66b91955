"""The C2SP CCTV age vectors through the module's raw decryption.

The vectors come from the Go module c2sp.org/CCTV/age pinned in go.sum;
`go mod download` finds (or fetches) it. Failing to find it fails the run.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import zlib
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

import agent_vault

from conftest import REPO_ROOT


def _vector_dir() -> Path:
    proc = subprocess.run(
        ["go", "mod", "download", "-json", "c2sp.org/CCTV/age"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"cannot locate the CCTV age vectors: {proc.stderr or proc.stdout}")
    d = Path(json.loads(proc.stdout)["Dir"]) / "testdata"
    if not d.is_dir():
        raise RuntimeError(f"{d} is missing")
    return d


class Vector:
    """One vector file: a header of "key: value" lines, a blank line, then
    the age file (zlib-compressed when the header says so)."""

    def __init__(self, path: Path) -> None:
        self.name = path.name
        raw = path.read_bytes()
        head, _, body = raw.partition(b"\n\n")
        self.fields: List[Tuple[str, str]] = []
        for line in head.decode().splitlines():
            k, _, v = line.partition(": ")
            self.fields.append((k, v))
        h: Dict[str, str] = dict(self.fields)
        if h.get("compressed") == "zlib":
            body = zlib.decompress(body)
        self.body = body
        self.expect = h["expect"]
        self.payload = h.get("payload")
        self.identities = [v for k, v in self.fields if k == "identity"]
        self.passphrases = [v for k, v in self.fields if k == "passphrase"]


VECTORS = sorted((Vector(p) for p in _vector_dir().iterdir() if p.is_file()), key=lambda v: v.name)


def test_vector_count() -> None:
    # Guards against an empty or truncated download passing silently.
    assert len(VECTORS) >= 140


@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_cctv(vector: Vector) -> None:
    if vector.expect == "success":
        plaintext = agent_vault.decrypt_raw(vector.body, vector.identities, vector.passphrases)
        assert vector.payload is not None
        assert hashlib.sha256(plaintext).hexdigest() == vector.payload
    else:
        with pytest.raises(agent_vault.VaultError):
            agent_vault.decrypt_raw(vector.body, vector.identities, vector.passphrases)
