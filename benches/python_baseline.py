#!/usr/bin/env python3
"""CPython's concurrent.futures on the cfutures benchmark scenarios (DESIGN.md section 4).

The peer row "CPython" of `cargo xtask bench`. Runs the same scenarios as the Rust benches,
with the same sizes and worker counts, and reports one record per scenario:

    {"scenario": "T1", "impl": "cpython", "median_ns": ..., "items_per_s": ..., "note": ...}

Usage:
    python3 benches/python_baseline.py [--workers N] [--quick] [--filter NAME] [--out FILE]

Without --out the records are printed as a JSON array on stdout and progress goes to stderr;
with --out they are written to FILE and stdout gets one `RESULT <scenario>/cpython <summary>`
line per scenario (what `cargo xtask bench` shows as progress).
"""

import argparse
import concurrent.futures as cf
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import threading
import time

# The seed's numbers and function, verbatim.
PRIMES = [
    112272535095293,
    112582705942171,
    112272535095293,
    115280095190773,
    115797848077099,
    1099726899285419,
]


def is_prime(n):
    if n % 2 == 0:
        return False

    sqrt_n = int(math.floor(math.sqrt(n)))
    for i in range(3, sqrt_n + 1, 2):
        if n % i == 0:
            return False
    return True


def noop():
    return None


def identity(x):
    return x


T1_TASKS = 100_000
P2_ITEMS = {1: 5_000, 256: 100_000}
M1_FUTURES = {"full": 200_000, "quick": 100_000}


def median_ns(run, reps, warmup=1):
    """Median wall time of `run()` over `reps` runs, after `warmup` unmeasured runs."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(reps):
        start = time.perf_counter_ns()
        run()
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times)


def t1(workers, quick):
    with cf.ThreadPoolExecutor(max_workers=workers) as ex:

        def run():
            futures = [ex.submit(noop) for _ in range(T1_TASKS)]
            for f in futures:
                f.result()

        # 100k CPython submissions take seconds: one run in --quick.
        if quick:
            return {"median_ns": median_ns(run, reps=1, warmup=0)}
        return {"median_ns": median_ns(run, reps=3)}


def t2(workers, quick):
    trips = 300 if quick else 2000
    with cf.ThreadPoolExecutor(max_workers=workers) as ex:

        def run():
            for _ in range(trips):
                ex.submit(noop).result()

        per_rep = median_ns(run, reps=3 if quick else 7)
    return {"median_ns": per_rep / trips}


def t3(workers, quick):
    return {"note": "n/a (nested waits deadlock)"}


def t4(workers, quick):
    with cf.ThreadPoolExecutor(max_workers=workers) as ex:

        def run():
            assert list(ex.map(is_prime, PRIMES)) == [True, True, True, True, True, False]

        return {"median_ns": median_ns(run, reps=1 if quick else 3, warmup=0)}


def p1(workers, quick):
    trips = 200 if quick else 1000
    with cf.ProcessPoolExecutor(max_workers=workers) as ex:
        for f in [ex.submit(noop) for _ in range(workers * 4)]:
            f.result()

        def run():
            for _ in range(trips):
                ex.submit(noop).result()

        per_rep = median_ns(run, reps=3 if quick else 5)
    return {"median_ns": per_rep / trips}


def p2(chunksize):
    items = P2_ITEMS[chunksize]

    def scenario(workers, quick):
        with cf.ProcessPoolExecutor(max_workers=workers) as ex:

            def run():
                out = list(ex.map(identity, range(items), chunksize=chunksize))
                assert len(out) == items

            ns = median_ns(run, reps=1 if quick else 3)
        return {"median_ns": ns, "items_per_s": items * 1e9 / ns}

    return scenario


def p3(workers, quick):
    def run():
        # The seed's main(), printing to a sink instead of the terminal.
        with open(os.devnull, "w") as out:
            with cf.ProcessPoolExecutor() as executor:
                for number, prime in zip(PRIMES, executor.map(is_prime, PRIMES)):
                    print("%d is prime: %s" % (number, prime), file=out)

    return {"median_ns": median_ns(run, reps=1 if quick else 3, warmup=0)}


P4_BYTES = 100 << 20
P5_ITEMS = 1_000_000


def p4(workers, quick):
    # 100 MiB of bytes as argument and result, one task's round trip.
    data = bytes(P4_BYTES)
    with cf.ProcessPoolExecutor(max_workers=1) as ex:
        ex.submit(noop).result()

        def run():
            assert len(ex.submit(identity, data).result()) == P4_BYTES

        return {"median_ns": median_ns(run, reps=3 if quick else 5)}


def p5(workers, quick):
    # P5's structs as tuples: 1M (int, float, float), pickled both ways.
    points = [(i, float(i), -float(i)) for i in range(P5_ITEMS)]
    with cf.ProcessPoolExecutor(max_workers=1) as ex:
        ex.submit(noop).result()

        def run():
            assert len(ex.submit(identity, points).result()) == P5_ITEMS

        return {"median_ns": median_ns(run, reps=3 if quick else 5)}


def rss_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def m1_child(count):
    """In a fresh interpreter: resident bytes per pending future, pool blocked by a gate."""
    gate, started = threading.Event(), threading.Event()

    def blocker():
        started.set()
        gate.wait()

    with cf.ThreadPoolExecutor(max_workers=1) as ex:
        first = ex.submit(blocker)
        started.wait()
        futures = []
        gc.collect()
        before = rss_bytes()
        futures = [ex.submit(noop) for _ in range(count)]
        gc.collect()
        after = rss_bytes()
        assert not any(f.done() for f in futures[-10:])
        gate.set()
        first.result()
        for f in futures:
            f.result()
    return (after - before) / count


def m1(workers, quick):
    count = M1_FUTURES["quick" if quick else "full"]
    out = subprocess.run(
        [sys.executable, __file__, "--m1-child", str(count)],
        check=True,
        capture_output=True,
        text=True,
    )
    return {
        "bytes_per_item": float(out.stdout.strip()),
        "note": "%d pending futures" % count,
    }


SCENARIOS = [
    ("T1", t1),
    ("T2", t2),
    ("T3", t3),
    ("T4", t4),
    ("P1", p1),
    ("P2/chunksize=1", p2(1)),
    ("P2/chunksize=256", p2(256)),
    ("P3", p3),
    ("P4", p4),
    ("P5", p5),
    ("M1", m1),
]


def summary(result):
    if "bytes_per_item" in result:
        return "%.0f B per pending future" % result["bytes_per_item"]
    if "items_per_s" in result:
        return "%.0f items/s" % result["items_per_s"]
    if "median_ns" in result:
        ns = result["median_ns"]
        for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
            if ns >= scale:
                return "median %.3g %s" % (ns / scale, unit)
        return "median %.3g ns" % ns
    return result.get("note", "")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--filter", default=None, help="only `scenario/cpython` keys containing this")
    parser.add_argument("--out", default=None)
    parser.add_argument("--m1-child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.m1_child is not None:
        print(m1_child(args.m1_child))
        return

    progress = sys.stdout if args.out else sys.stderr
    records = []
    for scenario, measure in SCENARIOS:
        if args.filter and args.filter not in "%s/cpython" % scenario:
            continue
        try:
            result = measure(args.workers, args.quick)
        except Exception as exc:  # a failed scenario is reported, not fatal
            result = {"note": "failed: %s" % exc}
        records.append(dict(scenario=scenario, impl="cpython", **result))
        print("RESULT %s/cpython %s" % (scenario, summary(result)), file=progress, flush=True)

    text = json.dumps(records, indent=2)
    if args.out:
        with open(args.out, "w") as out:
            out.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
