/*
 * agg_auth_keys: the token verification keys, read from PEM public-key files
 * and from a JWKS file (RFC 7517) into OpenSSL keys, once at start-up.
 *
 * A PEM key's kid is its file name without the directory and without
 * ".pem" and ".pub" ("keys/a.pub.pem" is "a"); a JWKS key's kid is its "kid",
 * which it must have. Several keys at once is what key rotation needs: the
 * issuer signs with the new key while tokens of the old one are still valid.
 * RSA keys must have 2048 bits or more; EC keys must be on P-256. A file that
 * cannot be read or parsed, a weak or unsupported key and a kid given twice
 * are errors that name the file.
 */
#ifndef AGG_AUTH_KEYS_H
#define AGG_AUTH_KEYS_H

#include <stddef.h>

#include "agg_jwt.h"
#include "fo_error.h"

/* Into *out (released with agg_auth_keys_release also on error); jwks may be NULL. */
fo_error *agg_auth_keys_load(char *const *pem_files, size_t n_pem, const char *jwks, agg_jwt_keys *out);
void agg_auth_keys_release(agg_jwt_keys *k);

#endif
