/*
 * fo_file: a whole file read into memory. Certificates, keys and the
 * configuration files are small and read once at start-up, so one buffer
 * and one message that names the file are all a caller needs.
 */
#ifndef FO_FILE_H
#define FO_FILE_H

#include "fo_error.h"

/* The whole file, NUL-terminated, in *out (malloc'd); *out is NULL on error. */
fo_error *fo_read_file(const char *path, char **out);

#endif
