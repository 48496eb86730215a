"""Dataset import on its own: rows/s against the raw CSV parse as the ceiling.

    python -m bench.imports --rows 100000 [--folder DIR] [--database-url URL] [--profile]

Writes a synthetic ACLED file (current column set; fixed seed; a few hundred
actors, Zipf-distributed; every time and geo precision) into FOLDER, then times
on the same file:

- the ceiling: `csv.reader` over the file, every row read and nothing else;
- the mapping: every row read and mapped to a report (`domain.datasets.acled`);
- the import: `import_rows` into a fresh store (SQLite in FOLDER unless
  --database-url), both passes (check, then write);
- the re-import: the same file again (every row unchanged, nothing written);

and prints rows/s for each, its ratio to the ceiling, and the peak resident set.
The target (issue 14) is 10,000 rows/s on SQLite. Do not run large sizes on a
shared machine; `--rows 5000` is a smoke run of a few seconds.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import pstats
import random
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

# The current column set, in the codebook's order (the importer reads by name).
COLUMNS = (
    "event_id_cnty",
    "event_date",
    "year",
    "time_precision",
    "disorder_type",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "inter1",
    "actor2",
    "assoc_actor_2",
    "inter2",
    "interaction",
    "civilian_targeting",
    "region",
    "country",
    "admin1",
    "admin2",
    "admin3",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "source",
    "source_scale",
    "notes",
    "fatalities",
    "tags",
    "timestamp",
)
EVENTS = [
    ("Battles", "Armed clash", "Rebel group", "State forces"),
    ("Explosions/Remote violence", "Air/drone strike", "State forces", "Rebel group"),
    ("Explosions/Remote violence", "Remote explosive/landmine/IED", "Political militia", ""),
    ("Violence against civilians", "Attack", "Identity militia", "Civilians"),
    ("Protests", "Peaceful protest", "Protesters", ""),
    ("Riots", "Mob violence", "Rioters", "Civilians"),
    ("Strategic developments", "Arrests", "State forces", "Protesters"),
]
COUNTRIES = ["Kenya", "Somalia", "Sudan", "Mali", "Nigeria", "Syria", "Iraq", "Yemen"]


def write_file(path: Path, rows: int, seed: int = 14) -> None:
    rng = random.Random(seed)
    actors = [f"Armed Group {n} ({rng.choice(COUNTRIES)})" for n in range(400)]
    weights = [1 / (rank + 1) for rank in range(len(actors))]
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for n in range(rows):
            event_type, sub, inter1, inter2 = rng.choice(EVENTS)
            actor1, actor2 = rng.choices(actors, weights, k=2)
            country = rng.choice(COUNTRIES)
            day = f"20{rng.randint(18, 24)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            writer.writerow(
                [
                    f"SYN{n}",
                    day,
                    day[:4],
                    rng.choice([1, 1, 1, 2, 3]),
                    "Political violence",
                    event_type,
                    sub,
                    actor1,
                    "",
                    inter1,
                    actor2 if inter2 else "",
                    "",
                    inter2,
                    "12",
                    "",
                    "Africa",
                    country,
                    f"Province {n % 40}",
                    f"District {n % 300}",
                    "",
                    f"Town {n % 2000}",
                    round(rng.uniform(-10, 30), 4),
                    round(rng.uniform(0, 50), 4),
                    rng.choice([1, 2, 3]),
                    "Local paper; Wire agency",
                    "National-International",
                    f"On {day}, {actor1} clashed with {actor2} near Town {n % 2000}.",
                    rng.randint(0, 20),
                    "",
                    1_700_000_000 + n,
                ]
            )


def timed(label: str, rows: int, run: Callable[[], object], ceiling: float | None) -> float:
    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    rate = rows / elapsed
    ratio = f"{rate / ceiling:6.3f}" if ceiling else "   1.000"
    print(f"{label:<12} {rows:>9,} rows {elapsed:8.2f} s {rate:>12,.0f} rows/s  ratio {ratio}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.imports", description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--folder", type=Path, default=None)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    from domain.datasets import acled
    from service.dataset_import import import_rows
    from service.settings import Settings
    from service.storage import open_application

    folder = args.folder or Path(tempfile.mkdtemp(prefix="timeline-imports-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"acled-{args.rows}.csv"
    if not path.exists():
        write_file(path, args.rows)
    url = args.database_url or f"sqlite:///{folder}/import-{time.time_ns()}.sqlite3"
    timeline = open_application(Settings(database_url=url))

    def opener() -> TextIO:  # a context manager of text, as import_rows takes
        return path.open(encoding="utf-8-sig", newline="")

    def parse() -> None:
        with opener() as text:
            for _ in csv.reader(text):
                pass

    def mapping() -> None:
        with opener() as text:
            for row in csv.DictReader(text):
                acled.map_row(row)

    def run_import() -> None:
        outcome = import_rows(timeline, opener, "acled")
        assert outcome.written and outcome.filed == args.rows, outcome.as_json()

    def re_import() -> None:
        outcome = import_rows(timeline, opener, "acled")
        assert outcome.events == 0, outcome.as_json()

    print(f"file {path} ({path.stat().st_size / 1e6:.1f} MB), store {url}")
    ceiling = timed("csv parse", args.rows, parse, None)
    timed("map rows", args.rows, mapping, ceiling)
    try:
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
        timed("import", args.rows, run_import, ceiling)
        if args.profile:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        timed("re-import", args.rows, re_import, ceiling)
    finally:
        timeline.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident set {peak:.0f} MB")


if __name__ == "__main__":
    main()
