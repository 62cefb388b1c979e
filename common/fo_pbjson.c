/* fo_pbjson: proto3 JSON to and from protobuf-c messages, generically from descriptors. */
#include "fo_pbjson.h"
#include "fo_alloc.h"
#include "fo_base64.h"
#include "fo_parse.h"
#include "fo_utf8.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *must(json_t *j)
{
    /* jansson returns NULL only when out of memory once our inputs are valid. */
    if (j == NULL)
        abort();
    return j;
}

static const void *cmember(const ProtobufCMessage *msg, unsigned offset) { return (const char *)msg + offset; }

static void *member(ProtobufCMessage *msg, unsigned offset) { return (char *)msg + offset; }

/* --- descriptors ---------------------------------------------------------- */

/*
 * protoc's camel-casing: each '_' is dropped and upper-cases the letter after
 * it, as is the first letter when upper_first. Field "latency_us" has the
 * json_name "latencyUs"; map field "metrics" has the entry type
 * "MetricsEntry". Returns a malloc'd string ending in suffix.
 */
static char *camel_case(const char *name, bool upper_first, const char *suffix)
{
    size_t n = strlen(name), nsuffix = strlen(suffix);
    char *out = fo_xmalloc(n + nsuffix + 1);
    size_t len = 0;
    bool upper = upper_first;
    for (const char *c = name; *c != '\0'; c++) {
        if (*c == '_') {
            upper = true;
            continue;
        }
        out[len++] = upper && *c >= 'a' && *c <= 'z' ? (char)(*c - 'a' + 'A') : *c;
        upper = false;
    }
    memcpy(out + len, suffix, nsuffix + 1);
    return out;
}

/*
 * protobuf-c keeps no map flag: a map<k, v> field is a repeated message field
 * whose type is the entry protoc synthesizes, "<Parent>.<CamelField>Entry"
 * with fields key = 1 and value = 2.
 */
static bool is_map_field(const ProtobufCMessageDescriptor *parent, const ProtobufCFieldDescriptor *f)
{
    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
        return false;
    const ProtobufCMessageDescriptor *e = f->descriptor;
    if (e->n_fields != 2 || e->fields[0].id != 1 || e->fields[1].id != 2 || strcmp(e->fields[0].name, "key") != 0 ||
        strcmp(e->fields[1].name, "value") != 0)
        return false;
    char *entry = camel_case(f->name, true, "Entry");
    size_t plen = strlen(parent->name);
    bool is_map =
        strncmp(e->name, parent->name, plen) == 0 && e->name[plen] == '.' && strcmp(e->name + plen + 1, entry) == 0;
    free(entry);
    return is_map;
}

/* Bytes of one value of type t, in a struct or in a repeated field's array. */
static size_t value_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_ENUM:
        return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    }
    abort();
}

/* Whether a field without presence holds its default; -0.0 is not the default, as in protoc. */
static bool is_default(const ProtobufCFieldDescriptor *f, const void *v)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(const ProtobufCMessage *const *)v == NULL;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)v;
        return s == NULL || *s == '\0';
    }
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)v)->len == 0;
    default: {
        static const unsigned char zero[8];
        return memcmp(v, zero, value_size(f->type)) == 0;
    }
    }
}

/* Mirrors protobuf_c_message_pack's notion of a field being there. */
static bool field_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    const void *q = cmember(msg, f->quantifier_offset);
    const void *v = cmember(msg, f->offset);
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)q == f->id;
    switch (f->label) {
    case PROTOBUF_C_LABEL_REQUIRED:
        return true;
    case PROTOBUF_C_LABEL_REPEATED:
        return *(const size_t *)q > 0;
    case PROTOBUF_C_LABEL_OPTIONAL:
        if (f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_STRING) {
            const void *p = *(const void *const *)v;
            return p != NULL && p != f->default_value;
        }
        return *(const protobuf_c_boolean *)q;
    case PROTOBUF_C_LABEL_NONE:
        return !is_default(f, v);
    }
    return false;
}

/* --- base64 ------------------------------------------------------------------ */

/* Standard base64 with padding, as proto3 JSON writes bytes; a malloc'd string. */
static char *base64_encode(const uint8_t *data, size_t len)
{
    char *out = fo_xmalloc((len + 2) / 3 * 4 + 1);
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

/* --- message to JSON ------------------------------------------------------ */

static json_t *string_to_json(const char *s)
{
    const char *text = s != NULL ? s : "";
    json_t *j = json_string(text);
    if (j != NULL)
        return j;
    char *fixed = fo_utf8_repair(text);
    j = must(json_string(fixed));
    free(fixed);
    return j;
}

/* The digits of f that read back as f, as a double: 0.1f is 0.1, not 0.10000000149011612. */
static double float_as_double(float f)
{
    char buf[32];
    for (int digits = 1; digits < 9; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, (double)f);
        double d = strtod(buf, NULL);
        if ((float)d == f)
            return d;
    }
    return (double)f;
}

static json_t *double_to_json(double d)
{
    if (isnan(d))
        return must(json_string("NaN"));
    if (isinf(d))
        return must(json_string(d > 0 ? "Infinity" : "-Infinity"));
    return must(json_real(d));
}

static json_t *enum_to_json(const ProtobufCEnumDescriptor *desc, int32_t value)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(desc, value);
    return must(v != NULL ? json_string(v->name) : json_integer(value));
}

static json_t *bytes_to_json(const ProtobufCBinaryData *b)
{
    char *text = base64_encode(b->data, b->len);
    json_t *j = must(json_string(text));
    free(text);
    return j;
}

/* One value of field f stored at v (a struct member or an array element). */
static json_t *value_to_json(const ProtobufCFieldDescriptor *f, const void *v)
{
    char buf[32];
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return must(json_integer(*(const int32_t *)v));
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return must(json_integer(*(const uint32_t *)v));
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(buf, sizeof buf, "%" PRId64, *(const int64_t *)v);
        return must(json_string(buf));
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(buf, sizeof buf, "%" PRIu64, *(const uint64_t *)v);
        return must(json_string(buf));
    case PROTOBUF_C_TYPE_FLOAT: {
        float x = *(const float *)v;
        return double_to_json(isfinite(x) ? float_as_double(x) : (double)x);
    }
    case PROTOBUF_C_TYPE_DOUBLE:
        return double_to_json(*(const double *)v);
    case PROTOBUF_C_TYPE_BOOL:
        return must(json_boolean(*(const protobuf_c_boolean *)v));
    case PROTOBUF_C_TYPE_ENUM: {
        int32_t e;
        memcpy(&e, v, sizeof e);
        return enum_to_json(f->descriptor, e);
    }
    case PROTOBUF_C_TYPE_STRING:
        return string_to_json(*(const char *const *)v);
    case PROTOBUF_C_TYPE_BYTES:
        return bytes_to_json(v);
    case PROTOBUF_C_TYPE_MESSAGE: {
        /* A oneof member may be selected with no message behind it: that is the empty message. */
        const ProtobufCMessage *m = *(const ProtobufCMessage *const *)v;
        return m != NULL ? fo_pbjson_from_message(m) : must(json_object());
    }
    }
    abort();
}

/* A map key's text (malloc'd): JSON object keys are strings whatever the key type. */
static char *map_key_text(const ProtobufCFieldDescriptor *f, const void *v)
{
    /* A string for string and 64-bit keys, a number or a boolean otherwise. */
    json_t *j = value_to_json(f, v);
    char buf[32];
    const char *text = buf;
    if (json_is_string(j))
        text = json_string_value(j);
    else if (json_is_boolean(j))
        text = json_is_true(j) ? "true" : "false";
    else
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
    char *key = fo_xstrdup(text);
    json_decref(j);
    return key;
}

static json_t *map_to_json(const ProtobufCFieldDescriptor *f, const ProtobufCMessage *const *entries, size_t n)
{
    const ProtobufCMessageDescriptor *e = f->descriptor;
    json_t *obj = must(json_object());
    for (size_t i = 0; i < n; i++) {
        char *key = map_key_text(&e->fields[0], cmember(entries[i], e->fields[0].offset));
        /* A map value is written even at its default: the entry exists. */
        if (json_object_set_new(obj, key, value_to_json(&e->fields[1], cmember(entries[i], e->fields[1].offset))))
            abort();
        free(key);
    }
    return obj;
}

static json_t *field_to_json(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    const void *v = cmember(msg, f->offset);
    if (f->label != PROTOBUF_C_LABEL_REPEATED)
        return value_to_json(f, v);
    size_t n = *(const size_t *)cmember(msg, f->quantifier_offset);
    const char *arr = *(const char *const *)v;
    if (is_map_field(msg->descriptor, f))
        return map_to_json(f, (const ProtobufCMessage *const *)(const void *)arr, n);
    json_t *a = must(json_array());
    size_t size = value_size(f->type);
    for (size_t i = 0; i < n; i++) {
        if (json_array_append_new(a, value_to_json(f, arr + i * size)))
            abort();
    }
    return a;
}

json_t *fo_pbjson_from_message(const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    json_t *obj = must(json_object());
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (!field_present(msg, f))
            continue;
        char *key = camel_case(f->name, false, "");
        if (json_object_set_new(obj, key, field_to_json(msg, f)))
            abort();
        free(key);
    }
    return obj;
}

/* --- JSON to message: paths and errors ------------------------------------ */

/* Where in the JSON document the parser is, e.g. "results[0].usage.daily[2]". */
typedef struct json_path {
    char *text;
    size_t len, cap;
} json_path;

/* Appends to the path; returns the length to restore with path_pop. */
static size_t path_push(json_path *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t path_push(json_path *p, const char *fmt, ...)
{
    size_t mark = p->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    if (p->len + (size_t)n + 1 > p->cap) {
        p->cap = (p->len + (size_t)n + 1) * 2;
        p->text = fo_xrealloc(p->text, p->cap);
    }
    va_start(ap, fmt);
    vsnprintf(p->text + p->len, p->cap - p->len, fmt, ap);
    va_end(ap);
    p->len += (size_t)n;
    return mark;
}

static void path_pop(json_path *p, size_t mark)
{
    p->len = mark;
    p->text[mark] = '\0';
}

static fo_error *path_error(const json_path *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static fo_error *path_error(const json_path *p, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (p->len == 0)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s", what);
    return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: %s", p->text, what);
}

/* --- JSON to message: scalars --------------------------------------------- */

/* JSON numbers such as 1e3 or 5.0 name integers too. */
static bool real_to_int64(double d, int64_t *out)
{
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != floor(d))
        return false;
    *out = (int64_t)d;
    return true;
}

static fo_error *int_from_json(const json_path *p, const json_t *j, int64_t min, int64_t max, int64_t *out)
{
    int64_t v;
    if (json_is_integer(j)) {
        v = json_integer_value(j);
    } else if (json_is_real(j)) {
        if (!real_to_int64(json_real_value(j), &v))
            return path_error(p, "expected an integer, got %.17g", json_real_value(j));
    } else if (json_is_string(j)) {
        /* "-?[0-9]+" is the only integer text accepted in strings. */
        const char *s = json_string_value(j);
        fo_parse_result r = fo_parse_int(s, INT64_MIN, INT64_MAX, &v);
        if (r == FO_PARSE_SYNTAX)
            return path_error(p, "expected an integer, got \"%s\"", s);
        if (r == FO_PARSE_RANGE)
            return path_error(p, "%s is out of range", s);
    } else {
        return path_error(p, "expected an integer");
    }
    if (v < min || v > max)
        return path_error(p, "%" PRId64 " is out of range", v);
    *out = v;
    return NULL;
}

static fo_error *uint_from_json(const json_path *p, const json_t *j, uint64_t max, uint64_t *out)
{
    uint64_t v;
    if (json_is_integer(j)) {
        if (json_integer_value(j) < 0)
            return path_error(p, "%" JSON_INTEGER_FORMAT " is out of range", json_integer_value(j));
        v = (uint64_t)json_integer_value(j);
    } else if (json_is_real(j)) {
        double d = json_real_value(j);
        if (!(d >= 0 && d < 18446744073709551616.0) || d != floor(d))
            return path_error(p, "expected a non-negative integer, got %.17g", d);
        v = (uint64_t)d;
    } else if (json_is_string(j)) {
        const char *s = json_string_value(j);
        fo_parse_result r = fo_parse_uint(s, UINT64_MAX, &v);
        if (r == FO_PARSE_SYNTAX)
            return path_error(p, "expected a non-negative integer, got \"%s\"", s);
        if (r == FO_PARSE_RANGE)
            return path_error(p, "%s is out of range", s);
    } else {
        return path_error(p, "expected a non-negative integer");
    }
    if (v > max)
        return path_error(p, "%" PRIu64 " is out of range", v);
    *out = v;
    return NULL;
}

static fo_error *double_from_json(const json_path *p, const json_t *j, double *out)
{
    if (json_is_number(j)) {
        *out = json_number_value(j);
        return NULL;
    }
    if (!json_is_string(j))
        return path_error(p, "expected a number");
    const char *s = json_string_value(j);
    if (strcmp(s, "NaN") == 0) {
        *out = NAN;
    } else if (strcmp(s, "Infinity") == 0) {
        *out = INFINITY;
    } else if (strcmp(s, "-Infinity") == 0) {
        *out = -INFINITY;
    } else {
        /* strtod would also skip leading spaces and read "inf" and "nan". */
        bool numeric = *s == '-' || *s == '.' || (*s >= '0' && *s <= '9');
        char *end;
        errno = 0;
        *out = strtod(s, &end);
        if (!numeric || *end != '\0' || errno == ERANGE || !isfinite(*out))
            return path_error(p, "expected a number, got \"%s\"", s);
    }
    return NULL;
}

/* The scalar parsers below write *dst only on success. */

static fo_error *signed_from_json(const json_path *p, ProtobufCType type, const json_t *j, void *dst)
{
    bool wide = type == PROTOBUF_C_TYPE_INT64 || type == PROTOBUF_C_TYPE_SINT64 || type == PROTOBUF_C_TYPE_SFIXED64;
    int64_t v = 0;
    fo_error *err = int_from_json(p, j, wide ? INT64_MIN : INT32_MIN, wide ? INT64_MAX : INT32_MAX, &v);
    if (err != NULL)
        return err;
    if (wide)
        *(int64_t *)dst = v;
    else
        *(int32_t *)dst = (int32_t)v;
    return NULL;
}

static fo_error *unsigned_from_json(const json_path *p, ProtobufCType type, const json_t *j, void *dst)
{
    bool wide = type == PROTOBUF_C_TYPE_UINT64 || type == PROTOBUF_C_TYPE_FIXED64;
    uint64_t v = 0;
    fo_error *err = uint_from_json(p, j, wide ? UINT64_MAX : UINT32_MAX, &v);
    if (err != NULL)
        return err;
    if (wide)
        *(uint64_t *)dst = v;
    else
        *(uint32_t *)dst = (uint32_t)v;
    return NULL;
}

static fo_error *floating_from_json(const json_path *p, ProtobufCType type, const json_t *j, void *dst)
{
    double d = 0;
    fo_error *err = double_from_json(p, j, &d);
    if (err != NULL)
        return err;
    if (type == PROTOBUF_C_TYPE_DOUBLE) {
        *(double *)dst = d;
        return NULL;
    }
    if (isfinite(d) && fabs(d) > FLT_MAX)
        return path_error(p, "%.17g is out of range for a float", d);
    *(float *)dst = (float)d;
    return NULL;
}

static fo_error *enum_from_json(const json_path *p, const ProtobufCEnumDescriptor *desc, const json_t *j, void *dst)
{
    int32_t value;
    if (json_is_string(j)) {
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(desc, json_string_value(j));
        if (v == NULL)
            return path_error(p, "unknown value \"%s\" of enum %s", json_string_value(j), desc->name);
        value = v->value;
    } else if (json_is_number(j)) {
        /* proto3 enums are open: any int32 is a value. */
        int64_t v;
        fo_error *err = int_from_json(p, j, INT32_MIN, INT32_MAX, &v);
        if (err != NULL)
            return err;
        value = (int32_t)v;
    } else {
        return path_error(p, "expected a %s name or number", desc->name);
    }
    /* An enum member has the size of an int32 but the type of a C enum. */
    memcpy(dst, &value, sizeof value);
    return NULL;
}

static fo_error *string_from_json(const json_path *p, const json_t *j, char **out)
{
    if (!json_is_string(j))
        return path_error(p, "expected a string");
    const char *s = json_string_value(j);
    /* protobuf-c strings are NUL-terminated: an embedded NUL would cut them silently. */
    if (strlen(s) != json_string_length(j))
        return path_error(p, "a string must not contain U+0000");
    *out = fo_xstrdup(s);
    return NULL;
}

static fo_error *bytes_from_json(const json_path *p, const json_t *j, ProtobufCBinaryData *out)
{
    if (!json_is_string(j))
        return path_error(p, "expected a base64 string");
    if (!fo_base64_decode(json_string_value(j), json_string_length(j), &out->data, &out->len))
        return path_error(p, "expected base64, got \"%s\"", json_string_value(j));
    return NULL;
}

/* --- JSON to message: fields ---------------------------------------------- */

static fo_error *message_from_json(json_path *p, const json_t *json, const ProtobufCMessageDescriptor *desc,
                                   ProtobufCMessage **out);

/*
 * Parses one value of field f into dst (a struct member or an array
 * element). dst is written only on success, so a failure leaves nothing
 * half-built behind for the caller to free.
 */
static fo_error *value_from_json(json_path *p, const ProtobufCFieldDescriptor *f, const json_t *j, void *dst)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return signed_from_json(p, f->type, j, dst);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return unsigned_from_json(p, f->type, j, dst);
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
        return floating_from_json(p, f->type, j, dst);
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(j))
            return path_error(p, "expected true or false");
        *(protobuf_c_boolean *)dst = json_is_true(j);
        return NULL;
    case PROTOBUF_C_TYPE_ENUM:
        return enum_from_json(p, f->descriptor, j, dst);
    case PROTOBUF_C_TYPE_STRING:
        return string_from_json(p, j, dst);
    case PROTOBUF_C_TYPE_BYTES:
        return bytes_from_json(p, j, dst);
    case PROTOBUF_C_TYPE_MESSAGE:
        return message_from_json(p, j, f->descriptor, dst);
    }
    abort();
}

/* A map key from its JSON object key text. */
static fo_error *map_key_from_text(json_path *p, const ProtobufCFieldDescriptor *f, const char *key, void *dst)
{
    if (f->type == PROTOBUF_C_TYPE_BOOL) {
        bool t = strcmp(key, "true") == 0;
        if (!t && strcmp(key, "false") != 0)
            return path_error(p, "expected the key true or false");
        *(protobuf_c_boolean *)dst = t;
        return NULL;
    }
    /* Strings and integer texts read as JSON strings do. */
    json_t *text = must(json_string(key));
    fo_error *err = value_from_json(p, f, text, dst);
    json_decref(text);
    return err;
}

static ProtobufCMessage *new_message(const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *msg = fo_xmalloc(desc->sizeof_message);
    desc->message_init(msg);
    return msg;
}

/*
 * Allocates a repeated field's n elements and stores them in msg at once,
 * zeroed: protobuf_c_message_free_unpacked then frees whatever elements a
 * failure leaves filled.
 */
static char *repeated_alloc(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, size_t n)
{
    char *arr = fo_xcalloc(n, value_size(f->type));
    *(void **)member(msg, f->offset) = arr;
    *(size_t *)member(msg, f->quantifier_offset) = n;
    return arr;
}

static fo_error *map_from_json(json_path *p, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                               const json_t *value)
{
    if (!json_is_object(value))
        return path_error(p, "expected an object");
    if (json_object_size(value) == 0)
        return NULL;
    const ProtobufCMessageDescriptor *e = f->descriptor;
    ProtobufCMessage **entries = (ProtobufCMessage **)(void *)repeated_alloc(msg, f, json_object_size(value));
    size_t i = 0;
    const char *key;
    json_t *v;
    /* jansson iterates through a non-const pointer but does not modify the object. */
    json_object_foreach((json_t *)value, key, v)
    {
        size_t mark = path_push(p, "[\"%s\"]", key);
        entries[i] = new_message(e);
        fo_error *err = map_key_from_text(p, &e->fields[0], key, member(entries[i], e->fields[0].offset));
        if (err == NULL)
            err = value_from_json(p, &e->fields[1], v, member(entries[i], e->fields[1].offset));
        if (err != NULL)
            return err;
        path_pop(p, mark);
        i++;
    }
    return NULL;
}

static fo_error *repeated_from_json(json_path *p, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                                    const json_t *value)
{
    if (is_map_field(msg->descriptor, f))
        return map_from_json(p, msg, f, value);
    if (!json_is_array(value))
        return path_error(p, "expected an array");
    size_t n = json_array_size(value);
    if (n == 0)
        return NULL;
    char *arr = repeated_alloc(msg, f, n);
    size_t size = value_size(f->type);
    for (size_t i = 0; i < n; i++) {
        size_t mark = path_push(p, "[%zu]", i);
        fo_error *err = value_from_json(p, f, json_array_get(value, i), arr + i * size);
        if (err != NULL)
            return err;
        path_pop(p, mark);
    }
    return NULL;
}

/* The field named key, by its json_name or by its proto name. */
static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *d, const char *key)
{
    for (unsigned i = 0; i < d->n_fields; i++) {
        char *json_name = camel_case(d->fields[i].name, false, "");
        bool match = strcmp(key, json_name) == 0 || strcmp(key, d->fields[i].name) == 0;
        free(json_name);
        if (match)
            return &d->fields[i];
    }
    return NULL;
}

static fo_error *field_from_json(json_path *p, ProtobufCMessage *msg, bool *seen, const char *key, const json_t *value)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    const ProtobufCFieldDescriptor *f = find_field(d, key);
    if (f == NULL)
        return path_error(p, "unknown field of %s", d->name);
    if (seen[f - d->fields])
        return path_error(p, "field %s is given twice", f->name);
    seen[f - d->fields] = true;
    /* null stands for the default value. */
    if (json_is_null(value))
        return NULL;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return repeated_from_json(p, msg, f, value);
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t *which = member(msg, f->quantifier_offset);
        if (*which != 0)
            return path_error(p, "another field of the same oneof is already set");
        fo_error *err = value_from_json(p, f, value, member(msg, f->offset));
        if (err == NULL)
            *which = f->id;
        return err;
    }
    fo_error *err = value_from_json(p, f, value, member(msg, f->offset));
    /* proto2 and proto3-optional scalars carry a has_ flag; strings and messages a pointer. */
    if (err == NULL && f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
        f->type != PROTOBUF_C_TYPE_MESSAGE)
        *(protobuf_c_boolean *)member(msg, f->quantifier_offset) = 1;
    return err;
}

static fo_error *message_from_json(json_path *p, const json_t *json, const ProtobufCMessageDescriptor *desc,
                                   ProtobufCMessage **out)
{
    if (!json_is_object(json))
        return path_error(p, "expected an object (%s)", desc->name);
    ProtobufCMessage *msg = new_message(desc);
    bool *seen = fo_xcalloc(desc->n_fields + 1, sizeof *seen);
    fo_error *err = NULL;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)json, key, value)
    {
        size_t mark = path_push(p, "%s%s", p->len > 0 ? "." : "", key);
        err = field_from_json(p, msg, seen, key, value);
        if (err != NULL)
            goto out;
        path_pop(p, mark);
    }
out:
    free(seen);
    if (err != NULL) {
        protobuf_c_message_free_unpacked(msg, NULL);
        return err;
    }
    *out = msg;
    return NULL;
}

fo_error *fo_pbjson_to_message(const json_t *json, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out)
{
    json_path p = {0};
    *out = NULL;
    fo_error *err = message_from_json(&p, json, desc, out);
    free(p.text);
    return err;
}

/* --- dumping -------------------------------------------------------------- */

/* Fewest significant digits with which %g reads back as d. */
static int shortest_digits(double d)
{
    char buf[32];
    for (int digits = 1; digits < 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, d);
        if (strtod(buf, NULL) == d)
            return digits;
    }
    return 17;
}

static int max_real_digits(const json_t *j)
{
    int most = 0;
    if (json_is_real(j))
        return shortest_digits(json_real_value(j));
    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++) {
            int d = max_real_digits(json_array_get(j, i));
            most = d > most ? d : most;
        }
    } else if (json_is_object(j)) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)j, key, v)
        {
            int d = max_real_digits(v);
            most = d > most ? d : most;
        }
    }
    return most;
}

char *fo_pbjson_dumps(const json_t *json, size_t flags)
{
    int digits = max_real_digits(json);
    if (digits > 0)
        flags |= JSON_REAL_PRECISION(digits);
    return json_dumps(json, flags);
}

char *fo_pbjson_render(const ProtobufCMessage *msg, bool pretty)
{
    json_t *j = fo_pbjson_from_message(msg);
    size_t flags = (pretty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_PRESERVE_ORDER;
    char *text = fo_pbjson_dumps(j, flags);
    json_decref(j);
    if (text == NULL)
        abort();
    return text;
}
