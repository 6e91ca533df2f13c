/* The checks of the C test programs: each counts as passed or failed and a
 * failure says where, what, and (for a cardap call) the library's last
 * error. Included by one translation unit per program. */
#ifndef CARDAP_TEST_CHECK_H
#define CARDAP_TEST_CHECK_H

#include <stdio.h>

#include "cardap.h"

static int passed, failed;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (cond) {                                                                \
      passed++;                                                                \
    } else {                                                                   \
      failed++;                                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

#define CHECK_CODE(call, want)                                                 \
  do {                                                                         \
    cardap_result got_ = (call);                                               \
    if (got_ == (want)) {                                                      \
      passed++;                                                                \
    } else {                                                                   \
      failed++;                                                                \
      const char *d_ = NULL;                                                   \
      size_t n_ = 0;                                                           \
      cardap_last_error(&d_, &n_);                                             \
      fprintf(stderr, "%s:%d: %s gave %u, wanted %u (%.*s)\n", __FILE__,       \
              __LINE__, #call, (unsigned)got_, (unsigned)(want), (int)n_, d_); \
    }                                                                          \
  } while (0)

#endif
