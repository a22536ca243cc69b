#!/usr/bin/env python3
"""multiprocessing's Pool(2).map against a sequential map, for items of a
given cost: the peer line of `pmap-sweep` (benches/src/bin/pmap_sweep.rs).

    python3 benches/mp_sweep.py ROUNDS COST_NS...

For each cost, a pure-Python loop is calibrated to take about that long per
item; N items (about 0.1 s of work, 100 to 200,000 items) are mapped
sequentially and with Pool(2).map (fork start method, default chunksize,
the pool started outside the clock). Prints one line per cost:

    RESULT cost_ns N speedup_median speedup_min speedup_max
"""
import multiprocessing as mp
import statistics
import sys
import time

CTX = mp.get_context("fork")
K = 1


def work(k):
    x = 0
    for i in range(k):
        x += i
    return x


def task(i):
    return work(K) + i


def calibrate(cost_s):
    probe = 200_000
    times = []
    for _ in range(5):
        t = time.perf_counter()
        work(probe)
        times.append(time.perf_counter() - t)
    per_iter = statistics.median(times) / probe
    return max(1, int(cost_s / per_iter))


def main():
    global K
    rounds = int(sys.argv[1])
    for cost_ns in map(int, sys.argv[2:]):
        cost_s = cost_ns / 1e9
        K = calibrate(cost_s)
        n = min(max(int(0.1 / cost_s), 100), 200_000)
        speedups = []
        with CTX.Pool(2) as pool:
            pool.map(task, range(2))
            for _ in range(rounds):
                t = time.perf_counter()
                seq = list(map(task, range(n)))
                t_seq = time.perf_counter() - t
                t = time.perf_counter()
                par = pool.map(task, range(n))
                t_par = time.perf_counter() - t
                assert seq == par
                speedups.append(t_seq / t_par)
        print(
            "RESULT %d %d %.4f %.4f %.4f"
            % (cost_ns, n, statistics.median(speedups), min(speedups), max(speedups)),
            flush=True,
        )


if __name__ == "__main__":
    main()
