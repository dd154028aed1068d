"""Inversion latency through HTTP on the embedded default (``geobp serve``).

Starts ``python -m service.serve`` on a fresh var folder (SQLite + embedded broker + embedded
worker), waits for the default network, then:
  * 16 concurrent keep-alive clients POST one sounding each for 20 s: p50, p99, errors, and the
    server's CPU time per request (its process group, when this script started it);
  * one call with a batch of 1,000 soundings.
The clients are ``wrk`` (C, one event loop per thread; Debian package ``wrk``) when it is
installed, else Python threads (``http.client``), which take a good share of a small machine's
CPU from the server; ``--client`` chooses, and the output says which ran.
Baselines measured in the same run, in this process, without HTTP: ``Inverter.invert`` of one
sounding and of the 1,000-sounding batch; figures are printed with their ratio to the baseline.

    python bench/api.py [--url URL --network NAME] [--clients 16] [--seconds 20]
                        [--client auto|wrk|python] [--var-dir DIR]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.serve import stop_process_group  # noqa: E402

TARGETS = {"p50_ms": 10.0, "errors": 0, "batch_s": 1.0}


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def start_server(port: int, var_dir: Path) -> subprocess.Popen:
    """``python -m service.serve`` on the embedded default, in its own process group."""
    env = {**os.environ, "GEOBP_VAR_DIR": str(var_dir), "PYTHONPATH": str(ROOT)}
    for key in ("GEOBP_DATABASE_URL", "GEOBP_BROKER_URL", "GEOBP_ARTIFACT_DIR", "GEOBP_API_TOKEN"):
        env.pop(key, None)
    log = open(var_dir / "serve.log", "ab")  # noqa: SIM115 - lives as long as the server
    return subprocess.Popen(
        [sys.executable, "-m", "service.serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for_network(base: str, timeout_s: float) -> dict:
    """Wait until the registry holds a network; return it."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        try:
            items = _get(f"{base}/api/v1/networks")["items"]
            if items:
                return items[0]
            jobs = _get(f"{base}/api/v1/training-jobs")["items"]
            if jobs and jobs[0]["progress"] != last:
                last = jobs[0]["progress"]
                print(f"  default network: {jobs[0]['status']} {last}", flush=True)
                if jobs[0]["status"] in ("failed", "cancelled"):
                    raise RuntimeError(f"default training job ended {jobs[0]['status']}")
        except OSError:
            pass
        time.sleep(2)
    raise RuntimeError(f"no network registered after {timeout_s} s")


def make_soundings(network: dict, n: int, seed: int = 0) -> list[dict]:
    """``n`` noisy synthetic soundings on the network's geometry, inside its training domain."""
    import forward_models

    fm = forward_models.from_dict(network["forward_model"])
    domain = network["domain"]
    rng = np.random.default_rng(seed)
    lo = np.log10([domain[p][0] for p in fm.parameter_names])
    hi = np.log10([domain[p][1] for p in fm.parameter_names])
    models = 10 ** (lo + (hi - lo) * (0.2 + 0.6 * rng.random((n, fm.n_params))))
    data = np.asarray(fm.forward(models))
    data = data * np.exp(0.03 * rng.standard_normal(data.shape))
    axis = fm.axis_name
    return [{axis: list(map(float, fm.axis_values)), "rho_a_ohmm": row.tolist()} for row in data]


def python_clients(
    base: str, path: str, bodies: list[bytes], clients: int, seconds: float
) -> tuple[list[float], int]:
    """``clients`` threads, each with one keep-alive connection, POSTing for ``seconds``; returns
    (sorted latencies in ms, errors)."""
    parts = urlsplit(base)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    stop = time.monotonic() + seconds

    def run(i: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        headers = {"Content-Type": "application/json"}
        k = i
        while time.monotonic() < stop:
            body = bodies[k % len(bodies)]
            k += clients
            t0 = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except OSError:
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            latencies[i].append((time.perf_counter() - t0) * 1000)
            errors[i] += 0 if ok else 1
        conn.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    flat = sorted(x for per in latencies for x in per)
    return flat, sum(errors)


WRK_SCRIPT = r"""
local bodies = {}
local counter = 0
init = function(args)
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
  counter = math.random(#bodies)
end
request = function()
  counter = counter % #bodies + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, bodies[counter])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("GEOBP requests=%d p50_us=%d p99_us=%d errors=%d\n",
    summary.requests, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def wrk_clients(
    base: str, path: str, bodies: list[bytes], clients: int, seconds: float
) -> tuple[int, float, float, int]:
    """``wrk`` with ``clients`` keep-alive connections POSTing ``bodies`` in turn for
    ``seconds``; returns (requests, p50 ms, p99 ms, errors: socket errors + HTTP ≥ 400)."""
    with tempfile.TemporaryDirectory(prefix="geobp-wrk-") as tmp:
        script, body_file = Path(tmp) / "post.lua", Path(tmp) / "bodies.jsonl"
        script.write_text(WRK_SCRIPT)
        body_file.write_bytes(b"\n".join(bodies) + b"\n")
        cmd = ["wrk", f"-t{min(2, clients)}", f"-c{clients}", f"-d{seconds:g}s", "-s"]
        cmd += [str(script), base + path, "--", str(body_file)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    found = re.search(r"GEOBP requests=(\d+) p50_us=(\d+) p99_us=(\d+) errors=(\d+)", out)
    if found is None:
        raise RuntimeError(f"unexpected wrk output: {out}")
    n, p50, p99, errors = (int(x) for x in found.groups())
    return n, p50 / 1000, p99 / 1000, errors


def group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of group ``pgid``
    (Linux ``/proc``; NaN elsewhere)."""
    total, tick = 0, os.sysconf("SC_CLK_TCK")
    proc = Path("/proc")
    if not proc.is_dir():
        return float("nan")
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the command: state ppid pgrp … utime stime
            total += int(fields[11]) + int(fields[12])
    return total / tick


def load(
    client: str, base: str, path: str, bodies: list[bytes], clients: int, seconds: float
) -> tuple[int, float, float, int]:
    """Run the chosen load generator; returns (requests, p50 ms, p99 ms, errors)."""
    if client == "wrk":
        return wrk_clients(base, path, bodies, clients, seconds)
    latencies, errors = python_clients(base, path, bodies, clients, seconds)
    p50, p99 = float(np.percentile(latencies, 50)), float(np.percentile(latencies, 99))
    return len(latencies), p50, p99, errors


def post(base: str, path: str, payload: dict) -> tuple[float, int, dict]:
    """One POST; returns (seconds, status, body)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    body = json.dumps(payload).encode()
    t0 = time.perf_counter()
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    data = json.loads(response.read())
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed, response.status, data


def baseline(network_path: str, soundings: list[dict], refine: bool) -> tuple[float, float]:
    """In-process ``Inverter.invert``: median ms for one sounding, seconds for the batch."""
    import inversion

    inverter = inversion.Inverter.load(network_path)
    singles = []
    for obs in soundings[:50]:
        t0 = time.perf_counter()
        inverter.invert([obs], refine=refine)
        singles.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    inverter.invert(soundings, refine=refine)
    return statistics.median(singles), time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print a table of figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="an already running server (default: start one)")
    parser.add_argument("--network", help="network id or name (default: the first registered)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator (auto: wrk when installed, else Python threads)",
    )
    parser.add_argument("--wait", type=float, default=900.0, help="max seconds for the network")
    parser.add_argument(
        "--var-dir", type=Path, help="keep the server's var folder here (reused: no retraining)"
    )
    args = parser.parse_args(argv)
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"

    server = None
    tmp = tempfile.TemporaryDirectory(prefix="geobp-bench-")
    base = args.url
    try:
        var_dir = args.var_dir.resolve() if args.var_dir else Path(tmp.name) / "var"
        if base is None:
            var_dir.mkdir(parents=True, exist_ok=True)
            server = start_server(args.port, var_dir)
            base = f"http://127.0.0.1:{args.port}"
            print(f"started geobp serve on {base} (var {var_dir})", flush=True)
        network = wait_for_network(base, args.wait)
        if args.network:
            network = _get(f"{base}/api/v1/networks/{args.network}")
        print(f"network {network['name']} v{network['version']} ({network['id']})", flush=True)
        soundings = make_soundings(network, max(args.batch, 256))
        path = f"/api/v1/networks/{network['id']}/invert"
        artifact = None
        if server is not None:
            matches = list(var_dir.glob(f"artifacts/networks/*/{network['id']}.npz"))
            artifact = str(matches[0]) if matches else None

        rows = []
        for refine in (True, False):
            bodies = [json.dumps({"data": s, "refine": refine}).encode() for s in soundings[:256]]
            post(base, path, {"data": soundings[0], "refine": refine})  # warm the cache
            cpu0 = group_cpu_s(server.pid) if server is not None else float("nan")
            n, p50, p99, errors = load(client, base, path, bodies, args.clients, args.seconds)
            cpu_ms = (group_cpu_s(server.pid) - cpu0) * 1000 / n if server is not None else None
            batch_s, status, _ = post(
                base, path, {"soundings": soundings[: args.batch], "refine": refine}
            )
            base_one, base_batch = (
                baseline(artifact, soundings[: args.batch], refine)
                if artifact
                else (float("nan"), float("nan"))
            )
            rows.append(
                (refine, n, p50, p99, errors, cpu_ms, batch_s, status, base_one, base_batch)
            )

        print()
        client_name = "wrk (C)" if client == "wrk" else "Python threads"
        print(
            f"{args.clients} {client_name} clients × {args.seconds:.0f} s, batch of {args.batch}; "
            "cpu = server CPU per request; baseline = in-process Inverter.invert (no HTTP)"
        )
        header = (
            f"{'refine':>6} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
            f"{'errors':>6} {'cpu ms':>6} {'base ms':>7} {'p50/base':>8} {'batch s':>7} "
            f"{'base s':>7} {'batch/base':>10}"
        )
        print(header)
        for refine, n, p50, p99, errors, cpu_ms, batch_s, status, b1, bb in rows:
            cpu = f"{cpu_ms:>6.2f}" if cpu_ms is not None else f"{'-':>6}"
            print(
                f"{str(refine):>6} {n:>8d} {n / args.seconds:>7.0f} {p50:>7.2f} {p99:>7.2f} "
                f"{errors:>6d} {cpu} {b1:>7.2f} {p50 / b1:>8.2f} {batch_s:>7.3f} {bb:>7.3f} "
                f"{batch_s / bb:>10.2f}" + ("" if status == 200 else f"  (batch HTTP {status})")
            )
        print(f"targets: p50 ≤ {TARGETS['p50_ms']} ms, errors = 0, batch ≤ {TARGETS['batch_s']} s")
    finally:
        if server is not None:
            stop_process_group(server, timeout_s=40)
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
