"""celery_peer.py -- the Celery 5 peer of bench/jobs.sh (Debian python3-celery,
Redis broker): a task that does what a tarmac webhook job does, one signed
JSON POST (Stripe-style t=,v1= HMAC-SHA256 header, an event id) to the
receiver, retried on failure; and a producer that sends N tasks at RATE per
second (0: as fast as it can), each carrying its id, writing "id sent_us"
lines (the time the broker accepted it).

  worker:   celery -A celery_peer worker --pool=prefork -c 8 (bench/jobs.sh)
  producer: python3 celery_peer.py produce N RATE OUTFILE
Env: BROKER (redis://...), TARGET (the receiver's URL), SECRET."""
import hashlib
import hmac
import json
import os
import sys
import time

import requests
from celery import Celery

app = Celery("peer", broker=os.environ.get("BROKER", "redis://127.0.0.1:6379/0"))
app.conf.update(task_acks_late=True,            # a job survives a worker that dies
                task_reject_on_worker_lost=True,
                worker_prefetch_multiplier=4,
                broker_transport_options={"visibility_timeout": 300},
                task_ignore_result=True)
TARGET = os.environ.get("TARGET", "http://127.0.0.1:9/hook")
SECRET = os.environ.get("SECRET", "bench-secret").encode()
session = requests.Session()


@app.task(bind=True, max_retries=10, name="deliver")
def deliver(self, job_id):
    body = json.dumps({"id": job_id, "event": "create", "collection": "posts",
                       "record": {"id": job_id, "title": "hello from the benchmark"}})
    t = str(int(time.time()))
    sig = hmac.new(SECRET, (t + "." + body).encode(), hashlib.sha256).hexdigest()
    try:
        r = session.post(TARGET, data=body, timeout=10, headers={
            "Content-Type": "application/json", "X-Signature": "t=%s,v1=%s" % (t, sig),
            "X-Event-Id": job_id})
        if r.status_code >= 300:
            raise RuntimeError("status %d" % r.status_code)
    except Exception as e:  # noqa: BLE001
        raise self.retry(exc=e, countdown=1)


def produce(n, rate, out):
    lines = []
    start = time.monotonic()
    for i in range(n):
        if rate:
            due = start + i / rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        job_id = "c%014d" % i
        deliver.apply_async(args=[job_id])
        lines.append("%s %d" % (job_id, int(time.time() * 1e6)))
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(json.dumps({"created": n, "seconds": time.monotonic() - start}))


if __name__ == "__main__" and sys.argv[1:2] == ["produce"]:
    produce(int(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
