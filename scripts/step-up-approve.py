#!/usr/bin/env python3
"""Plays a customer's phone: verifies the newest inbox item's signature, then approves one of its
actions with a step-up signature, exactly as docs/protocol.md describes.

    python3 scripts/step-up-approve.py http://127.0.0.1:8080 USER_TOKEN APP_ID [ACTION_ID] [--bank-key API_KEY]

Needs `pip install cryptography`. The device key is generated here and kept in memory; a real app
keeps it in the Secure Enclave (or Android's StrongBox) behind a biometric check.

A key the app registers is pending: it approves nothing until the bank activates it, after its own
strong authentication of the customer. With --bank-key the script plays the bank for that one call
(POST /v1/users/{userId}/devices/{deviceId}/step-up/activate); without it, it prints the call and stops.
"""
import base64, hashlib, json, sys, urllib.request
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

args = sys.argv[1:]
bank_key = None
if "--bank-key" in args:
    index = args.index("--bank-key")
    bank_key = args[index + 1]
    del args[index:index + 2]
base, token, app = args[0], args[1], args[2]
action = args[3] if len(args) > 3 else "approve"

def b64url(data): return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
def unb64url(text): return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

def call(method, path, body=None, auth=True, bearer=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Content-Type", "application/json")
    if auth: request.add_header("Authorization", "Bearer " + (bearer or token))
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")

# 1. The newest item, verified against the app's published keys; show the signed payload, not the outer fields.
_, page = call("GET", "/v1/me/inbox?limit=1")
item = page["items"][0]
_, keyset = call("GET", f"/v1/apps/{app}/keys", auth=False)
header_b64, payload_b64, signature_b64 = item["jws"].split(".")
kid = json.loads(unb64url(header_b64))["kid"]
jwk = next(k for k in keyset["keys"] if k["kid"] == kid)
ed25519.Ed25519PublicKey.from_public_bytes(unb64url(jwk["x"])).verify(unb64url(signature_b64), f"{header_b64}.{payload_b64}".encode())
payload = unb64url(payload_b64)
print("verified:", json.loads(payload)["title"], "|", json.loads(payload)["body"])

# 2. Register this device with its P-256 step-up key.
device_key = ec.generate_private_key(ec.SECP256R1())
numbers = device_key.public_key().public_numbers()
jwk = {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")), "y": b64url(numbers.y.to_bytes(32, "big"))}
_, device = call("POST", "/v1/me/devices", {"platform": "fcm", "token": "demo-device-" + b64url(numbers.x.to_bytes(32, "big"))[:16], "stepUpKey": jwk})
user = json.loads(payload)["recipient"]
activate = f"/v1/users/{user}/devices/{device['deviceId']}/step-up/activate"
print("device:", device["deviceId"], device["stepUp"]["state"], "key", device["stepUp"]["thumbprint"])

# 3. The bank activates the key after its own strong authentication of the customer.
if bank_key is None:
    print(f"the bank activates it: curl -X POST {base}{activate} -H 'Authorization: Bearer $KEY'; then run this again with --bank-key")
    sys.exit(0)
status, activated = call("POST", activate, bearer=bank_key)
print("activated by the bank:", status, activated["stepUp"]["state"])

# 4. A one-time challenge, and the signature over exactly what was shown (no input: inputHash is empty).
_, challenge = call("POST", f"/v1/me/inbox/{item['id']}/actions/{action}/challenge")
payload_hash = b64url(hashlib.sha256(payload).digest())
input_hash = ""
message = f"herald-action-v2\n{item['id']}\n{action}\n{challenge['challenge']}\n{payload_hash}\n{input_hash}".encode()
r, s = decode_dss_signature(device_key.sign(message, ec.ECDSA(hashes.SHA256())))
signature = b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

# 5. Perform the action; replaying the same challenge is refused.
status, result = call("POST", f"/v1/me/inbox/{item['id']}/actions/{action}",
                      {"deviceId": device["deviceId"], "challenge": challenge["challenge"], "signature": signature})
print(status, json.dumps(result))
status, _ = call("POST", f"/v1/me/inbox/{item['id']}/actions/{action}",
                 {"deviceId": device["deviceId"], "challenge": challenge["challenge"], "signature": signature})
print("replayed challenge:", status)
