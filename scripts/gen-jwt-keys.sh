#!/bin/sh
# gen-jwt-keys.sh DIR: throwaway token-signing keys for development and tests.
#
# Writes into DIR (created if needed, files overwritten):
#   a.pem, a.pub.pem      RSA 2048 (RS256), kid "a" for the aggregator's auth.keys
#   b.pem, b.pub.pem      RSA 2048, a second key: rotation
#   e.pem, e.pub.pem      EC P-256 (ES256), kid "e"
#   j1.pem, j2.pem        RSA and EC keys published only in jwks.json, kids "j1" and "j2"
#   jwks.json             the public halves of j1 and j2 as a JWKS (auth.jwks)
#   other.pem             an RSA key the aggregator never hears of: forged tokens
# Tokens are minted with scripts/mint-token.py (Python's jwt, not our code).
# Never use these outside development and tests.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
dir=$1
mkdir -p "$dir"
here=$(cd "$(dirname "$0")" && pwd)

rsa() { openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/$1.pem"; }
ec() { openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/$1.pem"; }

rsa a
rsa b
ec e
rsa j1
ec j2
rsa other
for k in a b e; do
    openssl pkey -in "$dir/$k.pem" -pubout -out "$dir/$k.pub.pem"
done
/usr/bin/python3 "$here/mint-token.py" jwks j1="$dir/j1.pem" j2="$dir/j2.pem" > "$dir/jwks.json"
