// fuzz/fuzz_check.hpp - invariant checks for the fuzz targets.
//
// FUZZ_CHECK(cond) aborts with the failed condition and its line, so libFuzzer reports a crash
// and writes the input that broke the invariant. (assert() would vanish under NDEBUG.)
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond);    \
            std::abort();                                                                          \
        }                                                                                          \
    } while (0)
