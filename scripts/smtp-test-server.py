#!/usr/bin/env python3
"""A real SMTP submission server for the e-mail fallback's tests (aiosmtpd): STARTTLS required before
anything else, AUTH PLAIN/LOGIN with one account (only over TLS), every accepted message appended to
--out as one JSON line (envelope, raw data, whether TLS and authentication were in force).

    python3 scripts/smtp-test-server.py --cert server.pem --key server-key.pem --user U --password P --out messages.jsonl

Prints "listening PORT" once it accepts connections, and stops when its standard input closes.
"""
import argparse
import json
import socket
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("--cert", "--key", "--user", "--password", "--out"):
        parser.add_argument(name, required=True)
    parser.add_argument("--reply", default="250 OK", help="the reply to DATA (a 4xx or 5xx to test refusals)")
    args = parser.parse_args()

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            record = {
                "from": envelope.mail_from,
                "to": envelope.rcpt_tos,
                "data": envelope.original_content.decode("utf-8", "replace"),
                "tls": session.ssl is not None,
                "authenticated": bool(session.authenticated),
            }
            with open(args.out, "a", encoding="utf-8") as out:
                out.write(json.dumps(record) + "\n")
            return args.reply

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == args.user.encode() and auth_data.password == args.password.encode()
        return AuthResult(success=ok, handled=False)

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    controller = Controller(
        Handler(), hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True, authenticator=authenticator,
        auth_require_tls=True, decode_data=False)
    controller.start()
    print(f"listening {port}", flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
