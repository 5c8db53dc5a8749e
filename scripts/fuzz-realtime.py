#!/usr/bin/env python3
"""Fuzzes the realtime gateway (/v1/realtime) of a live server with raw WebSocket frames.

    scripts/fuzz-realtime.py --base http://127.0.0.1:PORT --token TOKEN --channel CHANNEL_ID [--seconds 60] [--seed 7]

Standard library only: the frames are written by hand so that they can be wrong in every way a
library would refuse to be (unmasked, reserved bits and opcodes, fragmented control frames,
continuations without a start, lengths that lie, invalid UTF-8), besides valid JSON of the wrong
shape, binary, empty, huge and flooded frames, and connections reset in the middle of a frame.

Fails (exit 1) on: an `internal` error frame (the gateway's 5xx), a server that stops answering
`GET /health`, a close code outside the documented ones, or `herald_realtime_connections` not back
at 0 once every socket is gone (a leaked connection). Bounded in time by --seconds.
"""
import argparse
import base64
import json
import os
import random
import socket
import struct
import sys
import threading
import time
import urllib.request

DOCUMENTED_CLOSES = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1011, 1012, 4401, 4403, 4408, 4413, 4429}
# docs/protocol.md: a client's close frame is answered with the same code when it is one an endpoint
# may send (RFC 6455, 7.4); any other code is answered with 1002.
ECHOABLE_CLOSES = set(range(1000, 1004)) | set(range(1007, 1012)) | set(range(3000, 5000))


class Failure(Exception):
    pass


def frame(opcode, payload, fin=True, masked=True, rsv=0, declared=None):
    """One WebSocket frame; `declared` overrides the length field (a lie)."""
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    length = len(payload) if declared is None else declared
    if length < 126:
        header = struct.pack("!BB", first, (0x80 if masked else 0) | length)
    elif length < 65536:
        header = struct.pack("!BBH", first, (0x80 if masked else 0) | 126, length)
    else:
        header = struct.pack("!BBQ", first, (0x80 if masked else 0) | 127, length)
    if not masked:
        return header + payload
    mask = os.urandom(4)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class Episode:
    """One connection: upgrade, authenticate (header or frame), then a random sequence of frames."""

    def __init__(self, args, rng, report):
        self.args, self.rng, self.report = args, rng, report

    def run(self):
        host, port = self.args.host, self.args.port
        sock = socket.create_connection((host, port), timeout=5)
        sock.settimeout(0.2)
        header_auth = self.rng.random() < 0.5
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /v1/realtime HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n"
        )
        if header_auth:
            request += f"Authorization: Bearer {self.args.token}\r\n"
        sock.sendall((request + "\r\n").encode())
        response = b""
        deadline = time.time() + 5
        while b"\r\n\r\n" not in response and time.time() < deadline:
            try:
                chunk = sock.recv(4096)
            except socket.timeout:
                continue
            if not chunk:
                break
            response += chunk
        if not response.startswith(b"HTTP/1.1 101"):
            sock.close()
            raise Failure(f"upgrade refused: {response[:200]!r}")
        self.buffer = response.split(b"\r\n\r\n", 1)[1]
        self.sent_close = None
        if not header_auth:
            token = self.args.token if self.rng.random() < 0.8 else self.rng.choice(["", "x", "a.b.c", "eyJ" * 500])
            sock.sendall(frame(1, json.dumps({"type": "auth", "token": token}).encode()))
        closed = False
        for _ in range(self.rng.randint(1, 40)):
            try:
                sock.sendall(self.mutation())
            except OSError:
                closed = True
                break
            closed = self.drain(sock)
            if closed:
                break
        if not closed and self.rng.random() < 0.3:
            # Reset in the middle of a frame.
            try:
                sock.sendall(frame(1, b'{"type":"sync"')[:7])
            except OSError:
                pass
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif not closed:
            try:
                if self.sent_close is None:
                    self.sent_close = 1000
                sock.sendall(frame(8, struct.pack("!H", 1000)))
                self.drain(sock, wait=1.0)
            except OSError:
                pass
        sock.close()

    def drain(self, sock, wait=0.05):
        """Reads what arrived; True once the server closed."""
        end = time.time() + wait
        while time.time() < end:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                return False
            except OSError:
                return True
            if not chunk:
                return True
            self.buffer += chunk
            if self.parse():
                return True
        return False

    def parse(self):
        """Consumes whole server frames from the buffer; True when a close frame came."""
        while len(self.buffer) >= 2:
            opcode = self.buffer[0] & 0x0F
            length = self.buffer[1] & 0x7F
            offset = 2
            if length == 126:
                if len(self.buffer) < 4:
                    return False
                length = struct.unpack("!H", self.buffer[2:4])[0]
                offset = 4
            elif length == 127:
                if len(self.buffer) < 10:
                    return False
                length = struct.unpack("!Q", self.buffer[2:10])[0]
                offset = 10
            if len(self.buffer) < offset + length:
                return False
            payload = self.buffer[offset:offset + length]
            self.buffer = self.buffer[offset + length:]
            if opcode == 1:
                try:
                    message = json.loads(payload)
                except ValueError:
                    self.report(f"the server sent a text frame that is not JSON: {payload[:120]!r}")
                    continue
                if message.get("type") == "error" and message.get("code") == "internal":
                    self.report(f"internal error frame: {message}")
            elif opcode == 8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                echoed = self.sent_close is not None and code == self.sent_close and code in ECHOABLE_CLOSES
                if code not in DOCUMENTED_CLOSES and not echoed:
                    self.report(f"undocumented close code {code}")
                return True
        return False

    def json_value(self, depth=0):
        roll = self.rng.random()
        if depth > 4 or roll < 0.3:
            return self.rng.choice([None, True, 0, -1, 2**53, 2**53 + 1, 2**63, -(2**63) - 1, 1e308, "", "a" * 300, "\u202e", "😀" * 50,
                                    "ch_0000000000000000000000000a", self.args.channel])
        if roll < 0.6:
            return [self.json_value(depth + 1) for _ in range(self.rng.randint(0, 5))]
        keys = ["type", "channelId", "clientMessageId", "text", "data", "afterSeq", "seq", "token", "x"]
        return {self.rng.choice(keys): self.json_value(depth + 1) for _ in range(self.rng.randint(0, 6))}

    def valid_frame(self):
        kind = self.rng.choice(["message.send", "sync", "read", "typing"])
        message = {"type": kind, "channelId": self.args.channel if self.rng.random() < 0.8 else "ch_nope"}
        if kind == "message.send":
            message.update(clientMessageId=f"f-{self.rng.randint(0, 10**9)}", text=self.rng.choice(["hi", "x" * self.rng.randint(0, 11000)]))
        elif kind == "sync":
            message["afterSeq"] = self.rng.choice([0, 1, 2**53, -1, 2**63])
        elif kind == "read":
            message["seq"] = self.rng.choice([0, 1, 5, 2**53, 2**53 + 1])
        return json.dumps(message).encode()

    def mutation(self):
        r = self.rng.random
        choice = self.rng.randint(0, 17)
        if choice <= 4:
            return frame(1, self.valid_frame())
        if choice == 5:
            return frame(1, json.dumps(self.json_value()).encode())
        if choice == 6:
            return frame(2, os.urandom(self.rng.randint(0, 300)))
        if choice == 7:
            return frame(1, b"\xff\xfe" + os.urandom(20))
        if choice == 8:
            return frame(1, b"")
        if choice == 9:
            text = self.valid_frame()
            cut = self.rng.randint(0, len(text))
            return frame(1, text[:cut], fin=False) + frame(0, text[cut:])
        if choice == 10:
            return frame(0, b'{"type":"typing"}')
        if choice == 11:
            return frame(9, os.urandom(self.rng.randint(0, 200)), fin=r() < 0.5)
        if choice == 12:
            return frame(1, self.valid_frame(), masked=False)
        if choice == 13:
            return frame(self.rng.choice([3, 4, 5, 6, 7, 11, 12, 13, 14, 15]), b"x", rsv=self.rng.randint(0, 7))
        if choice == 14:
            return frame(1, b"", declared=self.rng.choice([70000, 2**20 + 1, 2**40, 2**63 - 1]))
        if choice == 15:
            return frame(1, b"a" * self.rng.choice([65537, 200000]))
        if choice == 16:
            return b"".join(frame(1, b'{"type":"typing","channelId":"%s"}' % self.args.channel.encode()) for _ in range(300))
        code = self.rng.choice([0, 999, 1004, 1005, 1006, 1015, 2000, 3000, 4999, 5000])
        if self.sent_close is None:
            self.sent_close = code
        return frame(8, struct.pack("!H", code) + os.urandom(self.rng.randint(0, 120)))


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--channel", required=True)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    host_port = args.base.split("//", 1)[1].rstrip("/")
    args.host, port = host_port.rsplit(":", 1)
    args.port = int(port)

    problems, episodes, lock = [], [0], threading.Lock()

    def report(problem):
        with lock:
            problems.append(problem)

    def worker(index):
        rng = random.Random(args.seed * 1000 + index)
        end = time.time() + args.seconds
        while time.time() < end:
            try:
                Episode(args, rng, report).run()
            except Failure as failure:
                report(str(failure))
            except OSError:
                pass  # the server closing on us mid-write is an answer, not a failure
            with lock:
                episodes[0] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.workers)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        time.sleep(2)
        try:
            status, _ = get(args.base + "/health")
            if status != 200:
                report(f"/health answered {status}")
        except Exception as error:  # noqa: BLE001 - any failure to answer is the finding
            report(f"/health did not answer: {error}")
    for thread in threads:
        thread.join()

    # Every socket is gone: the gauge must come back to zero (a leaked connection keeps it up).
    deadline, count = time.time() + 15, None
    while time.time() < deadline:
        _, metrics = get(args.base + "/metrics")
        line = next((l for l in metrics.splitlines() if l.startswith("herald_realtime_connections ")), "herald_realtime_connections ?")
        count = line.split()[1]
        if count in ("0", "0.0"):
            break
        time.sleep(0.2)
    if count not in ("0", "0.0"):
        problems.append(f"herald_realtime_connections stayed at {count} after every socket closed")

    print(f"fuzz-realtime: {episodes[0]} connections in {args.seconds:.0f} s, seed {args.seed}")
    if problems:
        for problem in sorted(set(problems))[:30]:
            print("  FAIL", problem)
        sys.exit(1)
    print("fuzz-realtime: no internal error, no undocumented close, /health answered throughout, no leaked connection")


if __name__ == "__main__":
    main()
