#!/usr/bin/env python3
"""Measures how long one notification takes to reach N users' inboxes (the POST answers once every
item is committed), against a running server:

    python3 scripts/notification-fanout.py API_KEY PORT N [--explicit]

Creates users fanout-N-0 ... with metadata {"cohort": "fanout-N"} (16 threads), then sends one
transactional notification to the segment (or, with --explicit, to the list of ids, N <= 10,000),
prints the send's wall time, and checks the report: recipients == N.
"""
import http.client, json, sys, time
from concurrent.futures import ThreadPoolExecutor

key, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
explicit = "--explicit" in sys.argv
cohort = f"fanout-{count}"
headers = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}

def create(chunk):
    connection = http.client.HTTPConnection("127.0.0.1", port)
    for index in chunk:
        connection.request("PUT", f"/v1/users/{cohort}-{index}", json.dumps({"metadata": {"cohort": cohort}}), headers)
        response = connection.getresponse(); response.read()
        assert response.status in (200, 201), response.status

start = time.monotonic()
with ThreadPoolExecutor(16) as pool:
    list(pool.map(create, [range(i, count, 16) for i in range(16)]))
print(f"created {count} users in {time.monotonic() - start:.1f} s")

audience = {"recipients": [f"{cohort}-{i}" for i in range(count)]} if explicit else {"segment": {"metadata": {"cohort": cohort}}}
body = json.dumps({**audience, "category": "transactional", "content": {"title": "Rates change", "body": "New rates from January."}})
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
start = time.monotonic()
connection.request("POST", "/v1/notifications", body, headers)
response = connection.getresponse()
sent = json.loads(response.read())
elapsed = time.monotonic() - start
assert response.status == 201, (response.status, sent)
connection.request("GET", f"/v1/notifications/{sent['id']}", headers=headers)
report = json.loads(connection.getresponse().read())
assert report["recipients"] == count, report
print(f"{'explicit' if explicit else 'segment'} send to {count} users: {elapsed:.2f} s ({count / elapsed:,.0f} items/s), recipients={report['recipients']}")
