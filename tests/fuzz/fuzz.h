/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* the one entry point every fuzzer defines (libFuzzer's) */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
