/*
 * Unit tests for the descriptor index of common/fo_reflection: files and
 * symbols of the embedded set, transitive dependencies, unknown names, bad
 * sets, and the service's check of the names it lists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "fo_reflection.h"
#include "google/protobuf/descriptor.pb-c.h"

static fo_reflection_index *embedded_index(void)
{
    fo_reflection_index *ix = NULL;
    fo_error *err = fo_reflection_index_create(fo_descriptor_set, fo_descriptor_set_len, &ix);
    assert_null(err);
    assert_non_null(ix);
    return ix;
}

/* The name of the i-th serialized FileDescriptorProto of files. */
static char *file_name(const ProtobufCBinaryData *files, size_t i)
{
    Google__Protobuf__FileDescriptorProto *fd =
        google__protobuf__file_descriptor_proto__unpack(NULL, files[i].len, files[i].data);
    assert_non_null(fd);
    char *name = strdup(fd->name);
    google__protobuf__file_descriptor_proto__free_unpacked(fd, NULL);
    return name;
}

static void assert_file(const ProtobufCBinaryData *files, size_t i, const char *expected)
{
    char *name = file_name(files, i);
    assert_string_equal(name, expected);
    free(name);
}

/* symbol is declared in the file named expected (the first of the answer). */
static void assert_symbol_in(const fo_reflection_index *ix, const char *symbol, const char *expected)
{
    size_t n = 0;
    const ProtobufCBinaryData *files = fo_reflection_index_symbol(ix, symbol, &n);
    if (files == NULL)
        fail_msg("symbol %s not found", symbol);
    assert_true(n >= 1);
    assert_file(files, 0, expected);
}

static void files_come_with_their_imports(void **state)
{
    (void)state;
    fo_reflection_index *ix = embedded_index();
    size_t n = 0;
    const ProtobufCBinaryData *files = fo_reflection_index_file(ix, "fanout/v1/aggregator.proto", &n);
    assert_non_null(files);
    assert_int_equal(n, 2);
    assert_file(files, 0, "fanout/v1/aggregator.proto");
    assert_file(files, 1, "fanout/feature/v1/feature.proto");

    files = fo_reflection_index_file(ix, "fanout/feature/v1/feature.proto", &n);
    assert_int_equal(n, 1);
    assert_file(files, 0, "fanout/feature/v1/feature.proto");

    const char *standard[] = {"grpc/health/v1/health.proto", "grpc/reflection/v1alpha/reflection.proto",
                              "grpc/reflection/v1/reflection.proto"};
    for (size_t i = 0; i < sizeof standard / sizeof *standard; i++) {
        files = fo_reflection_index_file(ix, standard[i], &n);
        assert_int_equal(n, 1);
        assert_file(files, 0, standard[i]);
    }
    fo_reflection_index_free(ix);
}

static void symbols_find_their_file(void **state)
{
    (void)state;
    fo_reflection_index *ix = embedded_index();
    const char *agg = "fanout/v1/aggregator.proto";
    assert_symbol_in(ix, "fanout.v1.Aggregator", agg);
    assert_symbol_in(ix, "fanout.v1.Aggregator.GetCustomerAnalytics", agg);
    assert_symbol_in(ix, "fanout.v1.Aggregator.StreamCustomerAnalytics", agg);
    assert_symbol_in(ix, "fanout.v1.AnalyticsRequest", agg);
    assert_symbol_in(ix, "fanout.v1.FailurePolicy", agg);
    assert_symbol_in(ix, "fanout.v1.FAIL_FAST", agg);
    assert_symbol_in(ix, "fanout.feature.v1.FeatureService", "fanout/feature/v1/feature.proto");
    assert_symbol_in(ix, "fanout.feature.v1.UsageReport", "fanout/feature/v1/feature.proto");
    /* A nested enum and its value. */
    assert_symbol_in(ix, "grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto");
    assert_symbol_in(ix, "grpc.health.v1.HealthCheckResponse.SERVICE_UNKNOWN", "grpc/health/v1/health.proto");
    assert_symbol_in(ix, "grpc.reflection.v1alpha.ServerReflection", "grpc/reflection/v1alpha/reflection.proto");
    assert_symbol_in(ix, "grpc.reflection.v1.ServerReflection.ServerReflectionInfo",
                     "grpc/reflection/v1/reflection.proto");

    /* The answer for a symbol carries the imports too. */
    size_t n = 0;
    assert_non_null(fo_reflection_index_symbol(ix, "fanout.v1.Aggregator", &n));
    assert_int_equal(n, 2);
    fo_reflection_index_free(ix);
}

static void unknown_names_are_not_found(void **state)
{
    (void)state;
    fo_reflection_index *ix = embedded_index();
    const char *symbols[] = {"fanout.v1.Nope",        "fanout.v1",  "",
                             ".fanout.v1.Aggregator", "Aggregator", "fanout.v1.Aggregator.Nope",
                             "fanout.v1.aggregator"};
    for (size_t i = 0; i < sizeof symbols / sizeof *symbols; i++) {
        size_t n = 99;
        assert_null(fo_reflection_index_symbol(ix, symbols[i], &n));
        assert_int_equal(n, 0);
    }
    size_t n = 99;
    assert_null(fo_reflection_index_file(ix, "nope.proto", &n));
    assert_int_equal(n, 0);
    assert_null(fo_reflection_index_file(ix, "fanout/v1", &n));
    assert_null(fo_reflection_index_file(ix, "", &n));
    fo_reflection_index_free(ix);
}

/* --- hand-made sets ------------------------------------------------------------ */

/* Packs files into a FileDescriptorSet (malloc'd, *len bytes). */
static uint8_t *pack_set(Google__Protobuf__FileDescriptorProto **files, size_t n, size_t *len)
{
    Google__Protobuf__FileDescriptorSet set = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_SET__INIT;
    set.file = files;
    set.n_file = n;
    *len = google__protobuf__file_descriptor_set__get_packed_size(&set);
    uint8_t *buf = malloc(*len);
    assert_non_null(buf);
    google__protobuf__file_descriptor_set__pack(&set, buf);
    return buf;
}

/*
 * a.proto imports b.proto and c.proto, and b.proto imports c.proto: a
 * diamond, so c.proto must come once. c.proto has c.Outer.Inner.
 */
static void diamond_imports_come_once(void **state)
{
    (void)state;
    Google__Protobuf__DescriptorProto inner = GOOGLE__PROTOBUF__DESCRIPTOR_PROTO__INIT;
    inner.name = "Inner";
    Google__Protobuf__DescriptorProto *nested[] = {&inner};
    Google__Protobuf__DescriptorProto outer = GOOGLE__PROTOBUF__DESCRIPTOR_PROTO__INIT;
    outer.name = "Outer";
    outer.nested_type = nested;
    outer.n_nested_type = 1;
    Google__Protobuf__DescriptorProto *messages[] = {&outer};

    Google__Protobuf__FileDescriptorProto a = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_PROTO__INIT;
    Google__Protobuf__FileDescriptorProto b = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_PROTO__INIT;
    Google__Protobuf__FileDescriptorProto c = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_PROTO__INIT;
    char *a_deps[] = {"b.proto", "c.proto"};
    char *b_deps[] = {"c.proto"};
    a.name = "a.proto";
    a.dependency = a_deps;
    a.n_dependency = 2;
    b.name = "b.proto";
    b.dependency = b_deps;
    b.n_dependency = 1;
    c.name = "c.proto";
    c.package = "c";
    c.message_type = messages;
    c.n_message_type = 1;
    Google__Protobuf__FileDescriptorProto *files[] = {&c, &b, &a};

    size_t len;
    uint8_t *set = pack_set(files, 3, &len);
    fo_reflection_index *ix = NULL;
    assert_null(fo_reflection_index_create(set, len, &ix));
    free(set); /* the index keeps copies */

    size_t n = 0;
    const ProtobufCBinaryData *got = fo_reflection_index_file(ix, "a.proto", &n);
    assert_int_equal(n, 3);
    assert_file(got, 0, "a.proto");
    assert_file(got, 1, "b.proto");
    assert_file(got, 2, "c.proto");
    assert_symbol_in(ix, "c.Outer", "c.proto");
    assert_symbol_in(ix, "c.Outer.Inner", "c.proto");
    assert_null(fo_reflection_index_symbol(ix, "c.Inner", &n));
    fo_reflection_index_free(ix);
}

static void bad_sets_are_refused(void **state)
{
    (void)state;
    fo_reflection_index *ix = NULL;
    const unsigned char garbage[] = {0x0a, 0xff, 0xff, 0x01};
    fo_error *err = fo_reflection_index_create(garbage, sizeof garbage, &ix);
    assert_non_null(err);
    assert_int_equal(err->code, FO_STATUS_INVALID_ARGUMENT);
    assert_null(ix);
    fo_error_free(err);

    /* An import the set lacks: protoc ran without --include_imports. */
    Google__Protobuf__FileDescriptorProto a = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_PROTO__INIT;
    char *deps[] = {"missing.proto"};
    a.name = "a.proto";
    a.dependency = deps;
    a.n_dependency = 1;
    Google__Protobuf__FileDescriptorProto *files[] = {&a};
    size_t len;
    uint8_t *set = pack_set(files, 1, &len);
    err = fo_reflection_index_create(set, len, &ix);
    free(set);
    assert_non_null(err);
    assert_int_equal(err->code, FO_STATUS_INVALID_ARGUMENT);
    assert_non_null(strstr(err->message, "missing.proto"));
    assert_null(ix);
    fo_error_free(err);
}

static void service_lists_only_declared_services(void **state)
{
    (void)state;
    const char *good[] = {"fanout.v1.Aggregator", "grpc.health.v1.Health", FO_REFLECTION_V1ALPHA_SERVICE,
                          FO_REFLECTION_V1_SERVICE};
    fo_reflection *r = NULL;
    assert_null(fo_reflection_create(good, 4, &r));
    assert_non_null(r);
    fo_reflection_destroy(r);

    const char *bad[] = {"fanout.v1.Aggregator", "fanout.v1.Typo"};
    fo_error *err = fo_reflection_create(bad, 2, &r);
    assert_non_null(err);
    assert_int_equal(err->code, FO_STATUS_INTERNAL);
    assert_non_null(strstr(err->message, "fanout.v1.Typo"));
    assert_null(r);
    fo_error_free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(files_come_with_their_imports), cmocka_unit_test(symbols_find_their_file),
        cmocka_unit_test(unknown_names_are_not_found),   cmocka_unit_test(diamond_imports_come_once),
        cmocka_unit_test(bad_sets_are_refused),          cmocka_unit_test(service_lists_only_declared_services),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
