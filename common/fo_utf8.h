/*
 * fo_utf8: UTF-8 checks for text that goes into protobuf string fields.
 *
 * proto3 string fields must hold valid UTF-8, and strict parsers (Go, Java)
 * reject a whole message for one bad string; protobuf-c checks nothing. So
 * text from outside (a feature's report, its status message) is checked or
 * repaired before it is packed into a response or printed as JSON.
 *
 * The one rule for repairs: each byte that is not part of a well-formed
 * sequence becomes U+FFFD, the replacement character, as the Unicode
 * standard recommends and protobuf's own JSON printers do. The text stays
 * valid UTF-8 and a reader can see that something was replaced.
 */
#ifndef FO_UTF8_H
#define FO_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
bool fo_utf8_valid(const char *s, size_t n);
/* A malloc'd copy of s (NUL-terminated) with every byte that is not part of well-formed UTF-8 replaced by U+FFFD. */
char *fo_utf8_repair(const char *s);

#endif
