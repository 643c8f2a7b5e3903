#!/usr/bin/env python3
"""mpi4py.futures on the MPI scenarios X1-X4 of issue 14: the peer of cfutures-mpi.

The peer column "mpi4py.futures" of the MPI rows of `cargo xtask bench`; the cfutures side
is `crates/pool-mpi/examples/mpi_bench.rs`, with the same scenarios and command line. Run it
as mpi4py.futures programs run, on an MPI job whose rank 0 runs this script and whose other
ranks serve tasks:

    mpirun --oversubscribe -n 3 python -m mpi4py.futures benches/mpi_baseline.py \
        [--quick] [--filter NAME] [--idle] [--out FILE]

Records: {"scenario": "X1", "impl": "mpi4py", "median_ns": ...} (or "items_per_s",
"fraction"). Every figure is the median over repeated rounds. X2 and X3 run fewer tasks per
round than the cfutures side because mpi4py.futures is two to three orders of magnitude
slower there; rates are per second either way. With --idle, an executor stays alive and idle
while rank 0 waits for a line (or EOF) on stdin after printing `IDLE`, so that the xtask can
read every rank's CPU time from /proc.
"""

import argparse
import os
import statistics
import sys
import time

# The seed's numbers and is_prime, and the no-op tasks, live in the CPython baseline. Worker
# ranks import this script as their main module too, so this line runs there as well.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from python_baseline import PRIMES, identity, is_prime, noop, summary  # noqa: E402

IMPL = "mpi4py"
EXPECTED = [True, True, True, True, True, False]


def sizes(quick):
    if quick:
        return dict(rounds=3, trips=200, submits=1_000, map_items=50_000)
    return dict(rounds=5, trips=1_000, submits=5_000, map_items=500_000)


def median_of(rounds, round_):
    return statistics.median(round_() for _ in range(rounds))


def seed_main(executor_class, out):
    """The seed's main() on mpi4py.futures, printing to `out`."""
    with executor_class() as executor:
        for number, prime in zip(PRIMES, executor.map(is_prime, PRIMES)):
            print("%d is prime: %s" % (number, prime), file=out)


def sequential_main(out):
    for number, expected in zip(PRIMES, EXPECTED):
        prime = is_prime(number)
        assert prime == expected
        print("%d is prime: %s" % (number, prime), file=out)


def main():
    from mpi4py.futures import MPIPoolExecutor

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--filter", default=None, help="only `scenario/mpi4py` keys containing this")
    parser.add_argument("--idle", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    size = sizes(args.quick)
    rounds = size["rounds"]
    records = []

    def selects(scenario):
        return args.filter is None or args.filter in "%s/%s" % (scenario, IMPL)

    def record(scenario, **result):
        records.append(dict(scenario=scenario, impl=IMPL, **result))
        if "fraction" in result:
            shown = "%.1f %%" % (result["fraction"] * 100)
        else:
            shown = summary(result)
        print("RESULT %s/%s %s" % (scenario, IMPL, shown), flush=True)

    with MPIPoolExecutor() as executor:
        workers = executor.num_workers
        for future in [executor.submit(noop) for _ in range(100)]:
            future.result()

        if selects("X1"):

            def x1():
                start = time.perf_counter_ns()
                for _ in range(size["trips"]):
                    executor.submit(noop).result()
                return (time.perf_counter_ns() - start) / size["trips"]

            record("X1", median_ns=median_of(rounds, x1))

        if selects("X2/submit"):

            def x2_submit():
                start = time.perf_counter_ns()
                futures = [executor.submit(noop) for _ in range(size["submits"])]
                for future in futures:
                    future.result()
                return size["submits"] * 1e9 / (time.perf_counter_ns() - start)

            record("X2/submit", items_per_s=median_of(rounds, x2_submit))

        if selects("X2/chunksize=256"):

            def x2_map():
                start = time.perf_counter_ns()
                count = sum(1 for _ in executor.map(identity, range(size["map_items"]), chunksize=256))
                assert count == size["map_items"]
                return size["map_items"] * 1e9 / (time.perf_counter_ns() - start)

            record("X2/chunksize=256", items_per_s=median_of(rounds, x2_map))

    with open(os.devnull, "w") as sink:
        parallel_ns = sequential_ns = None
        if selects("X3") or selects("X3/of-ideal"):

            def x3():
                start = time.perf_counter_ns()
                seed_main(MPIPoolExecutor, sink)
                return time.perf_counter_ns() - start

            parallel_ns = median_of(rounds, x3)
        if selects("X3/of-ideal"):

            def sequential():
                start = time.perf_counter_ns()
                sequential_main(sink)
                return time.perf_counter_ns() - start

            sequential_ns = median_of(rounds, sequential)
    if selects("X3"):
        record("X3", median_ns=parallel_ns)
    if sequential_ns is not None:
        record("X3/of-ideal", fraction=sequential_ns / parallel_ns / workers)

    if args.idle:
        with MPIPoolExecutor() as executor:
            for future in [executor.submit(noop) for _ in range(100)]:
                future.result()
            print("IDLE", flush=True)
            sys.stdin.readline()

    if args.out:
        import json

        with open(args.out, "w") as out:
            out.write(json.dumps(records, indent=2) + "\n")


if __name__ == "__main__":
    main()
