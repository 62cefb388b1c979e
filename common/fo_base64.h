/*
 * fo_base64: the one base64 decoder, on OpenSSL's. Proto3 JSON accepts
 * padded or unpadded, standard or URL-safe base64 for bytes, and JSON Web
 * Tokens are unpadded URL-safe base64: both read through here.
 */
#ifndef FO_BASE64_H
#define FO_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Decodes text[0..n) into a malloc'd buffer (*out, *out_len); false when the
 * text is not base64, and then *out is untouched.
 */
bool fo_base64_decode(const char *text, size_t n, uint8_t **out, size_t *out_len);

#endif
