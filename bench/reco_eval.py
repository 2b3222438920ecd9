#!/usr/bin/env python3
"""Offline evaluation of tarmac's recommendations (issue #19), on data nobody
here wrote: Debian's package index (`apt-cache dumpavail`). Each package is a
"user" and the packages it depends on are the "items" it interacted with (the
first alternative of each Depends entry, versions dropped). Leave-last-out:
each package's dependencies are written as interactions through the records
API one after another, all but the last, which is held out, and tarmac's recommendations for that
package (GET .../recommendations?user=, top 10) are scored by hit rate@10 and
NDCG@10 against two baselines computed here on the same training data: the
most popular items the user does not have, and random unseen items.

The index has no time, so the order the interactions are written in is
chosen: --order random (the default) shuffles each package's dependencies
with the seed, so the held-out one is any of them; --order listed keeps
the order of the Depends line, where dpkg-shlibdeps sorts the shared
libraries by name, so "last" mostly means the library whose name sorts
last (zlib1g, libstdc++6): a property of the file format, not of use.

    bench/reco_eval.py [--users 3000] [--seed 7] [--order random|listed] [--bin build/release/tarmac]
"""
import argparse
import math
import os
import random
import re
import sys
import subprocess
import time

import evalkit


def packages():
    out = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True).stdout
    deps = {}
    for block in out.split("\n\n"):
        name = re.search(r"^Package: (\S+)", block, re.M)
        dep = re.search(r"^Depends: (.+)$", block, re.M)
        if not name or not dep:
            continue
        items = []
        for entry in dep.group(1).split(","):
            first = entry.split("|")[0].strip()
            first = re.sub(r"\s*\(.*?\)", "", first).split(":")[0].strip()
            if first and first not in items:
                items.append(first)
        deps[name.group(1)] = items
    return deps


def ndcg(rank):
    return 1 / math.log2(rank + 2) if rank is not None else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--order", choices=("random", "listed"), default="random")
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "build", "release", "tarmac"))
    args = ap.parse_args()
    rng = random.Random(args.seed)
    deps = {k: v for k, v in packages().items() if len(v) >= 4}
    names = sorted(deps)
    rng.shuffle(names)
    users = names[:args.users]
    if args.order == "random":
        order = random.Random(args.seed + 1)
        deps = {u: order.sample(deps[u], len(deps[u])) for u in users}
    train = {u: deps[u][:-1] for u in users}
    held = {u: deps[u][-1] for u in users}
    items = sorted({i for u in users for i in deps[u]})
    print("data: apt-cache dumpavail (Debian 12 package index): %d packages with 4+ dependencies, "
          "%d sampled as users (seed %d), %d distinct items, %d training interactions, order %s"
          % (len(names), len(users), args.seed, len(items), sum(len(v) for v in train.values()),
             args.order))

    with evalkit.server(args.bin, "tarmac-recoeval-") as api:
        api.call("PATCH", "/api/settings", {"batch": {"enabled": True, "maxRequests": 50, "timeout": 120},
                                           "rateLimits": {"enabled": False}})
        users_col = api.call("GET", "/api/collections/users")
        api.call("POST", "/api/collections", {"name": "packages", "type": "base", "listRule": "",
                                              "fields": [{"name": "name", "type": "text"}]})
        pkgs = api.call("GET", "/api/collections/packages")
        api.call("POST", "/api/collections", {"name": "uses", "type": "base", "fields": [
            {"name": "user", "type": "relation", "collectionId": users_col["id"], "maxSelect": 1},
            {"name": "item", "type": "relation", "collectionId": pkgs["id"], "maxSelect": 1}]})
        api.call("POST", "/api/collections/_recommenders/records", {
            "name": "deps", "interactions": "uses", "user": "user", "item": "item",
            "halfLifeDays": 3650, "active": True})
        item_id = {name: "p%014d" % i for i, name in enumerate(items)}
        user_id = {name: "u%014d" % i for i, name in enumerate(users)}
        api.batch([{"method": "POST", "url": "/api/collections/packages/records",
                    "body": {"id": item_id[n], "name": n}} for n in items])
        api.batch([{"method": "POST", "url": "/api/collections/users/records",
                    "body": {"id": user_id[u], "email": "%s@eval.example.com" % user_id[u],
                             "password": "userpass123", "passwordConfirm": "userpass123"}}
                   for u in users])
        t0 = time.time()
        api.batch([{"method": "POST", "url": "/api/collections/uses/records",
                    "body": {"user": user_id[u], "item": item_id[i]}} for u in users for i in train[u]])
        while api.call("GET", "/api/jobs?kind=reco&status=queued&perPage=1")["totalItems"] or \
                api.call("GET", "/api/jobs?kind=reco&status=running&perPage=1")["totalItems"]:
            time.sleep(0.2)
        print("interactions written and folded in %.1f s" % (time.time() - t0))

        popularity = {}
        for u in users:
            for i in train[u]:
                popularity[i] = popularity.get(i, 0) + 1
        by_pop = sorted(popularity, key=lambda i: (-popularity[i], i))
        name_of = {v: k for k, v in item_id.items()}
        results = {"tarmac": [0, 0.0], "most popular": [0, 0.0], "random": [0, 0.0]}
        lat = []
        for u in users:
            seen = set(train[u])
            t = time.time()
            res = api.call("GET", "/api/collections/packages/recommendations?limit=10&user=" + user_id[u])
            lat.append(time.time() - t)
            lists = {
                "tarmac": [name_of.get(r["id"]) for r in res["items"]],
                "most popular": [i for i in by_pop if i not in seen][:10],
                "random": rng.sample([i for i in items if i not in seen], 10),
            }
            for k, got in lists.items():
                rank = got.index(held[u]) if held[u] in got else None
                results[k][0] += rank is not None
                results[k][1] += ndcg(rank)
        n = len(users)
        print("| method | hit rate@10 | NDCG@10 |")
        print("|---|---|---|")
        for k, (hits, gain) in results.items():
            print("| %s | %.3f | %.3f |" % (k, hits / n, gain / n))
        lat.sort()
        print("recommendations request: p50 %.2f ms, p99 %.2f ms (%d requests, client and server on this machine)"
              % (lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000, len(lat)))


if __name__ == "__main__":
    sys.exit(main())
