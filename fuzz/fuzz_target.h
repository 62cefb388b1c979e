/*
 * fuzz_target: the entry points libFuzzer calls, declared once so that every
 * target defines them against a prototype (-Wmissing-prototypes).
 */
#ifndef FUZZ_TARGET_H
#define FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>

/* Once, before the first input; optional. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
/* One input; returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
