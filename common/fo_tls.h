/*
 * fo_tls: checks of TLS certificate and key files, made before they are
 * handed to gRPC.
 *
 * gRPC accepts unreadable, mismatched or expired files without a word and
 * fails later, per connection, with a handshake error that names no file (or
 * a server simply "cannot listen"). These checks run once, at start-up, and
 * say which file is wrong and how. Every error is FO_STATUS_INVALID_ARGUMENT
 * with a message that starts with the file's path, e.g.
 *   "certs/server.key: private key does not match the certificate in certs/server.pem"
 *   "certs/server.pem: certificate expired at 2020-01-02T00:00:00Z"
 *
 * They use OpenSSL only (no gRPC) and leave its error queue empty.
 */
#ifndef FO_TLS_H
#define FO_TLS_H

#include "fo_error.h"

/*
 * A certificate and its private key, both PEM: the file cert_path must start
 * with a certificate valid now (a chain may follow it); key_path must hold an
 * unencrypted private key that matches it. Either path NULL is an error: they
 * go together.
 */
fo_error *fo_tls_check_pair(const char *cert_path, const char *key_path);

/*
 * A file of trusted CA certificates, PEM: at least one, and at least one of
 * them valid now (a bundle may carry a few stale roots).
 */
fo_error *fo_tls_check_ca(const char *ca_path);

#endif
