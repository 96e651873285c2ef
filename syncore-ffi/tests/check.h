/* A minimal test harness for the C API tests: CHECK counts, failures print and go on, and
 * CHECK_DONE prints "N passed, N failed" and returns the exit code. */
#ifndef SYNCORE_TEST_CHECK_H
#define SYNCORE_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

#include "syncore.h"

static int check_passed;
static int check_failed;

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (cond) {                                                                      \
      check_passed++;                                                                \
    } else {                                                                         \
      check_failed++;                                                                \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);       \
    }                                                                                \
  } while (0)

/* Checks that `call` returns `want`; on a mismatch prints both and the last error. */
#define CHECK_STATUS(call, want)                                                     \
  do {                                                                               \
    syncore_status got_ = (call);                                                    \
    if (got_ == (want)) {                                                            \
      check_passed++;                                                                \
    } else {                                                                         \
      check_failed++;                                                                \
      fprintf(stderr, "%s:%d: %s returned %s, want %s (%s)\n", __FILE__, __LINE__,   \
              #call, syncore_status_name((int)got_), syncore_status_name((int)(want)),\
              syncore_last_error_message());                                         \
    }                                                                                \
  } while (0)

#define CHECK_OK(call) CHECK_STATUS(call, SYNCORE_STATUS_OK)

/* Checks that the last error message contains `needle`. */
#define CHECK_MESSAGE(needle)                                                        \
  do {                                                                               \
    const char *msg_ = syncore_last_error_message();                                 \
    if (strstr(msg_, (needle)) != NULL) {                                            \
      check_passed++;                                                                \
    } else {                                                                         \
      check_failed++;                                                                \
      fprintf(stderr, "%s:%d: last error \"%s\" lacks \"%s\"\n", __FILE__, __LINE__, \
              msg_, (needle));                                                       \
    }                                                                                \
  } while (0)

#define CHECK_DONE()                                                                 \
  do {                                                                               \
    printf("%d passed, %d failed\n", check_passed, check_failed);                   \
    return check_failed == 0 ? 0 : 1;                                                \
  } while (0)

/* Deterministic pseudo-random bytes (xorshift64). */
static inline void fill_seeded(uint8_t *buf, size_t len, uint64_t seed) {
  uint64_t s = seed ? seed : 1;
  for (size_t i = 0; i < len; i++) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    buf[i] = (uint8_t)(s >> 24);
  }
}

/* Checks every action of `plan` (a path, a known kind, a from_path exactly for renames) and
 * that its missing chunks, written to `*missing` (owned by the caller), are as many as
 * `summary` says; returns the number of actions. */
static inline size_t check_plan(const syncore_plan *plan, const syncore_plan_summary *summary,
                                syncore_digest_list **missing) {
  size_t actions = syncore_plan_action_count(plan);
  for (size_t i = 0; i < actions; i++) {
    syncore_action a;
    CHECK_OK(syncore_plan_action_get(plan, i, &a));
    CHECK(a.path != NULL && a.kind >= SYNCORE_ACTION_KIND_WRITE_FILE && a.kind <= SYNCORE_ACTION_KIND_RECORD);
    CHECK((a.kind == SYNCORE_ACTION_KIND_RENAME) == (a.from_path != NULL));
  }
  CHECK_OK(syncore_plan_missing_chunks(plan, missing));
  CHECK(syncore_digest_list_len(*missing) == summary->missing_chunks);
  return actions;
}

#endif
