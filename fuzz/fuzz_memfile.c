/* fuzz_memfile: an in-memory file with a path (see fuzz_memfile.h). */
#include "fuzz_memfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

void fuzz_memfile_open(fuzz_memfile *m)
{
    m->fd = memfd_create("fanout-fuzz", MFD_CLOEXEC);
    if (m->fd < 0) {
        perror("memfd_create");
        abort();
    }
    snprintf(m->path, sizeof m->path, "/proc/self/fd/%d", m->fd);
}

void fuzz_memfile_set(fuzz_memfile *m, const void *data, size_t len)
{
    if (ftruncate(m->fd, 0) != 0 || (len > 0 && pwrite(m->fd, data, len, 0) != (ssize_t)len)) {
        perror("fuzz_memfile_set");
        abort();
    }
}
