#!/bin/sh
# gen-certs.sh DIR: throwaway certificates for development and tests.
#
# Writes into DIR (created if needed, files overwritten):
#   ca.pem                      a CA that signs the next two
#   server.pem, server.key      serverAuth, valid for DNS:localhost and IP:127.0.0.1
#   client.pem, client.key      clientAuth, for mutual TLS
#   other-ca.pem                a second, unrelated CA
#   other-client.pem/.key       clientAuth, signed by other-ca: an mTLS server must refuse it
# plus what is only needed to make them (CA keys, CSRs, an OpenSSL config).
#
# EC P-256 keys (fast to make), SHA-256 signatures, valid for 825 days (the
# longest span clients such as macOS accept for a server certificate). Quiet
# unless something fails. Never use these outside development and tests.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
dir=$1
days=825
mkdir -p "$dir"
cd "$dir"

# Our own config, so the result does not depend on the system's openssl.cnf.
cat > gen-certs.cnf <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = fanout
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

# key FILE: a new unencrypted P-256 private key, readable by its owner only.
key() {
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null)
}

# serial: a random positive 120-bit serial, so certificates from two runs never share one.
serial() {
    echo "0x$(openssl rand -hex 15)"
}

# ca NAME CN: NAME.key and the self-signed NAME.pem.
ca() {
    key "$1.key"
    openssl req -new -config gen-certs.cnf -key "$1.key" -subj "/CN=$2" -out "$1.csr"
    openssl x509 -req -in "$1.csr" -signkey "$1.key" -sha256 -days "$days" -set_serial "$(serial)" \
        -extfile gen-certs.cnf -extensions ca_ext -out "$1.pem" 2>/dev/null
}

# leaf NAME CN CA EXT: NAME.key and NAME.pem signed by CA.pem with extensions EXT.
leaf() {
    key "$1.key"
    openssl req -new -config gen-certs.cnf -key "$1.key" -subj "/CN=$2" -out "$1.csr"
    openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -sha256 -days "$days" \
        -set_serial "$(serial)" -extfile gen-certs.cnf -extensions "$4" -out "$1.pem" 2>/dev/null
}

ca ca "fanout dev CA"
leaf server localhost ca server_ext
leaf client "fanout dev client" ca client_ext
ca other-ca "fanout other CA"
leaf other-client "fanout other client" other-ca client_ext
