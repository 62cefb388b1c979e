/*
 * fuzz_memfile: bytes as a file with a path, for parsers that only take a path (agg_config_load).
 *
 * The file lives in memory (memfd), so a fuzzer writes nothing to disk, leaves nothing behind
 * when it crashes and pays no disk I/O per input. Its path, /proc/self/fd/N, opens a fresh
 * read position each time.
 */
#ifndef FUZZ_MEMFILE_H
#define FUZZ_MEMFILE_H

#include <stddef.h>

typedef struct fuzz_memfile {
    int fd;
    char path[64];
} fuzz_memfile;

/* Creates the empty file; aborts on failure (a harness bug, not a finding). */
void fuzz_memfile_open(fuzz_memfile *m);
/* Replaces the whole content with data[0..len). */
void fuzz_memfile_set(fuzz_memfile *m, const void *data, size_t len);

#endif
