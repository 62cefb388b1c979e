/* fo_tls: PEM certificate and key checks with OpenSSL, one clear message per problem. */
#include "fo_tls.h"
#include "fo_alloc.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Far above any real bundle (Debian's has ~150 roots in ~200 KiB); stops a read of /dev/zero. */
#define FO_TLS_MAX_FILE ((size_t)16 << 20)

/* Room for "certificate not valid until 2026-01-01T00:00:00Z" and the like. */
#define FO_TLS_PROBLEM_LEN 96

/* A whole file in memory, NUL-terminated for the search of PEM markers. */
typedef struct fo_tls_file {
    const char *path;
    char *data;
    size_t len;
} fo_tls_file;

static fo_error *fo_tls_invalid(const char *path, const char *problem)
{
    return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: %s", path, problem);
}

static fo_error *fo_tls_read(const char *path, fo_tls_file *f)
{
    *f = (fo_tls_file){.path = path};
    FILE *in = fopen(path, "rb");
    if (in == NULL)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: cannot read: %s", path, strerror(errno));
    size_t cap = 8192;
    f->data = fo_xmalloc(cap);
    fo_error *err = NULL;
    for (;;) {
        size_t got = fread(f->data + f->len, 1, cap - f->len - 1, in);
        f->len += got;
        if (got == 0)
            break;
        if (f->len > FO_TLS_MAX_FILE) {
            err = FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: larger than %zu bytes: not a PEM file", path,
                           FO_TLS_MAX_FILE);
            break;
        }
        if (cap - f->len == 1) {
            cap *= 2;
            f->data = fo_xrealloc(f->data, cap);
        }
    }
    /* A directory opens but does not read: ferror with EISDIR. */
    if (err == NULL && ferror(in))
        err = FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: cannot read: %s", path, strerror(errno));
    fclose(in);
    f->data[f->len] = '\0';
    return err;
}

static void fo_tls_file_release(fo_tls_file *f)
{
    free(f->data);
    f->data = NULL;
}

static bool fo_tls_contains(const fo_tls_file *f, const char *marker)
{
    /* memmem, not strstr: a binary (DER) file may hold NUL bytes. */
    return memmem(f->data, f->len, marker, strlen(marker)) != NULL;
}

static BIO *fo_tls_bio(const fo_tls_file *f)
{
    BIO *bio = BIO_new_mem_buf(f->data, (int)f->len);
    if (bio == NULL)
        abort();
    return bio;
}

/* OpenSSL's text for the oldest queued error, for problems we cannot name better. */
static const char *fo_tls_openssl_reason(void)
{
    const char *reason = ERR_reason_error_string(ERR_peek_error());
    return reason != NULL ? reason : "unknown reason";
}

/* What is wrong with a file in which no wanted PEM block was found. */
static fo_error *fo_tls_no_block(const fo_tls_file *f, const char *marker, const char *what)
{
    if (!fo_tls_contains(f, "-----BEGIN "))
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: not PEM (no \"-----BEGIN\" line), expected %s", f->path, what);
    if (fo_tls_contains(f, marker))
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: %s does not parse (OpenSSL: %s)", f->path, what,
                        fo_tls_openssl_reason());
    return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: no %s in it", f->path, what);
}

/* The time as "2020-01-02T00:00:00Z". */
static void fo_tls_format_time(const ASN1_TIME *t, char *buf, size_t n)
{
    struct tm tm;
    if (ASN1_TIME_to_tm(t, &tm) != 1 || strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, n, "an unreadable time");
}

/* True when x is valid now; else the reason, with its date, in problem. */
static bool fo_tls_valid_now(const X509 *x, char *problem, size_t n)
{
    const ASN1_TIME *not_before = X509_get0_notBefore(x);
    const ASN1_TIME *not_after = X509_get0_notAfter(x);
    int before = X509_cmp_current_time(not_before);
    int after = X509_cmp_current_time(not_after);
    char when[40];
    /* X509_cmp_current_time gives 0 for a malformed time. */
    if (before == 0 || after == 0) {
        snprintf(problem, n, "certificate has a malformed validity period");
        return false;
    }
    if (before > 0) {
        fo_tls_format_time(not_before, when, sizeof when);
        snprintf(problem, n, "certificate not valid until %s", when);
        return false;
    }
    if (after < 0) {
        fo_tls_format_time(not_after, when, sizeof when);
        snprintf(problem, n, "certificate expired at %s", when);
        return false;
    }
    return true;
}

/* Called by OpenSSL only for an encrypted key: note it and refuse, instead of prompting on a terminal. */
static int fo_tls_no_passphrase(char *buf, int size, int rwflag, void *asked)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    *(bool *)asked = true;
    return -1;
}

/* The first certificate of cert, checked for its dates. */
static fo_error *fo_tls_load_cert(const fo_tls_file *cert, X509 **out)
{
    BIO *bio = fo_tls_bio(cert);
    *out = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (*out == NULL)
        return fo_tls_no_block(cert, "-----BEGIN CERTIFICATE-----", "certificate");
    char problem[FO_TLS_PROBLEM_LEN];
    if (!fo_tls_valid_now(*out, problem, sizeof problem))
        return fo_tls_invalid(cert->path, problem);
    return NULL;
}

static fo_error *fo_tls_load_key(const fo_tls_file *key, EVP_PKEY **out)
{
    bool asked = false;
    BIO *bio = fo_tls_bio(key);
    *out = PEM_read_bio_PrivateKey(bio, NULL, fo_tls_no_passphrase, &asked);
    BIO_free(bio);
    if (*out != NULL)
        return NULL;
    if (asked)
        return fo_tls_invalid(key->path, "private key is encrypted; gRPC needs it unencrypted");
    return fo_tls_no_block(key, "PRIVATE KEY-----", "private key");
}

/* Which half of a certificate/key pair is missing. */
static fo_error *fo_tls_half_pair(const char *cert_path, const char *key_path)
{
    if (cert_path != NULL)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: a certificate needs its private key; none given", cert_path);
    if (key_path != NULL)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: a private key needs its certificate; none given", key_path);
    return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "no TLS certificate and key given");
}

fo_error *fo_tls_check_pair(const char *cert_path, const char *key_path)
{
    if (cert_path == NULL || key_path == NULL)
        return fo_tls_half_pair(cert_path, key_path);
    /* Errors queued by earlier OpenSSL use on this thread would be taken for ours. */
    ERR_clear_error();
    fo_tls_file cert = {0}, key = {0};
    X509 *x = NULL;
    EVP_PKEY *pkey = NULL;
    fo_error *err = fo_tls_read(cert_path, &cert);
    if (err == NULL)
        err = fo_tls_read(key_path, &key);
    if (err == NULL)
        err = fo_tls_load_cert(&cert, &x);
    if (err == NULL)
        err = fo_tls_load_key(&key, &pkey);
    if (err == NULL && X509_check_private_key(x, pkey) != 1)
        err = FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: private key does not match the certificate in %s", key_path,
                       cert_path);
    EVP_PKEY_free(pkey);
    X509_free(x);
    fo_tls_file_release(&key);
    fo_tls_file_release(&cert);
    /* Failed reads leave errors queued; gRPC's later handshakes must not see them. */
    ERR_clear_error();
    return err;
}

/* Reads every certificate of ca; counts them and those valid now, keeps the first one's problem. */
static fo_error *fo_tls_scan_ca(const fo_tls_file *ca, int *count, int *valid, char *first_problem, size_t n)
{
    BIO *bio = fo_tls_bio(ca);
    X509 *x;
    *count = *valid = 0;
    first_problem[0] = '\0';
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        char problem[FO_TLS_PROBLEM_LEN];
        if (fo_tls_valid_now(x, problem, sizeof problem))
            (*valid)++;
        else if (first_problem[0] == '\0')
            snprintf(first_problem, n, "%s", problem);
        (*count)++;
        X509_free(x);
    }
    BIO_free(bio);
    /* The loop ends at the end of the file (no more start lines) or at a block that does not parse. */
    unsigned long last = ERR_peek_last_error();
    if (*count > 0 && !(ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE))
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: certificate %d does not parse (OpenSSL: %s)", ca->path,
                        *count + 1, fo_tls_openssl_reason());
    return NULL;
}

fo_error *fo_tls_check_ca(const char *ca_path)
{
    ERR_clear_error(); /* as in fo_tls_check_pair */
    fo_tls_file ca;
    fo_error *err = fo_tls_read(ca_path, &ca);
    int count = 0, valid = 0;
    char problem[FO_TLS_PROBLEM_LEN];
    if (err == NULL)
        err = fo_tls_scan_ca(&ca, &count, &valid, problem, sizeof problem);
    if (err == NULL && count == 0)
        err = fo_tls_no_block(&ca, "-----BEGIN CERTIFICATE-----", "CA certificate");
    else if (err == NULL && valid == 0 && count == 1)
        err = fo_tls_invalid(ca_path, problem);
    else if (err == NULL && valid == 0)
        err = FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: none of its %d certificates is valid now; the first: %s",
                       ca_path, count, problem);
    fo_tls_file_release(&ca);
    ERR_clear_error();
    return err;
}
