/*
 * hs_match: does an expected JSON value describe an actual one? The rule that
 * lets a scenario state only what it cares about in a reply.
 *
 * - Objects: every key of the expected object must match the same key of the
 *   actual object; keys the expectation leaves out are not looked at.
 * - A key absent from the actual object matches null and the proto3 defaults
 *   (0, "0", false, "", []): canonical proto3 JSON leaves fields at their
 *   default out, so "partial": false or "usage": null state "not there".
 * - Arrays: the same length, and element i matches element i by this rule
 *   (so {} stands for "any element" at that position).
 * - Scalars are equal; an expected integer also matches the same integer as a
 *   decimal string, the form proto3 JSON gives 64-bit integers.
 */
#ifndef HS_MATCH_H
#define HS_MATCH_H

#include <jansson.h>

/*
 * NULL when expected matches actual; otherwise the first mismatch as
 * malloc'd text, "results[1].error.kind: expected \"DEADLINE\", got
 * \"UNAVAILABLE\"", with its path under root (e.g. "reply").
 */
char *hs_match(const json_t *expected, const json_t *actual, const char *root);

#endif
