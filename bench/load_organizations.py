"""Benchmark: load every IT Glue organization and domain from a real local sandbox server.

Compares our client (concurrent pages of 1000) with py-itglue's iterate_resources at page size
1000 and with the way a typical SDK user pages (itglue-py and pytglue: the default page size of
50, one request at a time, following links.next), here written as plain sequential httpx.

The sandbox runs as a separate process (the itglue-sandbox command, threaded werkzeug), so its
work neither shares our GIL nor shows up in our memory figures. Run from the repository root:

    .venv/bin/python bench/load_organizations.py [--orgs 10000] [--runs 3] [--latency-ms 100]
"""

import argparse
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webapp.itglue import client as itglue  # noqa: E402
from webapp.itglue.sandbox.data import sandbox_keys_for_seed  # noqa: E402

SEED = 1


def free_port():
    """Return a loopback port that is free right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_sandbox(orgs, domains_per_org, latency_ms):
    """Start the sandbox server in a subprocess and wait until it answers; return (proc, root)."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "webapp.itglue.sandbox.cli",
        "--port",
        str(port),
        "--orgs",
        str(orgs),
        "--domains-per-org",
        str(domains_per_org),
        "--latency-ms",
        str(latency_ms),
        "--seed",
        str(SEED),
        # Many runs in a row exceed IT Glue's 3,000 per 5 minutes; throttling is not measured here.
        "--rate-limit",
        "1000000",
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parent.parent,
    )
    root = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{root}/_sandbox/stats", timeout=1).raise_for_status()
            return process, root
        except httpx.HTTPError:
            time.sleep(0.1)
    process.terminate()
    raise SystemExit("The sandbox did not start within 60 s.")


def load_with_ours(base_url, key):
    """Our client: page 1, then the remaining pages 8 at a time."""
    with itglue.open_client(base_url, key) as client:
        organizations = itglue.fetch_organizations(client)
        domains = itglue.fetch_domains(client)
    return len(organizations), len(domains)


def load_with_py_itglue(base_url, key):
    """py-itglue 0.2.6 iterate_resources at its maximum page size of 1000 (sequential)."""
    from itglue import ITGlueClient
    from itglue.config import ITGlueConfig

    client = ITGlueClient(ITGlueConfig(api_key=key, base_url=base_url, enable_caching=False))
    organizations = list(client.iterate_resources("/organizations", page_size=1000))
    domains = list(client.iterate_resources("/domains", page_size=1000))
    client.http_client.close()
    return len(organizations), len(domains)


def load_sequentially_by_links(base_url, key):
    """The typical SDK loop: default page size (50), follow links.next until it is absent."""
    counts = []
    with httpx.Client(headers={"x-api-key": key}, timeout=30) as client:
        for path in ("/organizations", "/domains"):
            records = []
            url = f"{base_url}{path}"
            while url:
                body = client.get(url).json()
                records.extend(body["data"])
                url = body.get("links", {}).get("next")
            counts.append(len(records))
    return tuple(counts)


def measure(name, loader, root, key, runs):
    """Time a loader over `runs` runs, then trace one more run for its peak memory."""
    walls, requests = [], []
    for _ in range(runs):
        httpx.post(f"{root}/_sandbox/reset").raise_for_status()
        started = time.perf_counter()
        counts = loader(f"{root}/us", key)
        walls.append(time.perf_counter() - started)
        requests.append(httpx.get(f"{root}/_sandbox/stats").json()["total"])
        print(f"  {name}: {counts[0]} organizations, {counts[1]} domains, {walls[-1]:.2f} s")
    # tracemalloc slows every allocation, so the traced run is kept out of the timings.
    tracemalloc.start()
    loader(f"{root}/us", key)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return {"name": name, "requests": max(requests), "wall": statistics.median(walls), "peak": peak}


def main():
    """Parse options, start the sandbox, measure each client and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=10_000)
    parser.add_argument("--domains-per-org", type=float, default=5)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()

    # py-itglue logs every page through structlog; keep the figures readable.
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    key = sandbox_keys_for_seed(SEED)["us"]
    process, root = start_sandbox(options.orgs, options.domains_per_org, options.latency_ms)
    try:
        print(
            f"Sandbox {root}: {options.orgs} organizations, "
            f"{round(options.orgs * options.domains_per_org)} domains, "
            f"{options.latency_ms} ms latency per request, {options.runs} run(s) each, "
            f"{os.cpu_count()} CPUs"
        )
        results = [
            measure("ours (8 concurrent, size 1000)", load_with_ours, root, key, options.runs),
            measure("py-itglue 0.2.6, size 1000", load_with_py_itglue, root, key, options.runs),
            measure(
                "sequential links.next, size 50 (httpx)",
                load_sequentially_by_links,
                root,
                key,
                options.runs,
            ),
        ]
    finally:
        process.terminate()
        process.wait(timeout=10)

    ours = results[0]["wall"]
    print()
    print(f"{'client':<40} {'requests':>8} {'wall s (median)':>16} {'peak MiB':>9} {'x ours':>7}")
    for row in results:
        print(
            f"{row['name']:<40} {row['requests']:>8} {row['wall']:>16.2f} "
            f"{row['peak']:>9.1f} {row['wall'] / ours:>7.1f}"
        )
    best_peer = min(row["wall"] for row in results[1:])
    print()
    print(f"Best peer is {best_peer / ours:.1f}x slower than ours (target: at least 3x).")


if __name__ == "__main__":
    main()
