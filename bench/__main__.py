"""python -m bench: run the benchmark and print one table.

    python -m bench                                   # what `make bench` runs
    python -m bench --stores sqlite --scenarios post,queries --events 5000
    python -m bench --tiny --stores sqlite            # seconds, for the smoke test
    python -m bench --profile                         # py-spy on every server, summaries

Progress goes to stderr; the table, the command and the machine facts to stdout.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import orjson

from bench.harness import SCENARIOS, STORES, Bench, Config, machine_facts
from bench.stats import table

TINY = {
    "events": {"sqlite": 700, "postgres": 700},
    "post_seconds": 1.0,
    "post_connections": 4,
    "post_threads": 1,
    "post_bodies": 20,
    "ingest_batches": 2,
    "ingest_warmup": 1,
    "ingest_size": 100,
    "memory_marks": (100, 300),
    "query_seconds": 1.0,
    "query_warmup": 0.0,
    "query_connections": 1,
    "live_subscribers": 3,
    "live_rate": 20.0,
    "live_seconds": 1.0,
    "live_warmup": 0.5,
    "live_batch": 2,
    "live_low_rate": 5.0,
    "live_drain": 10.0,
}


def _events(text: str) -> dict[str, int]:
    """`10000` for every store, or `sqlite=10000,postgres=3000`."""
    if "=" not in text:
        return dict.fromkeys(STORES, int(text.replace("_", "")))
    found = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        if name not in STORES:
            raise argparse.ArgumentTypeError(f"unknown store {name!r}")
        found[name] = int(value.replace("_", ""))
    return found


def _names(allowed: tuple[str, ...]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        names = [n.strip() for n in text.split(",") if n.strip()]
        unknown = [n for n in names if n not in allowed]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {unknown}; choose from {allowed}")
        return names

    return parse


def _marks(text: str) -> tuple[int, int]:
    low, high = (int(x.replace("_", "")) for x in text.split(","))
    return low, high


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--stores", type=_names(STORES), default=list(STORES))
    parser.add_argument("--scenarios", type=_names(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument(
        "--events",
        type=_events,
        help="log size for rebuild, queries and live: N, or sqlite=N,postgres=M "
        "(default sqlite=8000,postgres=3000: what fits the 10-minute budget)",
    )
    parser.add_argument("--memory-reports", type=_marks, help="two marks, e.g. 4000,40000")
    parser.add_argument("--ingest-batches", type=int)
    parser.add_argument("--post-seconds", type=float)
    parser.add_argument("--query-seconds", type=float)
    parser.add_argument("--query-connections", type=int)
    parser.add_argument("--live-subscribers", type=int)
    parser.add_argument("--live-rate", type=float)
    parser.add_argument("--live-seconds", type=float)
    parser.add_argument("--live-batch", type=int, help="reports per live POST (1: single JSON)")
    parser.add_argument(
        "--live-low-rate", type=float, help="also measure at this rate, single POSTs (0: no)"
    )
    parser.add_argument("--tiny", action="store_true", help="tiny sizes: checks, not figures")
    parser.add_argument("--profile", action="store_true", help="py-spy every measured server")
    parser.add_argument("--json", type=Path, help="also write every figure and detail here")
    parser.add_argument("--workdir", type=Path, help="keep stores and logs here")
    args = parser.parse_args(argv)

    config = Config(stores=args.stores, scenarios=args.scenarios)
    if args.tiny:
        config = replace(config, **TINY)
    overrides = {
        "events": args.events,
        "memory_marks": args.memory_reports,
        "ingest_batches": args.ingest_batches,
        "post_seconds": args.post_seconds,
        "query_seconds": args.query_seconds,
        "query_connections": args.query_connections,
        "live_subscribers": args.live_subscribers,
        "live_rate": args.live_rate,
        "live_seconds": args.live_seconds,
        "live_batch": args.live_batch,
        "live_low_rate": args.live_low_rate,
    }
    config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
    config = replace(config, profile=args.profile, workdir=args.workdir)
    if args.events:
        config.events = {**Config().events, **args.events}
    needs_wrk = {"post", "queries"} & set(config.scenarios)
    if needs_wrk and shutil.which("wrk") is None:
        sys.stderr.write("wrk is needed (Debian: apt-get install wrk)\n")
        return 2

    bench = Bench(config)
    facts = machine_facts()
    figures = bench.run()
    command = "python -m bench " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    out = [
        "",
        table(figures),
        "",
        f"command: {command.strip()}",
        f"date: {facts['date']}; nproc {facts['nproc']}; {facts['cpu']}; "
        f"load before: {facts['loadavg']}",
        f"python {facts['python']}; sqlite {facts['sqlite']}; {facts['postgres']}; {facts['wrk']}",
        f"wall time: {bench.details['seconds']:.0f}s",
    ]
    notes = [f"- {f.store}: {f.name}: {f.note}" for f in figures if f.note]
    if notes:
        out += ["", "notes:", *notes]
    for name, summary in bench.profiles.items():
        out += ["", f"profile {name}:", summary]
    print("\n".join(out))
    if args.json:
        args.json.write_bytes(
            orjson.dumps(
                {
                    "command": command,
                    "facts": facts,
                    "figures": [f.as_dict() for f in figures],
                    "details": bench.details,
                    "profiles": bench.profiles,
                },
                option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY,
                default=str,
            )
        )
    if args.workdir is None and not bench.details.get("failures"):
        shutil.rmtree(bench.workdir, ignore_errors=True)
    elif bench.details.get("failures"):
        sys.stderr.write(f"server logs kept in {bench.workdir}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
