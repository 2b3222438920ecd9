#!/usr/bin/python3
"""Reads a ../shared/bench/run --json file and prints, per scenario, each
target's requests/s and server CPU microseconds per request (server CPU share
x 1e6 / req/s) with its ratio to nginx measured in the same run.
Usage: summarize.py RESULTS.json [TARGET-LABEL-OF-TARMAC]"""
import json
import statistics
import sys


def main():
    data = json.load(open(sys.argv[1]))
    tarmac = sys.argv[2] if len(sys.argv) > 2 else None
    rows = {}
    for r in data["results"]:
        if "rps" not in r or not (r.get("cpu_pct") or {}).get("server"):
            continue
        key = (r["scenario"], r["target"])
        rows.setdefault(key, []).append(r)
    print("\n| target | scenario | req/s (median) | server CPU us/req | req/s vs nginx | CPU/req vs nginx | p99 |")
    print("|---|---|---:|---:|---:|---:|---:|")
    med = {}
    for (scen, target), rs in sorted(rows.items()):
        rps = statistics.median(r["rps"] for r in rs)
        cpu = statistics.median(r["cpu_pct"]["server"] / 100.0 * 1e6 / r["rps"] for r in rs)
        p99 = statistics.median(r["p99_ms"] for r in rs)
        med[(scen, target)] = (rps, cpu, p99)
    for (scen, target), (rps, cpu, p99) in sorted(med.items()):
        ng = med.get((scen, "nginx"))
        ratio = f"{rps / ng[0]:.2f}x" if ng else "-"
        cratio = f"{cpu / ng[1]:.2f}x" if ng else "-"
        label = "tarmac" if target == tarmac else target
        print(f"| {label} | {scen} | {rps:.0f} | {cpu:.2f} | {ratio} | {cratio} | {p99:.2f} ms |")


if __name__ == "__main__":
    main()
