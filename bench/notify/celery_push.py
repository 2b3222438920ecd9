"""celery_push.py -- the Celery 5 peer of bench/notify.sh (Debian
python3-celery, Redis broker): one task per device, as a team fans a
notification out with Celery: the task POSTs FCM HTTP v1's messages:send
body with a Bearer token (firebase-admin's HTTP shape) to the fake FCM,
retried on failure.

  worker:   celery -A celery_push worker --pool=prefork -c 8
  producer: python3 celery_push.py produce N    (one task per device)
Env: BROKER (redis://...), TARGET (the fake FCM's base URL)."""
import json
import os
import sys

import requests
from celery import Celery

app = Celery("push", broker=os.environ.get("BROKER", "redis://127.0.0.1:6379/0"))
app.conf.update(task_acks_late=True, task_reject_on_worker_lost=True,
                worker_prefetch_multiplier=4, task_ignore_result=True)
TARGET = os.environ.get("TARGET", "http://127.0.0.1:9")
session = requests.Session()


@app.task(bind=True, max_retries=10, name="push")
def push(self, token, title, body):
    msg = {"message": {"token": token, "notification": {"title": title, "body": body}}}
    try:
        r = session.post(TARGET + "/v1/projects/bench/messages:send", data=json.dumps(msg),
                         timeout=10, headers={"Content-Type": "application/json; charset=utf-8",
                                              "Authorization": "Bearer ya29.bench"})
        if r.status_code >= 300:
            raise RuntimeError("status %d" % r.status_code)
    except Exception as e:  # noqa: BLE001
        raise self.retry(exc=e, countdown=1)


if __name__ == "__main__" and sys.argv[1] == "produce":
    for i in range(int(sys.argv[2])):
        push.delay("token-%d" % (i + 1), "Flash sale", "50% off today")
