/* fo_reflection: the descriptor index and the ServerReflectionInfo streams. */
#include "fo_reflection.h"
#include "fo_alloc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"

/*
 * v1alpha's messages are v1's with another package name: same fields, same
 * numbers, so the same bytes on the wire. One codec, v1's, serves both paths.
 */
#define REFLECTION_V1ALPHA_PATH "/" FO_REFLECTION_V1ALPHA_SERVICE "/ServerReflectionInfo"
#define REFLECTION_V1_PATH "/" FO_REFLECTION_V1_SERVICE "/ServerReflectionInfo"

typedef Grpc__Reflection__V1__ServerReflectionRequest refl_request;
typedef Grpc__Reflection__V1__ServerReflectionResponse refl_response;

/* --- the descriptor index ---------------------------------------------------- */

typedef struct ix_file {
    char *name;
    ProtobufCBinaryData bytes; /* the serialized FileDescriptorProto (owned) */
    /* This file's bytes, then each transitive dependency's, each once: views
     * of the files' own bytes, ready to be a FileDescriptorResponse. */
    ProtobufCBinaryData *closure;
    size_t nclosure;
} ix_file;

typedef struct ix_symbol {
    char *name; /* fully qualified, without a leading dot */
    size_t file;
} ix_symbol;

struct fo_reflection_index {
    ix_file *files;
    size_t nfiles;
    ix_symbol *symbols; /* sorted by name once built */
    size_t nsymbols, capsymbols;
};

/* "scope.name", or just "name" at the top of a file without a package. */
static char *qualify(const char *scope, const char *name)
{
    if (name == NULL)
        name = "";
    if (scope == NULL || *scope == '\0')
        return fo_xstrdup(name);
    size_t len = strlen(scope) + 1 + strlen(name) + 1;
    char *q = fo_xmalloc(len);
    snprintf(q, len, "%s.%s", scope, name);
    return q;
}

/* Adds scope.name for file; returns the new symbol's name (owned by ix). */
static const char *add_symbol(fo_reflection_index *ix, const char *scope, const char *name, size_t file)
{
    if (ix->nsymbols == ix->capsymbols) {
        ix->capsymbols = ix->capsymbols ? ix->capsymbols * 2 : 64;
        ix->symbols = fo_xrealloc(ix->symbols, ix->capsymbols * sizeof *ix->symbols);
    }
    ix_symbol *sym = &ix->symbols[ix->nsymbols++];
    sym->name = qualify(scope, name);
    sym->file = file;
    return sym->name;
}

/* An enum and its values; the values are the enum's siblings, as in C++. */
static void add_enum(fo_reflection_index *ix, const char *scope, const Google__Protobuf__EnumDescriptorProto *e,
                     size_t file)
{
    add_symbol(ix, scope, e->name, file);
    for (size_t i = 0; i < e->n_value; i++)
        add_symbol(ix, scope, e->value[i]->name, file);
}

static void add_message(fo_reflection_index *ix, const char *scope, const Google__Protobuf__DescriptorProto *m,
                        size_t file)
{
    const char *name = add_symbol(ix, scope, m->name, file);
    for (size_t i = 0; i < m->n_nested_type; i++)
        add_message(ix, name, m->nested_type[i], file);
    for (size_t i = 0; i < m->n_enum_type; i++)
        add_enum(ix, name, m->enum_type[i], file);
}

static void add_file_symbols(fo_reflection_index *ix, const Google__Protobuf__FileDescriptorProto *fd, size_t file)
{
    for (size_t i = 0; i < fd->n_message_type; i++)
        add_message(ix, fd->package, fd->message_type[i], file);
    for (size_t i = 0; i < fd->n_enum_type; i++)
        add_enum(ix, fd->package, fd->enum_type[i], file);
    for (size_t i = 0; i < fd->n_service; i++) {
        const Google__Protobuf__ServiceDescriptorProto *svc = fd->service[i];
        const char *name = add_symbol(ix, fd->package, svc->name, file);
        for (size_t j = 0; j < svc->n_method; j++)
            add_symbol(ix, name, svc->method[j]->name, file);
    }
}

static bool find_file(const fo_reflection_index *ix, const char *name, size_t *file)
{
    for (size_t i = 0; i < ix->nfiles; i++) {
        if (strcmp(ix->files[i].name, name) == 0) {
            *file = i;
            return true;
        }
    }
    return false;
}

/* Depth-first from file, appending every file not seen yet to its closure. */
static fo_error *collect_closure(fo_reflection_index *ix, const Google__Protobuf__FileDescriptorSet *set, size_t file,
                                 bool *seen, ix_file *into)
{
    seen[file] = true;
    into->closure[into->nclosure++] = ix->files[file].bytes;
    const Google__Protobuf__FileDescriptorProto *fd = set->file[file];
    for (size_t i = 0; i < fd->n_dependency; i++) {
        size_t dep;
        if (!find_file(ix, fd->dependency[i], &dep))
            return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "descriptor set: %s imports %s, which it lacks",
                            ix->files[file].name, fd->dependency[i]);
        if (seen[dep])
            continue;
        fo_error *err = collect_closure(ix, set, dep, seen, into);
        if (err != NULL)
            return err;
    }
    return NULL;
}

static fo_error *index_closures(fo_reflection_index *ix, const Google__Protobuf__FileDescriptorSet *set)
{
    fo_error *err = NULL;
    bool *seen = fo_xcalloc(ix->nfiles, sizeof *seen);
    for (size_t i = 0; i < ix->nfiles && err == NULL; i++) {
        memset(seen, 0, ix->nfiles * sizeof *seen);
        ix->files[i].closure = fo_xcalloc(ix->nfiles, sizeof *ix->files[i].closure);
        err = collect_closure(ix, set, i, seen, &ix->files[i]);
    }
    free(seen);
    return err;
}

static void index_file(fo_reflection_index *ix, const Google__Protobuf__FileDescriptorProto *fd, size_t i)
{
    ix_file *f = &ix->files[i];
    f->name = fo_xstrdup(fd->name);
    f->bytes.len = protobuf_c_message_get_packed_size(&fd->base);
    f->bytes.data = fo_xcalloc(f->bytes.len, 1);
    protobuf_c_message_pack(&fd->base, f->bytes.data);
    add_file_symbols(ix, fd, i);
}

static int symbol_cmp(const void *a, const void *b)
{
    return strcmp(((const ix_symbol *)a)->name, ((const ix_symbol *)b)->name);
}

fo_error *fo_reflection_index_create(const unsigned char *set, size_t len, fo_reflection_index **out)
{
    *out = NULL;
    fo_error *err = NULL;
    fo_reflection_index *ix = fo_xcalloc(1, sizeof *ix);
    Google__Protobuf__FileDescriptorSet *fds = google__protobuf__file_descriptor_set__unpack(NULL, len, set);
    if (fds == NULL) {
        err = FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "descriptor set: not a valid FileDescriptorSet");
        goto cleanup;
    }
    ix->nfiles = fds->n_file;
    ix->files = fo_xcalloc(ix->nfiles, sizeof *ix->files);
    for (size_t i = 0; i < ix->nfiles; i++)
        index_file(ix, fds->file[i], i);
    err = index_closures(ix, fds);
    if (err != NULL)
        goto cleanup;
    qsort(ix->symbols, ix->nsymbols, sizeof *ix->symbols, symbol_cmp);
    *out = ix;
    ix = NULL;
cleanup:
    if (fds != NULL)
        google__protobuf__file_descriptor_set__free_unpacked(fds, NULL);
    fo_reflection_index_free(ix);
    return err;
}

void fo_reflection_index_free(fo_reflection_index *ix)
{
    if (ix == NULL)
        return;
    for (size_t i = 0; i < ix->nfiles; i++) {
        free(ix->files[i].name);
        free(ix->files[i].bytes.data);
        free(ix->files[i].closure);
    }
    free(ix->files);
    for (size_t i = 0; i < ix->nsymbols; i++)
        free(ix->symbols[i].name);
    free(ix->symbols);
    free(ix);
}

static const ProtobufCBinaryData *closure_of(const fo_reflection_index *ix, size_t file, size_t *n)
{
    *n = ix->files[file].nclosure;
    return ix->files[file].closure;
}

const ProtobufCBinaryData *fo_reflection_index_file(const fo_reflection_index *ix, const char *filename, size_t *n)
{
    size_t file;
    if (!find_file(ix, filename, &file)) {
        *n = 0;
        return NULL;
    }
    return closure_of(ix, file, n);
}

const ProtobufCBinaryData *fo_reflection_index_symbol(const fo_reflection_index *ix, const char *symbol, size_t *n)
{
    ix_symbol key = {.name = (char *)symbol};
    const ix_symbol *found = bsearch(&key, ix->symbols, ix->nsymbols, sizeof *ix->symbols, symbol_cmp);
    if (found == NULL) {
        *n = 0;
        return NULL;
    }
    return closure_of(ix, found->file, n);
}

/* --- the service -------------------------------------------------------------- */

struct fo_reflection {
    fo_reflection_index *index;
    /* The list_services answer, built once and shared by every stream. */
    Grpc__Reflection__V1__ServiceResponse *services;
    Grpc__Reflection__V1__ServiceResponse **service_list;
    size_t nservices;
};

fo_error *fo_reflection_create(const char *const *services, size_t n, fo_reflection **out)
{
    *out = NULL;
    fo_reflection *r = fo_xcalloc(1, sizeof *r);
    fo_error *err = fo_reflection_index_create(fo_descriptor_set, fo_descriptor_set_len, &r->index);
    if (err != NULL)
        goto cleanup;
    r->services = fo_xcalloc(n, sizeof *r->services);
    r->service_list = fo_xcalloc(n, sizeof *r->service_list);
    for (size_t i = 0; i < n; i++) {
        size_t nfiles;
        if (fo_reflection_index_symbol(r->index, services[i], &nfiles) == NULL) {
            err = FO_ERROR(FO_STATUS_INTERNAL, "reflection: service %s is not in the descriptor set", services[i]);
            goto cleanup;
        }
        grpc__reflection__v1__service_response__init(&r->services[i]);
        r->services[i].name = fo_xstrdup(services[i]);
        r->service_list[i] = &r->services[i];
        r->nservices = i + 1;
    }
    *out = r;
    r = NULL;
cleanup:
    fo_reflection_destroy(r);
    return err;
}

void fo_reflection_destroy(fo_reflection *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nservices; i++)
        free(r->services[i].name);
    free(r->services);
    free(r->service_list);
    fo_reflection_index_free(r->index);
    free(r);
}

/* --- answering one request ----------------------------------------------------- */

/* The sub-messages a response may point at; they live on the answering stack. */
typedef struct refl_parts {
    Grpc__Reflection__V1__FileDescriptorResponse files;
    Grpc__Reflection__V1__ListServiceResponse list;
    Grpc__Reflection__V1__ErrorResponse error;
    char message[512];
} refl_parts;

static void answer_error(refl_response *resp, refl_parts *parts, fo_status code, const char *what, const char *name)
{
    snprintf(parts->message, sizeof parts->message, "%s%s", what, name ? name : "");
    grpc__reflection__v1__error_response__init(&parts->error);
    parts->error.error_code = (int32_t)code;
    parts->error.error_message = parts->message;
    resp->message_response_case = GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
    resp->error_response = &parts->error;
}

/* files (n of them, NULL when not found) answer the request, or name was not found. */
static void answer_files(refl_response *resp, refl_parts *parts, const ProtobufCBinaryData *files, size_t n,
                         const char *what, const char *name)
{
    if (files == NULL) {
        answer_error(resp, parts, FO_STATUS_NOT_FOUND, what, name);
        return;
    }
    grpc__reflection__v1__file_descriptor_response__init(&parts->files);
    /* The index's bytes are only read while packing. */
    parts->files.file_descriptor_proto = (ProtobufCBinaryData *)files;
    parts->files.n_file_descriptor_proto = n;
    resp->message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
    resp->file_descriptor_response = &parts->files;
}

static void answer_services(const fo_reflection *r, refl_response *resp, refl_parts *parts)
{
    grpc__reflection__v1__list_service_response__init(&parts->list);
    parts->list.service = r->service_list;
    parts->list.n_service = r->nservices;
    resp->message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
    resp->list_services_response = &parts->list;
}

static fo_payload *answer(const fo_reflection *r, refl_request *req)
{
    refl_response resp = GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__INIT;
    refl_parts parts;
    resp.valid_host = req->host;
    resp.original_request = req;
    const ProtobufCBinaryData *files;
    size_t n;
    switch (req->message_request_case) {
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
        answer_services(r, &resp, &parts);
        break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
        files = fo_reflection_index_file(r->index, req->file_by_filename, &n);
        answer_files(&resp, &parts, files, n, "file not found: ", req->file_by_filename);
        break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
        files = fo_reflection_index_symbol(r->index, req->file_containing_symbol, &n);
        answer_files(&resp, &parts, files, n, "symbol not found: ", req->file_containing_symbol);
        break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION:
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
        answer_error(&resp, &parts, FO_STATUS_NOT_FOUND, "extensions are not indexed", NULL);
        break;
    default:
        answer_error(&resp, &parts, FO_STATUS_INVALID_ARGUMENT, "empty ServerReflectionRequest", NULL);
        break;
    }
    return fo_payload_pack(&resp.base);
}

/* --- one ServerReflectionInfo stream ------------------------------------------- */

/*
 * Requests are answered in order, one at a time, so exactly one operation is
 * in flight from the start to the end: a read, then the write of its answer,
 * then the next read. A cancellation fails that operation, which is how the
 * stream learns of it; no on_cancel hook is needed.
 */
typedef enum refl_state {
    REFL_READING, /* a request is being read */
    REFL_WRITING, /* its answer is being written */
} refl_state;

typedef struct refl_stream {
    fo_tag tag; /* completes the operation in flight */
    refl_state state;
    fo_server_call *call;
    const fo_reflection *r;
} refl_stream;

static void stream_end(refl_stream *st, fo_status code, const char *message)
{
    fo_server_call_finish(st->call, code, message, NULL, NULL, 0);
    free(st);
}

static void stream_read(refl_stream *st)
{
    st->state = REFL_READING;
    fo_server_call_recv(st->call, &st->tag);
}

static void stream_answer(refl_stream *st)
{
    bool end;
    refl_request *req = (refl_request *)fo_server_call_take_message(
        st->call, &grpc__reflection__v1__server_reflection_request__descriptor, &end);
    if (req == NULL) {
        if (end)
            stream_end(st, FO_STATUS_OK, NULL);
        else
            stream_end(st, FO_STATUS_INVALID_ARGUMENT, "request is not a valid ServerReflectionRequest");
        return;
    }
    fo_payload *reply = answer(st->r, req);
    protobuf_c_message_free_unpacked(&req->base, NULL);
    st->state = REFL_WRITING;
    fo_server_call_send(st->call, reply, &st->tag);
    fo_payload_free(reply); /* the send holds its own reference to the bytes */
}

static void stream_step(fo_tag *tag, bool ok)
{
    refl_stream *st = fo_container_of(tag, refl_stream, tag);
    if (!ok) {
        /* Cancelled, past its deadline, or the server is going away. */
        stream_end(st, FO_STATUS_CANCELLED, "stream ended");
        return;
    }
    switch (st->state) {
    case REFL_READING:
        stream_answer(st);
        break;
    case REFL_WRITING:
        stream_read(st);
        break;
    }
}

static void stream_start(fo_server_call *call, void *ctx)
{
    refl_stream *st = fo_xcalloc(1, sizeof *st);
    st->tag.fn = stream_step;
    st->call = call;
    st->r = ctx;
    stream_read(st);
}

void fo_reflection_register(fo_reflection *r, fo_server *s)
{
    fo_server_add_method(s, REFLECTION_V1ALPHA_PATH, FO_RPC_BIDI_STREAM, stream_start, r);
    fo_server_add_method(s, REFLECTION_V1_PATH, FO_RPC_BIDI_STREAM, stream_start, r);
}
