"""Warm get latency of the agent_vault package against pyrage trying every
stanza (the original SDK's approach), on the benchmark vaults avbench made.

avbench runs this with the benchmark venv's Python and passes the cases as
JSON in BENCH_SPEC: {"rounds": R, "per_round": seconds, "cases": [{"name",
"repo", "key", "secret"}]}. Rounds interleave every case and library, so
all of them see the same machine load. Prints one JSON object: the median
over rounds of the mean seconds per get, keyed "<library>/<case>".
"""

import json
import os
import statistics
import time

import pyrage
from pyrage import x25519

from agent_vault import Vault


def main() -> None:
    spec = json.loads(os.environ["BENCH_SPEC"])
    runners = {}
    for c in spec["cases"]:
        v = Vault(repo_path=c["repo"], key_path=c["key"], auto_pull=False)
        key = next(w for w in open(c["key"]).read().split() if w.startswith("AGE-SECRET-KEY-"))
        ident = x25519.Identity.from_str(key)
        enc = os.path.join(c["repo"], ".agent-vault", "secrets", c["secret"] + ".enc")

        def ours(v=v, s=c["secret"]):
            return v.get_bytes(s)

        def naive(enc=enc, ident=ident):
            with open(enc, "rb") as f:
                return pyrage.decrypt(f.read(), [ident])

        if ours() != naive():
            raise SystemExit("warm.py: agent_vault and pyrage disagree on " + c["secret"])
        runners["agent_vault/" + c["name"]] = ours
        runners["pyrage/" + c["name"]] = naive
    names = list(runners)
    samples = {n: [] for n in names}
    for r in range(spec["rounds"]):
        for k in range(len(names)):
            name = names[(r + k) % len(names)]
            fn, n, start = runners[name], 0, time.perf_counter()
            while True:
                fn()
                n += 1
                if time.perf_counter() - start >= spec["per_round"]:
                    break
            samples[name].append((time.perf_counter() - start) / n)
    print(json.dumps({n: statistics.median(s) for n, s in samples.items()}))


if __name__ == "__main__":
    main()
