/* fo_arena: a bump allocator for memory that dies all at once. */
#include "fo_arena.h"
#include "fo_alloc.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

/* Large enough for a dozen typical feature replies in one chunk. */
#define FO_ARENA_CHUNK 8192

struct fo_arena_chunk {
    fo_arena_chunk *next;
    alignas(max_align_t) unsigned char data[];
};

static void *protobuf_alloc(void *ud, size_t n) { return fo_arena_alloc(ud, n); }

static void protobuf_free(void *ud, void *p)
{
    /* Freed with the arena. */
    (void)ud;
    (void)p;
}

void fo_arena_init(fo_arena *a)
{
    *a = (fo_arena){.protobuf = {.alloc = protobuf_alloc, .free = protobuf_free, .allocator_data = a}};
}

static fo_arena_chunk *chunk_new(size_t cap)
{
    fo_arena_chunk *c = fo_xmalloc(sizeof *c + cap);
    return c;
}

void *fo_arena_alloc(fo_arena *a, size_t n)
{
    const size_t align = alignof(max_align_t);
    n = n ? (n + align - 1) & ~(align - 1) : align;
    if (n > a->cap - a->used) {
        if (n > FO_ARENA_CHUNK / 4) {
            /* Its own chunk, behind the newest, so the newest keeps its free room. */
            fo_arena_chunk *big = chunk_new(n);
            if (a->chunks == NULL) {
                big->next = NULL;
                a->chunks = big;
                a->used = a->cap = n;
            } else {
                big->next = a->chunks->next;
                a->chunks->next = big;
            }
            return big->data;
        }
        fo_arena_chunk *c = chunk_new(FO_ARENA_CHUNK);
        c->next = a->chunks;
        a->chunks = c;
        a->used = 0;
        a->cap = FO_ARENA_CHUNK;
    }
    void *p = a->chunks->data + a->used;
    a->used += n;
    return p;
}

void fo_arena_release(fo_arena *a)
{
    fo_arena_chunk *c = a->chunks;
    while (c != NULL) {
        fo_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->chunks = NULL;
    a->used = a->cap = 0;
}
