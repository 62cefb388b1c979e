/* fo_file: reading a whole file (see fo_file.h). */
#include "fo_file.h"
#include "fo_alloc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

fo_error *fo_read_file(const char *path, char **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: cannot read: %m", path);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 4096 + 1) {
            cap = cap ? cap * 2 : 8192;
            buf = fo_xrealloc(buf, cap);
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    bool failed = ferror(f);
    fclose(f);
    buf[len] = '\0';
    if (failed) {
        free(buf);
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: read error", path);
    }
    *out = buf;
    return NULL;
}
