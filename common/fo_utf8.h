/*
 * fo_utf8: UTF-8 checks for text that goes into protobuf string fields.
 *
 * proto3 string fields must hold valid UTF-8, and strict parsers (Go, Java)
 * reject a whole message for one bad string; protobuf-c checks nothing. So
 * text from outside (a feature's report, its status message) is checked or
 * mended before it is packed into a response.
 */
#ifndef FO_UTF8_H
#define FO_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
bool fo_utf8_valid(const char *s, size_t n);
/* Replaces, in place, every byte of s (NUL-terminated) that is not part of well-formed UTF-8 with '?'. */
void fo_utf8_mend(char *s);

#endif
