"""The read side's two drivers on their own, in one process, without a server.

    python -m bench.drivers --events 100000 [--folder DIR] [--profile]

Files a synthetic log into a SQLite store in FOLDER (kept, so a second run
reuses it), then times, on the same rows:

- the ceiling: reading every stored event and parsing it with `orjson.loads`;
- the bulk driver: `build()` of a fresh generation;
- the incremental driver: `apply_batch()` in batches of 500 into another one;

and prints events/s for each, the ratio to the ceiling, and the process's peak
resident set. With `--profile`, the bulk build runs under cProfile and the
functions that took the most time are listed. A diagnostic beside the harness
(`python -m bench`), whose table is what bench/RESULTS.md quotes.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import tempfile
import time
from pathlib import Path

from bench import ceilings, synth
from projections.generation import NAME
from projections.runner import (
    _next_generation,
    _start_generation,
    apply_batch,
    build,
    create_meta,
)
from service.settings import Settings
from service.storage import open_application, open_views


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.drivers", description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--folder", type=Path, default=None)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.mkdtemp(prefix="timeline-drivers-"))
    folder.mkdir(parents=True, exist_ok=True)
    settings = Settings(database_url=f"sqlite:///{folder}/timeline.sqlite3")
    app, views = open_application(settings), open_views(settings)
    try:
        if not app.recorder.max_notification_id():
            started = time.perf_counter()
            written = synth.load(app, synth.SyntheticLog(), args.events)
            print(f"filed {written} in {time.perf_counter() - started:.1f}s into {folder}")
        create_meta(views)
        ceilings.read_and_decode(app)  # warm the page cache: measure both on equal terms
        count, seconds = ceilings.read_and_decode(app)
        ceiling = count / seconds
        print(f"ceiling (read + orjson.loads): {ceiling:,.0f} events/s over {count:,} events")

        started = time.perf_counter()
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(build, app, views)
        else:
            build(app, views)
        bulk = count / (time.perf_counter() - started)
        print(f"bulk driver: {bulk:,.0f} events/s, {bulk / ceiling:.3f} of the ceiling")

        with views.transaction(write=True) as cursor:
            views.lock_row(cursor, NAME)
            generation = _start_generation(views, cursor, _next_generation(views, cursor)).number
        started, applied = time.perf_counter(), 0
        while True:
            done, _ = apply_batch(app, views, generation, batch=500)
            applied += done
            if done < 500:
                break
        incremental = applied / (time.perf_counter() - started)
        print(f"incremental driver: {incremental:,.0f} events/s, batches of 500")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak resident set of this process: {peak:,.0f} MB")
        if args.profile:
            pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    finally:
        views.close()
        app.close()


if __name__ == "__main__":
    main()
