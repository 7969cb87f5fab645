#!/usr/bin/env python3
"""CPython's figures for `npm run bench`, measured the way scripts/bench/figures.ts measures mpkit's.

    python3 scripts/bench/reference.py [--quick] [--repeats N] [--only name,name]

Prints one JSON object: {"python": version, "figures": {name: {"median", "min", "max", "unit"}}}.
Every figure is a cost per operation, lower is better. Children are started and report ready
before the clock starts, and they time their own loops, so process start-up and exit are counted
only by the figures about start-up. The start method is spawn: JavaScript cannot fork, so spawn
is the fair match.
"""
import argparse
import json
import multiprocessing as mp
import resource
import statistics
import sys
import threading
import time

ctx = mp.get_context("spawn")


def noop(*_):
    pass


def identity(x):
    return x


def lock_loop(lock, n, out):
    start = time.perf_counter()
    for _ in range(n):
        lock.acquire()
        lock.release()
    out.value = (time.perf_counter() - start) / n * 1e9


def increment(value, n, ready, go, ends, i):
    ready.release()
    go.wait()
    for _ in range(n):
        with value.get_lock():
            value.value += 1
    ends[i] = time.time()


def append_all(shared, n, ready, go, ends):
    ready.release()
    go.wait()
    for i in range(n):
        shared.append(i)
    ends[0] = time.time()


def timed_appends(shared, n, ready, go, out):
    shared.append(-1)
    ready.release()
    go.wait()
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        shared.append(i)
        times.append((time.perf_counter() - t0) * 1e6)
    out.put([time.time()] + times)


def append_until(shared, ready, stop, out):
    shared.append(-1)
    ready.release()
    longest = 0.0
    while not stop.is_set():
        t0 = time.perf_counter()
        shared.append(0)
        longest = max(longest, time.perf_counter() - t0)
    out.put(longest * 1000)


def drain(queue, n, ready, ends):
    ready.release()
    for _ in range(n):
        queue.get()
    ends[0] = time.time()


def own_peak(out):
    out.value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def per_op(seconds, ops, unit):
    scale = {"ns": 1e9, "us": 1e6, "ms": 1e3}[unit]
    return seconds / ops * scale


def process_start_join(n):
    start = time.perf_counter()
    for _ in range(n):
        p = ctx.Process(target=noop)
        p.start()
        p.join()
    return per_op(time.perf_counter() - start, n, "ms")


def process_burst10(n):
    """Per burst, in ms: 10 processes started at once (spawn), then all joined."""
    start = time.perf_counter()
    for _ in range(n):
        batch = [ctx.Process(target=noop) for _ in range(10)]
        for p in batch:
            p.start()
        for p in batch:
            p.join()
    return per_op(time.perf_counter() - start, n, "ms")


def thread_start_join(n):
    start = time.perf_counter()
    for _ in range(n):
        t = threading.Thread(target=noop)
        t.start()
        t.join()
    return per_op(time.perf_counter() - start, n, "us")


def thread_lock(n):
    lock = threading.Lock()
    start = time.perf_counter()
    for _ in range(n):
        lock.acquire()
        lock.release()
    return per_op(time.perf_counter() - start, n, "ns")


def process_lock(n):
    out = ctx.Value("d", 0.0, lock=False)
    lock = ctx.Lock()  # held here until the child has it: a lock only the pickle refers to is freed
    p = ctx.Process(target=lock_loop, args=(lock, n, out))
    p.start()
    p.join()
    return out.value


def value_locked_incr_2proc(n):
    value = ctx.Value("i", 0)
    ready, go = ctx.Semaphore(0), ctx.Event()
    ends = ctx.Array("d", 2, lock=False)
    procs = [ctx.Process(target=increment, args=(value, n, ready, go, ends, i)) for i in range(2)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    start = time.time()
    go.set()
    for p in procs:
        p.join()
    assert value.value == 2 * n, value.value
    return per_op(max(ends) - start, 2 * n, "ns")


def manager_list_append(n):
    with ctx.Manager() as manager:
        shared = manager.list()
        ready, go = ctx.Semaphore(0), ctx.Event()
        ends = ctx.Array("d", 1, lock=False)
        p = ctx.Process(target=append_all, args=(shared, n, ready, go, ends))
        p.start()
        ready.acquire()
        start = time.time()
        go.set()
        p.join()
        assert len(shared) == n
        return per_op(ends[0] - start, n, "us")


def queue_msg(n):
    queue, ready = ctx.Queue(), ctx.Semaphore(0)
    ends = ctx.Array("d", 1, lock=False)
    p = ctx.Process(target=drain, args=(queue, n, ready, ends))
    p.start()
    ready.acquire()
    start = time.time()
    for i in range(n):
        queue.put(i)
    p.join()
    return per_op(ends[0] - start, n, "us")


def pool_map_small(n):
    with ctx.Pool(2) as pool:
        pool.map(identity, range(100))  # the workers are up and warm
        start = time.perf_counter()
        pool.map(identity, range(n))
        return per_op(time.perf_counter() - start, n, "us")


def pool_apply_async(n):
    with ctx.Pool(2) as pool:
        pool.map(identity, range(100))
        start = time.perf_counter()
        for r in [pool.apply_async(identity, (i,)) for i in range(n)]:
            r.get()
        return per_op(time.perf_counter() - start, n, "us")


def rss_process(_):
    out = ctx.Value("q", 0, lock=False)
    p = ctx.Process(target=own_peak, args=(out,))
    p.start()
    p.join()
    return out.value / 1024  # ru_maxrss is in KiB on Linux


def rss_thread(n):
    """How much the process's resident memory grows per live thread that waits."""
    def vm_rss():
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    done = threading.Event()
    before = vm_rss()
    threads = [threading.Thread(target=done.wait) for _ in range(n)]
    for t in threads:
        t.start()
    grown = vm_rss() - before
    done.set()
    for t in threads:
        t.join()
    return grown / n / 1024


def rss_of(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) / 1024


def rss_manager(_):
    with ctx.Manager() as manager:
        manager.list([1, 2, 3])
        return rss_of(manager._process.pid)


def manager_50_clients(n):
    clients = 50
    with ctx.Manager() as manager:
        shared = manager.list()
        ready, go, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=timed_appends, args=(shared, n, ready, go, out)) for _ in range(clients)]
        for p in procs:
            p.start()
        for _ in range(clients):
            ready.acquire()
        start = time.time()
        go.set()
        reports = [out.get() for _ in range(clients)]
        for p in procs:
            p.join()
        assert len(shared) == clients * (n + 1)
        times = sorted(t for r in reports for t in r[1:])
        at = lambda q: times[min(len(times) - 1, int(q * len(times)))]
        return {
            "manager_50_clients_p50_us": at(0.5),
            "manager_50_clients_p99_us": at(0.99),
            "manager_50_clients_per_call_us": (max(r[0] for r in reports) - start) / len(times) * 1e6,
        }


def manager_big_value_stall(_):
    with ctx.Manager() as manager:
        small, big = manager.list(), manager.list()
        ready, stop, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=append_until, args=(small, ready, stop, out)) for _ in range(3)]
        for p in procs:
            p.start()
        for _ in range(3):
            ready.acquire()
        time.sleep(0.2)
        big.append("x" * 50_000_000)
        time.sleep(0.2)
        stop.set()
        longest = [out.get() for _ in range(3)]
        for p in procs:
            p.join()
        return max(longest)


def rss_pool2(_):
    with ctx.Pool(2) as pool:
        pool.map(identity, range(100))
        return sum(rss_of(p.pid) for p in pool._pool)


# name: (function, count at full scale, unit)
FIGURES = {
    "process_start_join_ms": (process_start_join, 10, "ms"),
    "process_burst10_ms": (process_burst10, 3, "ms"),
    "thread_start_join_us": (thread_start_join, 200, "us"),
    "thread_lock_ns": (thread_lock, 1_000_000, "ns"),
    "process_lock_ns": (process_lock, 1_000_000, "ns"),
    "value_locked_incr_2proc_ns": (value_locked_incr_2proc, 200_000, "ns"),
    "manager_list_append_us": (manager_list_append, 20_000, "us"),
    "manager_50_clients": (manager_50_clients, 1000, "us"),
    "manager_big_value_stall_ms": (manager_big_value_stall, 1, "ms"),
    "queue_msg_us": (queue_msg, 100_000, "us"),
    "pool_map_small_us": (pool_map_small, 200_000, "us"),
    "pool_apply_async_us": (pool_apply_async, 20_000, "us"),
    "rss_process_mb": (rss_process, 1, "MB"),
    "rss_thread_mb": (rss_thread, 20, "MB"),
    "rss_manager_mb": (rss_manager, 1, "MB"),
    "rss_pool2_mb": (rss_pool2, 1, "MB"),
}


# Figures a quick run measures at their full count (keep in step with figures.ts): a queue message's
# hand-over settles over the first few milliseconds, which a tenth of the count did not hide.
WHOLE_WHEN_QUICK = {"queue_msg_us"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the counts, three repeats")
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--only", help="comma-separated figure names")
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    repeats = args.repeats or (3 if args.quick else 5)
    # A name, or one of the figures it gives (a measure may return several from one run, by name).
    wanted = args.only.split(",") if args.only else None
    names = [n for n in FIGURES if wanted is None or any(w == n or w.startswith(n + "_") for w in wanted)]
    out = {}
    for name in names:
        fn, count, unit = FIGURES[name]
        # As figures.ts: a quick run takes a tenth of the count, but the whole of a cheap one whose
        # start-up would otherwise weigh on it, and warms up with a tenth of the full count.
        n = count if name in WHOLE_WHEN_QUICK else max(3, int(count * scale)) if count > 1 else count
        runs = {}
        if count > 10:
            fn(max(1, count // 10))
        for _ in range(repeats):
            result = fn(n)
            for key, v in (result if isinstance(result, dict) else {name: result}).items():
                runs.setdefault(key, []).append(v)
        for key, values in runs.items():
            out[key] = {"median": statistics.median(values), "min": min(values), "max": max(values), "unit": unit}
    print(json.dumps({"python": ".".join(map(str, sys.version_info[:3])), "figures": out}))


if __name__ == "__main__":
    main()
