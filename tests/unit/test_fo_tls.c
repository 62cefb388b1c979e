/*
 * Unit tests of fo_tls: certificates from scripts/gen-certs.sh in a temporary
 * directory, plus files made here with OpenSSL for what the script never
 * makes (expired and not-yet-valid certificates, an encrypted key, junk).
 * Each bad file must give INVALID_ARGUMENT with a message that starts with
 * its path and names the problem.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fo_tls.h"

static char dir[] = "/tmp/fanout-tls-unit-XXXXXX";

/* DIR/name; four buffers in turn, so one assertion can use a few paths. */
static const char *at(const char *name)
{
    static char bufs[4][PATH_MAX];
    static int next;
    char *buf = bufs[next++ % 4];
    snprintf(buf, PATH_MAX, "%s/%s", dir, name);
    return buf;
}

static void write_text(const char *name, const char *text)
{
    FILE *f = fopen(at(name), "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *slurp(const char *name)
{
    FILE *f = fopen(at(name), "r");
    assert_non_null(f);
    static char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

static void concat(const char *out, const char *a, const char *b)
{
    char *ta = slurp(a), *tb = slurp(b);
    FILE *f = fopen(at(out), "w");
    assert_non_null(f);
    fputs(ta, f);
    fputs(tb, f);
    fclose(f);
    free(ta);
    free(tb);
}

static EVP_PKEY *read_key(const char *name)
{
    FILE *f = fopen(at(name), "r");
    assert_non_null(f);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(k);
    return k;
}

/*
 * name: a certificate for the public half of key_name, signed with
 * signer_name's key, valid from not_before to not_after
 * ("YYYYMMDDHHMMSSZ"). The issuer name is the subject's: good enough here,
 * since fo_tls checks dates and key match, not chains.
 */
static void make_cert(const char *name, const char *key_name, const char *signer_name, const char *not_before,
                      const char *not_after)
{
    EVP_PKEY *key = read_key(key_name);
    EVP_PKEY *signer = read_key(signer_name);
    X509 *x = X509_new();
    assert_int_equal(X509_set_version(x, 2), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 4242), 1);
    X509_NAME *subject = X509_get_subject_name(x);
    assert_int_equal(
        X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, (const unsigned char *)"fanout test", -1, -1, 0), 1);
    assert_int_equal(X509_set_issuer_name(x, subject), 1);
    assert_int_equal(ASN1_TIME_set_string_X509(X509_getm_notBefore(x), not_before), 1);
    assert_int_equal(ASN1_TIME_set_string_X509(X509_getm_notAfter(x), not_after), 1);
    assert_int_equal(X509_set_pubkey(x, key), 1);
    assert_true(X509_sign(x, signer, EVP_sha256()) > 0);
    FILE *f = fopen(at(name), "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, x), 1);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(signer);
    EVP_PKEY_free(key);
}

static void make_encrypted_key(const char *name, const char *from)
{
    EVP_PKEY *key = read_key(from);
    FILE *f = fopen(at(name), "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, key, EVP_aes_128_cbc(), (unsigned char *)"secret", 6, NULL, NULL), 1);
    fclose(f);
    EVP_PKEY_free(key);
}

static void make_der(const char *name, const char *from)
{
    FILE *in = fopen(at(from), "r");
    assert_non_null(in);
    X509 *x = PEM_read_X509(in, NULL, NULL, NULL);
    fclose(in);
    assert_non_null(x);
    FILE *out = fopen(at(name), "wb");
    assert_non_null(out);
    assert_int_equal(i2d_X509_fp(out, x), 1);
    fclose(out);
    X509_free(x);
}

static int setup(void **state)
{
    (void)state;
    if (mkdtemp(dir) == NULL)
        return -1;
    char cmd[2 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "sh '%s/scripts/gen-certs.sh' '%s'", FANOUT_SOURCE_DIR, dir);
    if (system(cmd) != 0)
        return -1;
    make_cert("expired.pem", "server.key", "ca.key", "20200101000000Z", "20200102000000Z");
    make_cert("future.pem", "server.key", "ca.key", "20990101000000Z", "21000101000000Z");
    make_cert("expired-ca.pem", "ca.key", "ca.key", "20200101000000Z", "20200102000000Z");
    make_cert("future-ca.pem", "other-ca.key", "other-ca.key", "20990101000000Z", "21000101000000Z");
    concat("stale-bundle.pem", "expired-ca.pem", "ca.pem");
    concat("dead-bundle.pem", "expired-ca.pem", "future-ca.pem");
    concat("key-then-cert.pem", "server.key", "server.pem");
    make_encrypted_key("encrypted.key", "server.key");
    make_der("server.der", "server.pem");
    write_text("junk.txt", "hello, not a certificate\n");
    write_text("empty.pem", "");
    write_text("broken.pem", "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
    concat("bundle-broken.pem", "ca.pem", "broken.pem");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* err is INVALID_ARGUMENT, its message starts with "path: " and contains problem; frees err. */
static void expect_refused(fo_error *err, const char *path, const char *problem)
{
    assert_non_null(err);
    assert_int_equal(err->code, FO_STATUS_INVALID_ARGUMENT);
    size_t n = strlen(path);
    if (strncmp(err->message, path, n) != 0 || strncmp(err->message + n, ": ", 2) != 0 ||
        strstr(err->message, problem) == NULL)
        fail_msg("message \"%s\": expected \"%s: ...%s...\"", err->message, path, problem);
    /* Nothing for gRPC's handshakes to trip over later. */
    assert_int_equal(ERR_peek_error(), 0);
    fo_error_free(err);
}

static void test_good_files_pass(void **state)
{
    (void)state;
    assert_null(fo_tls_check_pair(at("server.pem"), at("server.key")));
    assert_null(fo_tls_check_pair(at("client.pem"), at("client.key")));
    assert_null(fo_tls_check_pair(at("other-client.pem"), at("other-client.key")));
    assert_null(fo_tls_check_ca(at("ca.pem")));
    assert_null(fo_tls_check_ca(at("other-ca.pem")));
}

static void test_cert_after_other_blocks_passes(void **state)
{
    (void)state;
    /* One file with the key first, then the certificate: PEM readers skip other blocks. */
    assert_null(fo_tls_check_pair(at("key-then-cert.pem"), at("server.key")));
}

static void test_missing_file(void **state)
{
    (void)state;
    expect_refused(fo_tls_check_pair(at("nope.pem"), at("server.key")), at("nope.pem"),
                   "cannot read: No such file or directory");
    expect_refused(fo_tls_check_pair(at("server.pem"), at("nope.key")), at("nope.key"),
                   "cannot read: No such file or directory");
    expect_refused(fo_tls_check_ca(at("nope-ca.pem")), at("nope-ca.pem"), "cannot read: No such file or directory");
}

static void test_unreadable(void **state)
{
    (void)state;
    /* root reads any file whatever its mode: nothing to see there. */
    if (geteuid() == 0)
        skip();
    write_text("locked.pem", "");
    assert_int_equal(chmod(at("locked.pem"), 0), 0);
    expect_refused(fo_tls_check_pair(at("locked.pem"), at("server.key")), at("locked.pem"),
                   "cannot read: Permission denied");
}

static void test_directory(void **state)
{
    (void)state;
    expect_refused(fo_tls_check_pair(dir, at("server.key")), dir, "cannot read: Is a directory");
    expect_refused(fo_tls_check_ca(dir), dir, "cannot read: Is a directory");
}

static void test_not_pem(void **state)
{
    (void)state;
    expect_refused(fo_tls_check_pair(at("junk.txt"), at("server.key")), at("junk.txt"), "not PEM");
    expect_refused(fo_tls_check_pair(at("server.der"), at("server.key")), at("server.der"), "not PEM");
    expect_refused(fo_tls_check_pair(at("server.pem"), at("junk.txt")), at("junk.txt"), "not PEM");
    expect_refused(fo_tls_check_ca(at("empty.pem")), at("empty.pem"), "not PEM");
}

static void test_no_certificate(void **state)
{
    (void)state;
    expect_refused(fo_tls_check_pair(at("server.key"), at("server.key")), at("server.key"), "no certificate in it");
    expect_refused(fo_tls_check_ca(at("ca.key")), at("ca.key"), "no CA certificate in it");
}

static void test_certificate_does_not_parse(void **state)
{
    (void)state;
    expect_refused(fo_tls_check_pair(at("broken.pem"), at("server.key")), at("broken.pem"),
                   "certificate does not parse");
    expect_refused(fo_tls_check_ca(at("broken.pem")), at("broken.pem"), "CA certificate does not parse");
    expect_refused(fo_tls_check_ca(at("bundle-broken.pem")), at("bundle-broken.pem"), "certificate 2 does not parse");
}

static void test_no_private_key(void **state)
{
    (void)state;
    expect_refused(fo_tls_check_pair(at("server.pem"), at("server.pem")), at("server.pem"), "no private key in it");
}

static void test_encrypted_key(void **state)
{
    (void)state;
    expect_refused(fo_tls_check_pair(at("server.pem"), at("encrypted.key")), at("encrypted.key"),
                   "private key is encrypted");
}

static void test_key_does_not_match(void **state)
{
    (void)state;
    char problem[PATH_MAX + 64];
    snprintf(problem, sizeof problem, "private key does not match the certificate in %s", at("server.pem"));
    expect_refused(fo_tls_check_pair(at("server.pem"), at("client.key")), at("client.key"), problem);
}

static void test_expired(void **state)
{
    (void)state;
    expect_refused(fo_tls_check_pair(at("expired.pem"), at("server.key")), at("expired.pem"),
                   "certificate expired at 2020-01-02T00:00:00Z");
    expect_refused(fo_tls_check_ca(at("expired-ca.pem")), at("expired-ca.pem"),
                   "certificate expired at 2020-01-02T00:00:00Z");
}

static void test_not_yet_valid(void **state)
{
    (void)state;
    expect_refused(fo_tls_check_pair(at("future.pem"), at("server.key")), at("future.pem"),
                   "certificate not valid until 2099-01-01T00:00:00Z");
    expect_refused(fo_tls_check_ca(at("future-ca.pem")), at("future-ca.pem"),
                   "certificate not valid until 2099-01-01T00:00:00Z");
}

static void test_ca_bundle(void **state)
{
    (void)state;
    /* A stale root next to a good one is normal in a bundle. */
    assert_null(fo_tls_check_ca(at("stale-bundle.pem")));
    expect_refused(fo_tls_check_ca(at("dead-bundle.pem")), at("dead-bundle.pem"),
                   "none of its 2 certificates is valid now; the first: certificate expired at 2020-01-02");
}

static void test_half_pair(void **state)
{
    (void)state;
    expect_refused(fo_tls_check_pair(at("server.pem"), NULL), at("server.pem"), "needs its private key");
    expect_refused(fo_tls_check_pair(NULL, at("server.key")), at("server.key"), "needs its certificate");
    fo_error *err = fo_tls_check_pair(NULL, NULL);
    assert_non_null(err);
    assert_int_equal(err->code, FO_STATUS_INVALID_ARGUMENT);
    fo_error_free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_files_pass),    cmocka_unit_test(test_cert_after_other_blocks_passes),
        cmocka_unit_test(test_missing_file),       cmocka_unit_test(test_unreadable),
        cmocka_unit_test(test_directory),          cmocka_unit_test(test_not_pem),
        cmocka_unit_test(test_no_certificate),     cmocka_unit_test(test_certificate_does_not_parse),
        cmocka_unit_test(test_no_private_key),     cmocka_unit_test(test_encrypted_key),
        cmocka_unit_test(test_key_does_not_match), cmocka_unit_test(test_expired),
        cmocka_unit_test(test_not_yet_valid),      cmocka_unit_test(test_ca_bundle),
        cmocka_unit_test(test_half_pair),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
