"""CPython's ProcessPoolExecutor on the P1-P3 scenarios, for comparison with process_pool.rs.

Run: python3 crates/pool-process/benches/cpython_process_pool.py
Prints one line per scenario: name, seconds per run (best of 5), items per second.
"""
import concurrent.futures as cf
import math
import os
import time

PRIMES = [112272535095293, 112582705942171, 112272535095293,
          115280095190773, 115797848077099, 1099726899285419]


def empty(_=None):
    return None


def double(x):
    return x * 2


def is_prime(n):
    if n % 2 == 0:
        return False
    sqrt_n = int(math.floor(math.sqrt(n)))
    for i in range(3, sqrt_n + 1, 2):
        if n % i == 0:
            return False
    return True


def best(fn, runs=5):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    workers = os.cpu_count()
    with cf.ProcessPoolExecutor(workers) as ex:
        list(ex.map(empty, range(workers * 4)))  # start every worker
        n = 10_000

        def p1():
            futures = [ex.submit(empty) for _ in range(n)]
            for f in futures:
                f.result()

        s = best(p1)
        print(f"P1 submit+result empty x{n}: {s:.4f} s, {n / s:,.0f} tasks/s")

        def p1_serial():
            for _ in range(2000):
                ex.submit(empty).result()

        s = best(p1_serial, runs=3)
        print(f"P1 one at a time x2000: {s / 2000 * 1e6:.1f} us per round trip")

        for chunksize, m in [(1, 10_000), (256, 1_000_000)]:
            def p2():
                for _ in ex.map(double, range(m), chunksize=chunksize):
                    pass

            s = best(p2, runs=3)
            print(f"P2 map chunksize {chunksize} x{m}: {s:.4f} s, {m / s:,.0f} items/s")

    def p3():
        with cf.ProcessPoolExecutor() as ex:
            list(ex.map(is_prime, PRIMES))

    s = best(p3, runs=3)
    print(f"P3 primes end to end: {s:.4f} s")
    s = best(lambda: [is_prime(n) for n in PRIMES], runs=1)
    print(f"P3 primes sequential: {s:.4f} s")


if __name__ == "__main__":
    main()
