/* fo_base64: base64 decoding (see fo_base64.h). */
#include "fo_base64.h"

#include <limits.h>
#include <openssl/evp.h>

#include "fo_alloc.h"

/*
 * OpenSSL decodes only padded standard text of whole quanta and would skip
 * blanks, so the text is checked and normalized first.
 */
bool fo_base64_decode(const char *text, size_t n, uint8_t **out, size_t *out_len)
{
    size_t pad = 0;
    while (n > 0 && text[n - 1] == '=' && pad < 2) {
        n--;
        pad++;
    }
    if ((pad > 0 && (n + pad) % 4 != 0) || n % 4 == 1 || n > INT_MAX - 3)
        return false;
    size_t padded = (n + 3) / 4 * 4;
    char *norm = fo_xmalloc(padded + 1);
    for (size_t i = 0; i < n; i++) {
        char c = text[i] == '-' ? '+' : text[i] == '_' ? '/' : text[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
        if (!ok) {
            free(norm);
            return false;
        }
        norm[i] = c;
    }
    memset(norm + n, '=', padded - n);
    uint8_t *buf = fo_xmalloc(padded / 4 * 3);
    int got = EVP_DecodeBlock(buf, (const unsigned char *)norm, (int)padded);
    free(norm);
    if (got < 0) {
        free(buf);
        return false;
    }
    /* OpenSSL counts the bytes the padding stands for as zeros. */
    *out = buf;
    *out_len = (size_t)got - (padded - n);
    return true;
}
