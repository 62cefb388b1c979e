/*
 * fo_arena: a bump allocator for memory that dies all at once.
 *
 * A request's feature replies are unpacked into its arena: a dozen small
 * protobuf-c messages of some twenty allocations each, all freed together
 * when the request ends. Bumping a pointer and dropping the chunks at the end
 * costs a fraction of a malloc and free per field and of walking every reply
 * to free it.
 */
#ifndef FO_ARENA_H
#define FO_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

typedef struct fo_arena_chunk fo_arena_chunk;

typedef struct fo_arena {
    fo_arena_chunk *chunks; /* newest first; bumping happens in the newest */
    size_t used, cap;       /* bytes of the newest chunk's data */
    ProtobufCAllocator protobuf;
} fo_arena;

void fo_arena_init(fo_arena *a);
/* n bytes aligned for any type; never NULL (aborts when memory is out). */
void *fo_arena_alloc(fo_arena *a, size_t n);
/* Frees everything allocated; the arena may be used again. */
void fo_arena_release(fo_arena *a);
/* A protobuf-c allocator drawing from a: free_unpacked is a no-op with it. */
static inline ProtobufCAllocator *fo_arena_protobuf(fo_arena *a) { return &a->protobuf; }

#endif
