/* The watcher-event coalescer through the C API: settling, own writes, renames, overflow
 * and bad paths. */
#include <stdlib.h>

#include "check.h"

static syncore_watch_event event(uint64_t at_ms, uint8_t kind, const char *path) {
  syncore_watch_event e;
  memset(&e, 0, sizeof e);
  e.at_ms = at_ms;
  e.kind = kind;
  e.is_dir = -1;
  e.path = path;
  return e;
}

/* Polls at `now` and checks for exactly one change of `kind` at `path` (NULL: no path). */
static void expect_one(syncore_coalescer *c, uint64_t now, syncore_change_kind kind, const char *path) {
  syncore_change_list *list = NULL;
  syncore_change_kind got_kind = (syncore_change_kind)0;
  const char *got_path = "unset";
  CHECK_OK(syncore_coalescer_poll(c, now, &list));
  CHECK(syncore_change_list_len(list) == 1);
  CHECK_OK(syncore_change_list_get(list, 0, &got_kind, &got_path));
  CHECK(got_kind == kind);
  CHECK(path == NULL ? got_path == NULL : (got_path != NULL && strcmp(got_path, path) == 0));
  CHECK_STATUS(syncore_change_list_get(list, 1, &got_kind, &got_path), SYNCORE_STATUS_INVALID_INPUT);
  syncore_change_list_free(list);
}

int main(void) {
  syncore_coalescer_config config;
  syncore_coalescer *c = NULL;
  syncore_change_list *list = NULL;
  syncore_watch_event e;
  bool has = false;
  uint64_t deadline = 0;
  static const char bad_utf8[] = {'d', (char)0xFF, 0};

  CHECK_OK(syncore_coalescer_config_default(&config));
  CHECK(config.quiet_period_ms == 2000 && config.max_delay_ms == 60000);
  config.quiet_period_ms = 100;
  CHECK_OK(syncore_coalescer_new(&config, &c));

  /* A burst of writes settles into one rescan, after the quiet period. */
  for (uint64_t t = 0; t < 50; t += 10) {
    e = event(t, SYNCORE_WATCH_KIND_MODIFY, "docs/report.txt");
    CHECK_OK(syncore_coalescer_push(c, &e));
  }
  CHECK(syncore_coalescer_pending_len(c) == 1);
  CHECK_OK(syncore_coalescer_next_deadline(c, &has, &deadline));
  CHECK(has && deadline == 140);
  CHECK_OK(syncore_coalescer_poll(c, 100, &list));
  CHECK(syncore_change_list_len(list) == 0);
  syncore_change_list_free(list);
  expect_one(c, 140, SYNCORE_CHANGE_KIND_RESCAN, "docs/report.txt");
  CHECK_OK(syncore_coalescer_next_deadline(c, &has, &deadline));
  CHECK(!has);

  /* Editor temp files are never reported; our own writes are suppressed. */
  e = event(200, SYNCORE_WATCH_KIND_CREATE, "docs/.report.txt.swp");
  CHECK_OK(syncore_coalescer_push(c, &e));
  CHECK_OK(syncore_coalescer_expect_own_write(c, "docs/mine.txt", 200));
  e = event(201, SYNCORE_WATCH_KIND_MODIFY, "docs/mine.txt");
  CHECK_OK(syncore_coalescer_push(c, &e));
  CHECK_OK(syncore_coalescer_poll(c, 1000, &list));
  CHECK(syncore_change_list_len(list) == 0);
  syncore_change_list_free(list);

  /* A rename with both halves: the old path is removed, the new one rescanned. */
  e = event(2000, SYNCORE_WATCH_KIND_RENAME, "b.txt");
  e.from_path = "a.txt";
  e.is_dir = 0;
  CHECK_OK(syncore_coalescer_push(c, &e));
  list = NULL;
  CHECK_OK(syncore_coalescer_poll(c, 3000, &list));
  CHECK(syncore_change_list_len(list) == 2);
  {
    syncore_change_kind k0, k1;
    const char *p0, *p1;
    CHECK_OK(syncore_change_list_get(list, 0, &k0, &p0));
    CHECK_OK(syncore_change_list_get(list, 1, &k1, &p1));
    CHECK(k0 == SYNCORE_CHANGE_KIND_REMOVED && strcmp(p0, "a.txt") == 0);
    CHECK(k1 == SYNCORE_CHANGE_KIND_RESCAN && strcmp(p1, "b.txt") == 0);
  }
  syncore_change_list_free(list);

  /* An overflow at the root asks for a full rescan, with no path. */
  e = event(4000, SYNCORE_WATCH_KIND_RESCAN_NEEDED, NULL);
  CHECK_OK(syncore_coalescer_push(c, &e));
  expect_one(c, 5000, SYNCORE_CHANGE_KIND_FULL_RESCAN, NULL);

  /* Bad events are refused and record nothing. */
  e = event(6000, SYNCORE_WATCH_KIND_MODIFY, "../escape");
  CHECK_STATUS(syncore_coalescer_push(c, &e), SYNCORE_STATUS_INVALID_INPUT);
  e = event(6000, SYNCORE_WATCH_KIND_MODIFY, "/abs/path");
  CHECK_STATUS(syncore_coalescer_push(c, &e), SYNCORE_STATUS_INVALID_INPUT);
  e = event(6000, SYNCORE_WATCH_KIND_MODIFY, bad_utf8);
  CHECK_STATUS(syncore_coalescer_push(c, &e), SYNCORE_STATUS_INVALID_UTF8);
  e = event(6000, 42, "x");
  CHECK_STATUS(syncore_coalescer_push(c, &e), SYNCORE_STATUS_INVALID_INPUT);
  CHECK_MESSAGE("syncore_watch_kind");
  e = event(6000, SYNCORE_WATCH_KIND_RENAME, "x");
  CHECK_STATUS(syncore_coalescer_push(c, &e), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_MESSAGE("from_path");
  CHECK_STATUS(syncore_coalescer_expect_own_write(c, "", 6000), SYNCORE_STATUS_INVALID_INPUT);
  CHECK(syncore_coalescer_pending_len(c) == 0);

  syncore_coalescer_free(c);
  CHECK_DONE();
}
