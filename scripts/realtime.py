#!/usr/bin/env python3
"""A terminal on Herald's realtime socket: prints every frame the server sends, sends every line you type.

    BEN=<user token> python3 scripts/realtime.py [ws://127.0.0.1:8080/v1/realtime]

Standard library only (no pip install). Authenticates with the token in the Authorization header
(the env var named by --token-env, BEN by default), answers pings, and ends when the server closes
the socket or standard input ends (Ctrl-D), after the frames already on their way have arrived.
Lines are sent as they are: type JSON frames such as
{"type":"message.send","channelId":"ch_...","clientMessageId":"c1","text":"Hi Ana"}
"""
import argparse
import base64
import os
import socket
import struct
import sys
import threading
import urllib.parse


def send_frame(sock, opcode, payload):
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def read_exactly(stream, count):
    data = stream.read(count)
    if len(data) < count:
        raise EOFError
    return data


def read_frames(stream, sock, lock):
    """Prints text frames; answers pings; returns on close (printing its code and reason) or end of stream."""
    try:
        read_until_close(stream, sock, lock)
    except (EOFError, OSError):
        print("connection ended", flush=True)


def read_until_close(stream, sock, lock):
    message = b""
    while True:
        first, second = read_exactly(stream, 2)
        opcode, length = first & 0x0F, second & 0x7F
        if length == 126:
            length = struct.unpack("!H", read_exactly(stream, 2))[0]
        elif length == 127:
            length = struct.unpack("!Q", read_exactly(stream, 8))[0]
        payload = read_exactly(stream, length)
        if opcode == 0x9:
            with lock:
                send_frame(sock, 0xA, payload)
        elif opcode == 0x8:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            print(f"closed {code} {payload[2:].decode(errors='replace')}", flush=True)
            return
        elif opcode in (0x1, 0x0):
            message += payload
            if first & 0x80:
                print(message.decode(), flush=True)
                message = b""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", nargs="?", default="ws://127.0.0.1:8080/v1/realtime")
    parser.add_argument("--token-env", default="BEN", help="the environment variable holding the user token")
    args = parser.parse_args()
    url = urllib.parse.urlsplit(args.url)
    if url.scheme != "ws":
        sys.exit("only ws:// here; behind TLS, use a client such as websocat")
    token = os.environ.get(args.token_env) or sys.exit(f"set {args.token_env} to a user token")
    sock = socket.create_connection((url.hostname, url.port or 80))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((
        f"GET {url.path or '/'} HTTP/1.1\r\nHost: {url.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\nAuthorization: Bearer {token}\r\n\r\n"
    ).encode())
    stream = sock.makefile("rb")
    status = stream.readline().decode(errors="replace").strip()
    while stream.readline() not in (b"\r\n", b""):
        pass
    if not status.startswith("HTTP/1.1 101"):
        sys.exit(f"the server refused the socket: {status}")
    lock = threading.Lock()
    reader = threading.Thread(target=read_frames, args=(stream, sock, lock), daemon=True)
    reader.start()
    for line in sys.stdin:
        if line.strip() and reader.is_alive():
            with lock:
                send_frame(sock, 0x1, line.strip().encode())
    # Standard input ended: what was sent is answered before the socket closes.
    reader.join(timeout=2)
    if reader.is_alive():
        with lock:
            send_frame(sock, 0x8, struct.pack("!H", 1000))
        reader.join(timeout=2)


if __name__ == "__main__":
    try:
        main()
    except (EOFError, ConnectionError, KeyboardInterrupt):
        pass
