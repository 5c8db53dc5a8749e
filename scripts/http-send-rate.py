#!/usr/bin/env python3
"""Measures durable messages/s through the Platform API.

Usage: http-send-rate.py API_KEY PORT CONCURRENCY COUNT

Creates users ana and ben and a group channel, then posts COUNT messages from CONCURRENCY senders,
each on its own keep-alive HTTP/1.1 connection, each waiting for its 201 (the commit) before the
next send. Prints messages/s and latency percentiles, and checks that the channel's seqs are
gap-free and that every acknowledged message is stored.
"""
import http.client
import json
import sys
import threading
import time

key, port, concurrency, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
headers = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}


def call(connection, method, path, body=None):
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


setup = http.client.HTTPConnection("127.0.0.1", port)
for user in ["ana", "ben"]:
    call(setup, "PUT", "/v1/users/" + user, "{}")
status, body = call(setup, "POST", "/v1/channels", '{"type":"group","members":["ana","ben"]}')
channel = json.loads(body)["id"]

latencies, acknowledged, lock = [], [], threading.Lock()


def sender(index):
    connection = http.client.HTTPConnection("127.0.0.1", port)
    for n in range(index, count, concurrency):
        start = time.perf_counter()
        status, body = call(connection, "POST", "/v1/channels/%s/messages" % channel, '{"text":"message %d","sender":"ana"}' % n)
        elapsed = time.perf_counter() - start
        with lock:
            latencies.append(elapsed)
            if status == 201:
                acknowledged.append(json.loads(body)["id"])


started = time.perf_counter()
threads = [threading.Thread(target=sender, args=(i,)) for i in range(concurrency)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
elapsed = time.perf_counter() - started

seqs, ids, after = [], set(), 0
while True:
    _, body = call(setup, "GET", "/v1/channels/%s/messages?after=%d&limit=200" % (channel, after))
    page = json.loads(body)
    seqs += [m["seq"] for m in page["messages"]]
    ids |= {m["id"] for m in page["messages"]}
    if not page["messages"] or not page["hasMore"]:
        break
    after = page["messages"][-1]["seq"]
assert seqs == list(range(1, len(seqs) + 1)), "seqs are not gap-free"
assert set(acknowledged) <= ids, "an acknowledged message is missing"

latencies.sort()
pick = lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000
print("senders=%d messages=%d acknowledged=%d  %.0f msg/s  p50=%.2f ms  p99=%.2f ms  max=%.2f ms"
      % (concurrency, count, len(acknowledged), count / elapsed, pick(0.5), pick(0.99), latencies[-1] * 1000))
