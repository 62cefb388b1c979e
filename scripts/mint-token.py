#!/usr/bin/python3
"""mint-token.py: JSON Web Tokens for development and tests, by PyJWT (Debian's
python3-jwt), an implementation independent of the aggregator's.

  mint-token.py token --key a.pem [--alg RS256] [--kid a] [--sub alice]
                [--customers c-42,c-7] [--scope "analytics:all"] [--exp-in 300]
                [--nbf-in 0] [--iss https://issuer.example] [--aud fanout]
  mint-token.py token --alg none ...             an unsigned token (attack)
  mint-token.py token --alg HS256 --key a.pub.pem ...
                                                  HMAC keyed with a public key (attack)
  mint-token.py jwks j1=j1.pem j2=j2.pem          the public halves of private keys as a JWKS

The token goes to stdout. --exp-in and --nbf-in are seconds from now (may be
negative); --exp-in none leaves exp out; --aud a,b gives an array.
"""
import argparse
import base64
import hashlib
import hmac
import json
import sys
import time

import jwt
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import ECAlgorithm, RSAAlgorithm


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_or_hmac(alg, header, claims, key_bytes):
    """PyJWT refuses both attacks (rightly), so they are put together by hand here."""
    head = b64url(json.dumps(header, separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    if alg == "none":
        return f"{head}.{body}."
    mac = hmac.new(key_bytes, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(mac)}"


def token(args):
    now = int(time.time())
    aud = args.aud.split(",") if "," in args.aud else args.aud
    claims = {"iss": args.iss, "aud": aud, "sub": args.sub, "iat": now}
    if args.exp_in != "none":
        claims["exp"] = now + int(args.exp_in)
    if args.nbf_in is not None:
        claims["nbf"] = now + int(args.nbf_in)
    if args.customers is not None:
        claims[args.customers_claim] = [c for c in args.customers.split(",") if c]
    if args.scope is not None:
        claims["scope"] = args.scope
    header = {"kid": args.kid} if args.kid else {}
    if args.alg in ("none", "HS256"):
        header = {"alg": args.alg, "typ": "JWT", **header}
        key_bytes = open(args.key, "rb").read() if args.key else b""
        return unsigned_or_hmac(args.alg, header, claims, key_bytes)
    with open(args.key, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    return jwt.encode(claims, key, algorithm=args.alg, headers=header or None)


def jwks(pairs):
    keys = []
    for pair in pairs:
        kid, path = pair.split("=", 1)
        with open(path, "rb") as f:
            public = serialization.load_pem_private_key(f.read(), password=None).public_key()
        algo = RSAAlgorithm if hasattr(public, "public_numbers") and hasattr(public.public_numbers(), "n") else ECAlgorithm
        jwk = json.loads(algo.to_jwk(public))
        jwk.update({"kid": kid, "use": "sig"})
        keys.append(jwk)
    return json.dumps({"keys": keys}, indent=2)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("token")
    t.add_argument("--key")
    t.add_argument("--alg", default="RS256")
    t.add_argument("--kid")
    t.add_argument("--sub", default="alice")
    t.add_argument("--customers")
    t.add_argument("--customers-claim", default="customers")
    t.add_argument("--scope")
    t.add_argument("--exp-in", default="300")
    t.add_argument("--nbf-in")
    t.add_argument("--iss", default="https://issuer.example")
    t.add_argument("--aud", default="fanout")
    j = sub.add_parser("jwks")
    j.add_argument("pairs", nargs="+", metavar="KID=PRIVATE.pem")
    args = p.parse_args()
    print(token(args) if args.cmd == "token" else jwks(args.pairs))


if __name__ == "__main__":
    sys.exit(main())
