"""Start-up and get latency of agent_vault against the pure-Python pyrage
path the original SDK used, measured side by side in one run.

Run through ./bench.sh, which makes a venv with pyrage. The vaults are made
with bin/agent-vault in a throwaway HOME: a secret readable by the owner
alone (1 recipient) and one shared with 99 agents (100 recipients), read by
the last agent, the worst case for trying stanzas in order.

Prints a markdown table of medians and the ratios between them.

``--baseline DIR`` adds another checkout's bindings/python (module built
with ``make build``) to the cold runs, interleaved with the others, so a
change is measured against its parent in one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

REPO_ROOT = Path(__file__).resolve().parents[2]
CLI = Path(os.environ.get("AGENT_VAULT_CLI", REPO_ROOT / "bin" / "agent-vault"))
AGENTS = 99

AGENT_VAULT_COLD = (
    "import sys; from agent_vault import Vault; "
    "print(Vault(repo_path=sys.argv[1], key_path=sys.argv[2]).get(sys.argv[3]))"
)
PYRAGE_COLD = (
    "import sys, pyrage; from pyrage import x25519; "
    "key = [l for l in open(sys.argv[2]).read().split() if l.startswith('AGE-SECRET-KEY-')][0]; "
    "data = open(sys.argv[1] + '/.agent-vault/secrets/' + sys.argv[3] + '.enc', 'rb').read(); "
    "print(pyrage.decrypt(data, [x25519.Identity.from_str(key)]).decode())"
)
PYTHON_ONLY = "print('x')"


def make_vault(root: Path) -> Tuple[Path, Dict[str, str]]:
    """Makes the benchmark vault; returns the repo and the CLI environment."""
    if not CLI.is_file():
        sys.exit(f"bench: {CLI} is missing: run `make build` first")
    home, repo = root / "home", root / "repo"
    home.mkdir()
    repo.mkdir()
    env = dict(os.environ, HOME=str(home), GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.invalid",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.invalid")
    env.pop("AGENT_VAULT_KEY", None)

    def run(*args: str, stdin: bytes | None = None) -> None:
        subprocess.run(args, cwd=repo, env=env, input=stdin, check=True, capture_output=True)

    run("git", "init", "-q", "-b", "main")
    run(str(CLI), "init")
    names = [f"agent-{i:03d}" for i in range(1, AGENTS + 1)]
    for i, name in enumerate(names):
        run(str(CLI), "add-agent", name)
        if (i + 1) % 25 == 0:
            print(f"  added {i + 1}/{AGENTS} agents", file=sys.stderr)
    # Throwaway values: the benchmark vault lives in a temp dir.
    run(str(CLI), "set", "solo/token", "-", stdin=b"bench-solo-value")
    run(str(CLI), "set", "shared/token", "-", "--agents", ",".join(names), stdin=b"bench-shared-value")
    return repo, env


def baseline_env(env: Dict[str, str], baseline: str) -> Dict[str, str]:
    """env with the baseline checkout's package first on the import path."""
    src = str(Path(baseline).resolve() / "src")
    if not (Path(src) / "agent_vault" / "agent_vault.wasm").is_file():
        sys.exit(f"bench: {src}/agent_vault/agent_vault.wasm is missing: run `make build` in the baseline")
    return dict(env, PYTHONPATH=os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p))


def time_process(code: str, args: List[str], env: Dict[str, str]) -> Tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"bench: a timed process failed: {proc.stderr}")
    return elapsed, proc.stdout.strip()


def median_ms(samples: List[float]) -> float:
    return statistics.median(samples) * 1000


def per_call(fn: Callable[[], object], n: int) -> List[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold-runs", type=int, default=15, help="new processes per cold-start variant")
    parser.add_argument("--warm-gets", type=int, default=300, help="gets per warm variant")
    parser.add_argument("--baseline", default="", help="another checkout's bindings/python, for the cold runs")
    opts = parser.parse_args()

    import pyrage
    from pyrage import x25519

    from agent_vault import Vault

    with tempfile.TemporaryDirectory(prefix="agent-vault-bench-") as tmp:
        root = Path(tmp)
        print(f"making a vault with the owner and {AGENTS} agents ...", file=sys.stderr)
        repo, env = make_vault(root)
        keys = root / "home" / ".agent-vault"
        owner_key = keys / "owner.key"
        last_key = keys / "agents" / f"agent-{AGENTS:03d}.key"
        cases = {
            "1 recipient": (owner_key, "solo/token", "bench-solo-value"),
            "100 recipients": (last_key, "shared/token", "bench-shared-value"),
        }
        proc_env = dict(os.environ)
        proc_env.pop("AGENT_VAULT_KEY", None)

        # The first process after an install compiles the module.
        first_env = dict(proc_env, XDG_CACHE_HOME=str(root / "empty-cache"))
        first_run, _ = time_process(AGENT_VAULT_COLD, [str(repo), str(owner_key), "solo/token"], first_env)

        impls = [("agent_vault", AGENT_VAULT_COLD, proc_env), ("pyrage", PYRAGE_COLD, proc_env)]
        if opts.baseline:
            base_env = baseline_env(proc_env, opts.baseline)
            # Its first process compiles its module into the shared cache.
            time_process(AGENT_VAULT_COLD, [str(repo), str(owner_key), "solo/token"], base_env)
            impls.append(("baseline", AGENT_VAULT_COLD, base_env))

        cold: Dict[Tuple[str, str], List[float]] = {}
        python_only: List[float] = []
        print(f"cold start: {opts.cold_runs} rounds ...", file=sys.stderr)
        for _ in range(opts.cold_runs):
            # Interleaved so every variant sees the same machine load.
            python_only.append(time_process(PYTHON_ONLY, [], proc_env)[0])
            for label, (key, name, want) in cases.items():
                for impl, code, impl_env in impls:
                    t, out = time_process(code, [str(repo), str(key), name], impl_env)
                    if out != want:
                        sys.exit(f"bench: {impl} read the wrong value for {name}")
                    cold.setdefault((impl, label), []).append(t)

        print(f"warm get: {opts.warm_gets} gets per variant ...", file=sys.stderr)
        warm: Dict[Tuple[str, str], List[float]] = {}
        vaults = {label: Vault(repo_path=repo, key_path=key) for label, (key, _, _) in cases.items()}
        identities = {
            label: x25519.Identity.from_str(
                next(w for w in key.read_text().split() if w.startswith("AGE-SECRET-KEY-"))
            )
            for label, (key, _, _) in cases.items()
        }
        for label, (_, name, want) in cases.items():
            v = vaults[label]
            enc = repo / ".agent-vault" / "secrets" / f"{name}.enc"

            def via_pyrage(enc: Path = enc, ident: object = identities[label]) -> bytes:
                out: bytes = pyrage.decrypt(enc.read_bytes(), [ident])
                return out

            if v.get(name) != want or via_pyrage().decode() != want:
                sys.exit(f"bench: wrong value for {name}")
            for _ in range(3):  # interleave rounds against load drift
                warm.setdefault(("agent_vault", label), []).extend(per_call(lambda: v.get(name), opts.warm_gets // 3))
                warm.setdefault(("pyrage", label), []).extend(per_call(via_pyrage, opts.warm_gets // 3))
        for v in vaults.values():
            v.close()

    report(cold, warm, median_ms(python_only), first_run * 1000, opts)


def report(
    cold: Dict[Tuple[str, str], List[float]],
    warm: Dict[Tuple[str, str], List[float]],
    python_ms: float,
    first_ms: float,
    opts: argparse.Namespace,
) -> None:
    c = {k: median_ms(v) for k, v in cold.items()}
    w = {k: median_ms(v) for k, v in warm.items()}
    one, hundred = "1 recipient", "100 recipients"
    print()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; medians of {opts.cold_runs} processes "
          f"and {opts.warm_gets // 3 * 3} gets per variant.")
    print()
    print("| measurement | agent_vault (Go core in wasmtime) | pyrage (original SDK path) |")
    print("|---|---:|---:|")
    for label in (one, hundred):
        print(f"| cold start to plaintext, {label} | {c[('agent_vault', label)]:.1f} ms | {c[('pyrage', label)]:.1f} ms |")
    if opts.baseline:
        for label in (one, hundred):
            print(f"| cold start to plaintext, {label}, baseline | {c[('baseline', label)]:.1f} ms | |")
    for label in (one, hundred):
        print(f"| warm get, {label} | {w[('agent_vault', label)] * 1000:.0f} µs | {w[('pyrage', label)] * 1000:.0f} µs |")
    print(f"| `python -c \"print('x')\"` (interpreter alone) | {python_ms:.1f} ms | |")
    print(f"| first cold start after install (compiles the module once) | {first_ms:.0f} ms | |")
    print()
    print("Ratios (same run):")
    print(f"- agent_vault warm get: 100 recipients = {w[('agent_vault', hundred)] / w[('agent_vault', one)]:.2f}x "
          f"its 1-recipient get; pyrage: 100 = {w[('pyrage', hundred)] / w[('pyrage', one)]:.2f}x pyrage 1")
    print(f"- warm get at 100 recipients: pyrage / agent_vault = "
          f"{w[('pyrage', hundred)] / w[('agent_vault', hundred)]:.2f}x")
    print(f"- warm get at 1 recipient: pyrage / agent_vault = {w[('pyrage', one)] / w[('agent_vault', one)]:.2f}x")
    print(f"- cold start: agent_vault / pyrage = {c[('agent_vault', one)] / c[('pyrage', one)]:.2f}x (1 recipient), "
          f"{c[('agent_vault', hundred)] / c[('pyrage', hundred)]:.2f}x (100 recipients)")
    if opts.baseline:
        print(f"- cold start: agent_vault / baseline = {c[('agent_vault', one)] / c[('baseline', one)]:.2f}x "
              f"(1 recipient), {c[('agent_vault', hundred)] / c[('baseline', hundred)]:.2f}x (100 recipients); "
              f"baseline: {opts.baseline}")
    print(f"- cold start: agent_vault 100 recipients = "
          f"{c[('agent_vault', hundred)] / c[('agent_vault', one)]:.2f}x its 1-recipient start; "
          f"pyrage = {c[('pyrage', hundred)] / c[('pyrage', one)]:.2f}x")


if __name__ == "__main__":
    main()
