#!/usr/bin/env python3
"""Offline evaluation of tarmac's risk scoring (issue #19), and what scoring
adds to a create.

The stream is generated here with a fixed seed (no public payments data is
packaged in Debian): normal users, each with a home city, a device, usual
hours and a log-normal amount habit, pay over 30 days; into that traffic are
mixed the patterns the issue names, labelled:
  - stolen card bursts: 6 to 10 payments within 20 minutes from a new device;
  - account takeover: a new device in a far country at an unusual hour,
    amounts 3 to 10 times the user's habit;
  - amount outliers: one payment 20 to 50 times the user's habit.
Every payment is written through the records API with its own time (the
model's `time` field), scored by a rule set written as an operator would
write Radar rules (below, all `flag` so every score is kept), and read back
from `_riskScores`. Payments ranked by score, the top REVIEW% are "reviewed":
precision and recall at that review rate, overall and per pattern.

Then the create latency with scoring on and off, in one run: the same
payments alternately to a scored collection and to an unscored copy.

    bench/risk_eval.py [--users 300] [--seed 11] [--review 3] [--bin build/release/tarmac]
"""
import argparse
import math
import os
import random
import sys
import time

import evalkit

CITIES = [(19.076, 72.878), (28.704, 77.102), (12.972, 77.595), (13.083, 80.271), (22.573, 88.364),
          (17.385, 78.487), (18.520, 73.857), (23.023, 72.571), (26.912, 75.787), (21.170, 72.831)]
FAR = [(6.524, 3.379), (55.756, 37.617), (-23.551, -46.633), (40.713, -74.006), (51.507, -0.128)]
DAY = 86400000
T0 = 1793318400000  # 2026-10-29 00:00 UTC

RULES = [
    ("burst", "@risk.count_1h >= 4", 40),
    ("busy day", "@risk.count_24h >= 10", 15),
    ("amount far off", "@risk.amount_z > 6", 40),
    ("amount off", "@risk.amount_z > 3", 15),
    ("new device", "@risk.first_device = true && @risk.history >= 5", 25),
    ("impossible travel", "@risk.speed_kmh > 800", 50),
    ("far away", "@risk.distance_km > 2000", 20),
    ("odd hour", "@risk.hour_share < 0.05 && @risk.history >= 10", 15),
]


def stream(rng, n_users):
    """[(time ms, user index, amount, (lat, lon), device, label)] by time."""
    out = []
    habits = []
    for u in range(n_users):
        home = rng.choice(CITIES)
        peak = rng.randrange(8, 22)
        mu = rng.uniform(math.log(200), math.log(5000))
        habits.append((home, peak, mu))
        for _ in range(max(5, int(rng.gauss(40, 10)))):
            day = rng.randrange(30)
            hour = int(rng.gauss(peak, 2.5)) % 24
            t = T0 + day * DAY + hour * 3600000 + rng.randrange(3600000)
            dev = "dev-%d-%d" % (u, 2 if rng.random() < 0.02 else 1)
            loc = (home[0] + rng.gauss(0, 0.05), home[1] + rng.gauss(0, 0.05))
            out.append((t, u, round(math.exp(rng.gauss(mu, 0.5)), 2), loc, dev, "normal"))
    victims = rng.sample(range(n_users), max(3, n_users // 10))
    for k, u in enumerate(victims):
        home, peak, mu = habits[u]
        t = T0 + rng.randrange(8, 29) * DAY + rng.randrange(DAY)
        kind = ("burst", "takeover", "outlier")[k % 3]
        if kind == "burst":
            dev = "thief-%d" % k
            for i in range(rng.randrange(6, 11)):
                out.append((t + i * rng.randrange(60000, 150000), u,
                            round(math.exp(rng.gauss(mu, 0.3)) * rng.uniform(0.3, 1.2), 2), home, dev, kind))
        elif kind == "takeover":
            far = rng.choice(FAR)
            t = T0 + rng.randrange(8, 29) * DAY + ((peak + 12) % 24) * 3600000
            for i in range(rng.randrange(1, 4)):
                out.append((t + i * 600000, u, round(math.exp(mu) * rng.uniform(3, 10), 2), far,
                            "ato-%d" % k, kind))
        else:
            out.append((t, u, round(math.exp(mu) * rng.uniform(20, 50), 2), home, "dev-%d-1" % u, kind))
    out.sort(key=lambda e: e[0])
    return out


def date(ms):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000)) + ".%03dZ" % (ms % 1000)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=300)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--review", type=float, default=3.0)
    ap.add_argument("--latency", type=int, default=2000)
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "build", "release", "tarmac"))
    args = ap.parse_args()
    rng = random.Random(args.seed)
    events = stream(rng, args.users)
    labels = {}
    for e in events:
        labels[e[5]] = labels.get(e[5], 0) + 1
    print("stream (generated, seed %d): %d users, %d payments: %s" % (
        args.seed, args.users, len(events), ", ".join("%s %d" % kv for kv in sorted(labels.items()))))

    with evalkit.server(args.bin, "tarmac-riskeval-") as api:
        api.call("PATCH", "/api/settings", {"rateLimits": {"enabled": False}})
        users = api.call("GET", "/api/collections/users")
        fields = [{"name": "user", "type": "relation", "collectionId": users["id"], "maxSelect": 1},
                  {"name": "amount", "type": "number"}, {"name": "at", "type": "date"},
                  {"name": "where", "type": "geoPoint"}, {"name": "device", "type": "text"},
                  {"name": "label", "type": "text"}, {"name": "flagged", "type": "bool"}]
        for name in ("payments", "payments_plain"):
            api.call("POST", "/api/collections", {"name": name, "type": "base", "fields": fields})
        api.call("POST", "/api/collections/_riskModels/records", {
            "name": "payments", "collection": "payments", "user": "user", "amount": "amount", "time": "at",
            "location": "where", "device": "device", "flagField": "flagged", "active": True})
        for name, expr, score in RULES:
            api.call("POST", "/api/collections/_riskRules/records", {
                "model": "payments", "name": name, "expression": expr, "score": score, "action": "flag",
                "active": True})
        uid = {}
        for u in range(args.users):
            uid[u] = "u%014d" % u
            api.call("POST", "/api/collections/users/records", {
                "id": uid[u], "email": "%s@eval.example.com" % uid[u], "password": "userpass123",
                "passwordConfirm": "userpass123"})
        label_of = {}
        for i, (t, u, amount, loc, dev, label) in enumerate(events):
            rid = "p%014d" % i
            label_of[rid] = label
            api.call("POST", "/api/collections/payments/records", {
                "id": rid, "user": uid[u], "amount": amount, "at": date(t),
                "where": {"lat": loc[0], "lon": loc[1]}, "device": dev, "label": label})
        scores = []
        page = 1
        while True:
            res = api.call("GET", "/api/collections/_riskScores/records?perPage=500&page=%d&fields=record,score" % page)
            scores += [(s["score"], s["record"]) for s in res["items"]]
            if page >= res["totalPages"]:
                break
            page += 1
        rng.shuffle(scores)  # ties in random order
        scores.sort(key=lambda s: -s[0])
        k = int(len(scores) * args.review / 100)
        reviewed = [label_of[r] for _, r in scores[:k]]
        fraud = sum(v for l, v in labels.items() if l != "normal")
        caught = sum(1 for l in reviewed if l != "normal")
        print("review rate %.1f%% (%d of %d payments): precision %.3f, recall %.3f" % (
            args.review, k, len(scores), caught / max(k, 1), caught / max(fraud, 1)))
        print("| pattern | payments | in the reviewed | recall |")
        print("|---|---|---|---|")
        for l in sorted(labels):
            if l == "normal":
                continue
            got = sum(1 for x in reviewed if x == l)
            print("| %s | %d | %d | %.3f |" % (l, labels[l], got, got / labels[l]))

        # ---- the cost of scoring on a create, in one run --------------------
        lat = {"payments": [], "payments_plain": []}
        for i in range(args.latency):
            t, u, amount, loc, dev, _ = events[i % len(events)]
            for name in ("payments", "payments_plain") if i % 2 else ("payments_plain", "payments"):
                body = {"user": uid[u], "amount": amount, "at": date(T0 + 31 * DAY + i * 1000),
                        "where": {"lat": loc[0], "lon": loc[1]}, "device": dev}
                t1 = time.perf_counter()
                api.call("POST", "/api/collections/%s/records" % name, body)
                lat[name].append(time.perf_counter() - t1)
        print("| create | p50 ms | p99 ms |")
        print("|---|---|---|")
        for name, label in (("payments_plain", "scoring off"), ("payments", "scoring on (8 rules)")):
            v = sorted(lat[name])
            print("| %s | %.3f | %.3f |" % (label, v[len(v) // 2] * 1000, v[int(len(v) * 0.99)] * 1000))


if __name__ == "__main__":
    sys.exit(main())
