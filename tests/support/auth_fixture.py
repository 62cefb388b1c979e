#!/usr/bin/python3
"""auth_fixture.py DIR: keys (scripts/gen-jwt-keys.sh) and a token for every
outcome of the aggregator's auth, minted by scripts/mint-token.py (PyJWT), an
implementation independent of the code under test.

Writes DIR/cases.json: {"now": unix seconds at minting, "leeway_s": 30,
"cases": [{"name", "token", "customer", "code", "reason"}]}, where code is
OK, UNAUTHENTICATED or PERMISSION_DENIED and reason a part of the status
message. The aggregator under test trusts a.pub.pem, b.pub.pem, e.pub.pem and
jwks.json (j1, j2); other.pem is unknown to it.
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(HERE, "..", "..", "scripts")
LEEWAY = 30


def main():
    out = sys.argv[1]
    subprocess.run(["sh", os.path.join(SCRIPTS, "gen-jwt-keys.sh"), out], check=True)
    # A 1024-bit RSA key: too weak to be accepted as a verification key.
    subprocess.run(["openssl", "genpkey", "-quiet", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024",
                    "-out", os.path.join(out, "weak.pem")], check=True)
    subprocess.run(["openssl", "pkey", "-in", os.path.join(out, "weak.pem"), "-pubout", "-out",
                    os.path.join(out, "weak.pub.pem")], check=True)

    def key(name):
        return os.path.join(out, name)

    def mint(*args):
        r = subprocess.run([sys.executable, os.path.join(SCRIPTS, "mint-token.py"), "token", *args],
                           check=True, capture_output=True, text=True)
        return r.stdout.strip()

    now = int(time.time())
    good = ["--customers", "c-42,c-7"]
    cases = []

    def case(name, token, code, reason="", customer="c-42"):
        cases.append({"name": name, "token": token, "customer": customer, "code": code, "reason": reason})

    a = mint("--key", key("a.pem"), "--kid", "a", *good)
    case("rs256 key a", a, "OK")
    case("rs256 key b (rotation)", mint("--key", key("b.pem"), "--kid", "b", *good), "OK")
    case("es256 key e", mint("--key", key("e.pem"), "--alg", "ES256", "--kid", "e", *good), "OK")
    case("jwks rsa j1", mint("--key", key("j1.pem"), "--kid", "j1", *good), "OK")
    case("jwks ec j2", mint("--key", key("j2.pem"), "--alg", "ES256", "--kid", "j2", *good), "OK")
    case("no kid: every key tried", mint("--key", key("b.pem"), *good), "OK")
    case("second customer", a, "OK", customer="c-7")
    case("aud as an array", mint("--key", key("a.pem"), "--kid", "a", "--aud", "other,fanout", *good), "OK")
    case("expired within the leeway", mint("--key", key("a.pem"), "--kid", "a", "--exp-in", "-10", *good), "OK")
    case("admin scope", mint("--key", key("a.pem"), "--kid", "a", "--scope", "read analytics:all"), "OK",
         customer="c-999")
    case("another customer", a, "PERMISSION_DENIED", "may not read customer c-1", customer="c-1")
    case("no customers claim", mint("--key", key("a.pem"), "--kid", "a"), "PERMISSION_DENIED", "may not read")
    case("scope that only looks like admin", mint("--key", key("a.pem"), "--kid", "a", "--scope", "analytics:allx"),
         "PERMISSION_DENIED", "may not read")
    case("alg none", mint("--alg", "none", "--kid", "a", *good), "UNAUTHENTICATED", "algorithm not allowed")
    case("alg none without kid", mint("--alg", "none", *good), "UNAUTHENTICATED", "algorithm not allowed")
    case("HS256 keyed with the public key", mint("--alg", "HS256", "--key", key("a.pub.pem"), "--kid", "a", *good),
         "UNAUTHENTICATED", "algorithm not allowed")
    case("ES256 header on an RSA key", mint("--key", key("e.pem"), "--alg", "ES256", "--kid", "a", *good),
         "UNAUTHENTICATED", "bad signature")
    case("forged: unknown signer under a known kid", mint("--key", key("other.pem"), "--kid", "a", *good),
         "UNAUTHENTICATED", "bad signature")
    case("forged: unknown signer without kid", mint("--key", key("other.pem"), *good), "UNAUTHENTICATED",
         "bad signature")
    case("unknown kid", mint("--key", key("other.pem"), "--kid", "zz", *good), "UNAUTHENTICATED", "unknown key id")
    case("expired one second past the leeway",
         mint("--key", key("a.pem"), "--kid", "a", "--exp-in", str(-LEEWAY - 1), *good), "UNAUTHENTICATED",
         "token expired")
    case("not yet valid", mint("--key", key("a.pem"), "--kid", "a", "--nbf-in", "120", *good), "UNAUTHENTICATED",
         "not yet valid")
    case("wrong issuer", mint("--key", key("a.pem"), "--kid", "a", "--iss", "https://evil.example", *good),
         "UNAUTHENTICATED", "wrong issuer")
    case("wrong audience", mint("--key", key("a.pem"), "--kid", "a", "--aud", "other", *good), "UNAUTHENTICATED",
         "wrong audience")
    case("no expiry", mint("--key", key("a.pem"), "--kid", "a", "--exp-in", "none", *good), "UNAUTHENTICATED",
         "no expiry")
    head, body, sig = a.split(".")
    other = mint("--key", key("a.pem"), "--kid", "a", "--customers", "c-1").split(".")[1]
    case("payload swapped under a valid signature", f"{head}.{other}.{sig}", "UNAUTHENTICATED", "bad signature")
    case("signature cut", f"{head}.{body}.{sig[:-4]}", "UNAUTHENTICATED", "bad signature")
    case("malformed: two parts", f"{head}.{body}", "UNAUTHENTICATED", "malformed token")
    case("malformed: four parts", f"{a}.x", "UNAUTHENTICATED", "malformed token")
    case("malformed: not base64", "!!!.@@@.###", "UNAUTHENTICATED", "malformed token")
    case("malformed: empty", "", "UNAUTHENTICATED", "malformed token")
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump({"now": now, "leeway_s": LEEWAY, "cases": cases}, f, indent=1)


if __name__ == "__main__":
    main()
