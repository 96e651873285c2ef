/* Persistent replicas driven from C: two real directories with SQLite indexes scanned, synced
 * both ways through change-set bytes (plans walked, chunks read from the peer's files), an
 * edit + delete + concurrent edit resolved with a conflict copy, history and restore, usage,
 * gc, stale temp files, skipped paths, layered chunk sources, a hub round trip (client -> hub
 * -> second client), and bad input. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <unistd.h>

#include "files.h"

#define BIG_LEN (1 << 20)
#define NOTES_LEN 200000

static syncore_chunker_config config;
static syncore_store *backup;

static int put_chunk(void *userdata, const syncore_chunk *chunk, const uint8_t *bytes, size_t len) {
  (void)userdata;
  return syncore_store_put(backup, &chunk->id, bytes, len, NULL) == SYNCORE_STATUS_OK ? 0 : 1;
}

static int exists(const char *root, const char *rel) {
  char path[600];
  struct stat st;
  path_of(path, sizeof path, root, rel);
  return lstat(path, &st) == 0;
}

/* How many names in directory `root/rel` contain `needle`. */
static int count_names(const char *root, const char *rel, const char *needle) {
  char path[600];
  DIR *dir;
  struct dirent *e;
  int n = 0;
  path_of(path, sizeof path, root, rel);
  dir = opendir(path);
  if (dir == NULL) return -1;
  while ((e = readdir(dir)) != NULL) {
    if (strstr(e->d_name, needle) != NULL) n++;
  }
  closedir(dir);
  return n;
}

static syncore_replica *open_replica(const char *root) {
  syncore_replica_options options;
  syncore_replica *r = NULL;
  CHECK_OK(syncore_replica_options_default(&options));
  CHECK(options.state_dir == NULL && options.quota_bytes == 0 && options.check_integrity);
  options.chunker = config;
  CHECK_OK(syncore_replica_open(root, &options, &r));
  return r;
}

/* Scans `r` and returns the counts; `*changed` is the number of recorded changes. */
static syncore_scan_counts scan(syncore_replica *r, uint64_t *changed) {
  syncore_scan_report *report = NULL;
  syncore_scan_counts c;
  memset(&c, 0, sizeof c);
  CHECK_OK(syncore_replica_scan(r, &report));
  CHECK_OK(syncore_scan_report_counts(report, &c));
  *changed = c.added + c.modified + c.deleted + c.moved;
  syncore_scan_report_free(report);
  return c;
}

/* One direction of the exchange, as an application runs it: `from`'s changes since `to`'s
 * cursor of it shipped as bytes, planned on `to`, actions walked, missing chunks served from
 * `from`'s files, applied. Returns the number of actions. */
static size_t push(syncore_replica *from, syncore_replica *to) {
  uint8_t from_id[SYNCORE_REPLICA_ID_LEN];
  uint64_t cursor = 0, next = 0, synced = 0;
  syncore_bytes *wire = NULL;
  syncore_plan *plan = NULL;
  syncore_digest_list *missing = NULL;
  syncore_chunk_source *source = NULL;
  syncore_store *cache = NULL;
  syncore_plan_summary summary;
  syncore_apply_report report;
  syncore_sync_options options;
  size_t actions;

  CHECK_OK(syncore_replica_id(from, from_id));
  CHECK_OK(syncore_replica_synced_cursor(to, from_id, &cursor));
  CHECK_OK(syncore_replica_changes_since(from, cursor, &wire, &next));
  CHECK(next >= cursor);
  CHECK_OK(syncore_sync_options_default(&options));
  CHECK_OK(syncore_replica_plan(to, syncore_bytes_data(wire), syncore_bytes_len(wire), &options, &plan));
  CHECK(syncore_plan_cursor(plan) == next);
  CHECK_OK(syncore_plan_summary_get(plan, &summary));
  actions = check_plan(plan, &summary, &missing);

  /* The chunks `to` lacks come straight from `from`'s files, verified on read, behind a
   * first layer (an empty local cache) that has none of them. */
  CHECK_OK(syncore_chunk_source_new(&source));
  CHECK_OK(syncore_store_new_mem(SYNCORE_HASH_ALGO_BLAKE3, &cache));
  CHECK_OK(syncore_chunk_source_add_store(source, cache, true));
  syncore_store_free(cache);
  CHECK_OK(syncore_chunk_source_add_replica(source, from, false));
  CHECK(syncore_chunk_source_len(source) == 2);
  memset(&report, 0xFF, sizeof report);
  CHECK_OK(syncore_replica_apply(to, plan, source, SYNCORE_DURABILITY_NONE, &report));
  CHECK(report.failed == 0 && report.conflicts == 0);
  CHECK(report.files_written == summary.files_written);
  CHECK(report.bytes_reused_locally <= report.bytes_written);
  if (summary.files_written > 0 && summary.missing_bytes == summary.bytes_written) {
    CHECK(report.bytes_reused_locally == 0); /* everything came from the peer's layer */
  }
  /* Applied completely: `to` now remembers the cursor. */
  CHECK_OK(syncore_replica_synced_cursor(to, from_id, &synced));
  CHECK(synced == next);

  syncore_chunk_source_free(source);
  syncore_digest_list_free(missing);
  syncore_plan_free(plan);
  syncore_bytes_free(wire);
  return actions;
}

static void test_bad_input(syncore_replica *a, syncore_replica *b, const char *root_a) {
  syncore_replica *r = (syncore_replica *)(uintptr_t)1;
  syncore_replica_options options;
  syncore_scan_report *report = NULL;
  syncore_scan_item item;
  syncore_plan *plan = (syncore_plan *)(uintptr_t)1;
  syncore_history *history = NULL;
  syncore_bytes *wire = NULL;
  syncore_chunk_source *source = NULL;
  uint64_t cursor = 0;
  const char *bad_paths[] = {"../outside"};
  const char not_utf8[] = {'/', 't', 'm', 'p', '/', (char)0xff, (char)0xfe, 0};

  CHECK_STATUS(syncore_replica_open(NULL, NULL, &r), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_MESSAGE("root");
  CHECK_STATUS(syncore_replica_open(root_a, NULL, NULL), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_replica_open(not_utf8, NULL, &r), SYNCORE_STATUS_INVALID_UTF8);
  CHECK(r == (syncore_replica *)(uintptr_t)1); /* untouched on failure */
  /* The index is locked while `a` is open. */
  CHECK_STATUS(syncore_replica_open(root_a, NULL, &r), SYNCORE_STATUS_BUSY);
  CHECK(r == (syncore_replica *)(uintptr_t)1);
  syncore_replica_options_default(&options);
  options.chunker.kind = 9;
  CHECK_STATUS(syncore_replica_open(root_a, &options, &r), SYNCORE_STATUS_INVALID_INPUT);
  CHECK_MESSAGE("kind");
  syncore_replica_options_default(&options);
  options.state_dir = not_utf8;
  CHECK_STATUS(syncore_replica_open(root_a, &options, &r), SYNCORE_STATUS_INVALID_UTF8);
  CHECK_MESSAGE("state_dir");

  CHECK_STATUS(syncore_replica_scan(NULL, &report), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_replica_scan(a, NULL), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_replica_rescan(a, NULL, 1, &report), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_replica_rescan(a, bad_paths, 1, &report), SYNCORE_STATUS_INVALID_INPUT);
  CHECK(report == NULL);
  CHECK_STATUS(syncore_replica_history(a, not_utf8 + 5, &history), SYNCORE_STATUS_INVALID_UTF8);
  CHECK(history == NULL);
  CHECK_STATUS(syncore_replica_changes_since(a, 0, NULL, &cursor), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_replica_synced_cursor(a, NULL, &cursor), SYNCORE_STATUS_NULL_ARGUMENT);

  /* Damaged change-set bytes are rejected, never trusted. */
  CHECK_STATUS(syncore_replica_plan(b, (const uint8_t *)"garbage!", 8, NULL, &plan), SYNCORE_STATUS_CORRUPT);
  CHECK_STATUS(syncore_replica_plan(b, NULL, 0, NULL, &plan), SYNCORE_STATUS_CORRUPT);
  CHECK(plan == (syncore_plan *)(uintptr_t)1);
  CHECK_OK(syncore_replica_changes_since(a, 0, &wire, &cursor));
  {
    size_t len = syncore_bytes_len(wire);
    uint8_t *copy = (uint8_t *)malloc(len);
    memcpy(copy, syncore_bytes_data(wire), len);
    copy[len / 2] ^= 0x5A;
    CHECK_STATUS(syncore_replica_plan(b, copy, len, NULL, &plan), SYNCORE_STATUS_CORRUPT);
    CHECK_STATUS(syncore_replica_plan(b, copy, len / 2, NULL, &plan), SYNCORE_STATUS_CORRUPT);
    free(copy);
  }

  /* Apply: NULLs, a bad durability, a replica serving itself. */
  plan = NULL;
  CHECK_OK(syncore_replica_plan(b, syncore_bytes_data(wire), syncore_bytes_len(wire), NULL, &plan));
  CHECK_OK(syncore_chunk_source_new(&source));
  CHECK_STATUS(syncore_replica_apply(b, plan, NULL, SYNCORE_DURABILITY_NONE, NULL), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_replica_apply(NULL, plan, source, SYNCORE_DURABILITY_NONE, NULL), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_replica_apply(b, plan, source, 7, NULL), SYNCORE_STATUS_INVALID_INPUT);
  CHECK_STATUS(syncore_chunk_source_add_replica(source, NULL, false), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_chunk_source_add_store(source, NULL, false), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_OK(syncore_chunk_source_add_replica(source, b, false));
  CHECK_STATUS(syncore_replica_apply(b, plan, source, SYNCORE_DURABILITY_NONE, NULL), SYNCORE_STATUS_INVALID_INPUT);
  CHECK_MESSAGE("itself");

  /* Scan report lists: unknown list, index out of range. */
  CHECK_OK(syncore_replica_scan(a, &report));
  CHECK_STATUS(syncore_scan_report_get(report, 9, 0, &item), SYNCORE_STATUS_INVALID_INPUT);
  CHECK_STATUS(syncore_scan_report_get(report, SYNCORE_SCAN_LIST_ADDED, 1000, &item), SYNCORE_STATUS_INVALID_INPUT);
  CHECK_STATUS(syncore_scan_report_get(report, SYNCORE_SCAN_LIST_ADDED, 0, NULL), SYNCORE_STATUS_NULL_ARGUMENT);

  /* Getters and destructors accept NULL. */
  CHECK(syncore_history_len(NULL) == 0 && syncore_chunk_source_len(NULL) == 0);
  syncore_replica_free(NULL);
  syncore_hub_free(NULL);
  syncore_scan_report_free(NULL);
  syncore_history_free(NULL);
  syncore_chunk_source_free(NULL);

  syncore_scan_report_free(report);
  syncore_chunk_source_free(source);
  syncore_plan_free(plan);
  syncore_bytes_free(wire);
}

static void test_hub(syncore_replica *a, const char *root_a, const char *root_c, const char *hub_dir,
                     const uint8_t *big) {
  syncore_store *store = NULL;
  syncore_hub *hub = NULL, *again = NULL;
  syncore_replica *c = NULL;
  syncore_bytes *wire = NULL, *full = NULL;
  syncore_plan *plan = NULL;
  syncore_chunk_source *source = NULL;
  syncore_apply_report report;
  syncore_plan_summary summary;
  syncore_history *history = NULL;
  syncore_history_version version;
  syncore_manifest *manifest = NULL;
  syncore_store_stats stats;
  syncore_digest unknown;
  uint8_t id_a[SYNCORE_REPLICA_ID_LEN], id_hub[SYNCORE_REPLICA_ID_LEN];
  uint64_t cursor = 0, next = 0, changed = 0;

  CHECK_OK(syncore_store_new_mem(SYNCORE_HASH_ALGO_BLAKE3, &store));
  CHECK_OK(syncore_hub_open(hub_dir, store, NULL, &hub));
  CHECK_STATUS(syncore_hub_open(hub_dir, store, NULL, &again), SYNCORE_STATUS_BUSY);
  CHECK(again == NULL);
  CHECK_OK(syncore_hub_id(hub, id_hub));
  CHECK_OK(syncore_replica_id(a, id_a));

  /* Upload: A's changes planned on the hub, the chunks it lacks read from A's files. */
  CHECK_OK(syncore_hub_synced_cursor(hub, id_a, &cursor));
  CHECK(cursor == 0);
  CHECK_OK(syncore_replica_changes_since(a, cursor, &wire, &next));
  CHECK_OK(syncore_hub_plan(hub, syncore_bytes_data(wire), syncore_bytes_len(wire), NULL, &plan));
  CHECK_OK(syncore_plan_summary_get(plan, &summary));
  CHECK(summary.files_written >= 3 && summary.missing_chunks > 10);
  CHECK_OK(syncore_chunk_source_new(&source));
  CHECK_OK(syncore_chunk_source_add_replica(source, a, false));
  CHECK_OK(syncore_hub_apply(hub, plan, source, &report));
  CHECK(report.failed == 0 && report.conflicts == 0);
  CHECK_OK(syncore_hub_synced_cursor(hub, id_a, &cursor));
  CHECK(cursor == next && cursor > 0);
  CHECK_OK(syncore_store_stats_get(store, &stats));
  CHECK(stats.bytes >= BIG_LEN);
  syncore_chunk_source_free(source);
  syncore_plan_free(plan);
  syncore_bytes_free(wire);
  CHECK_STATUS(syncore_hub_plan(hub, (const uint8_t *)"SYNC", 4, NULL, &plan), SYNCORE_STATUS_CORRUPT);

  /* For A, the hub leaves out A's own versions: nothing comes back; for anyone else, all. */
  CHECK_OK(syncore_replica_synced_cursor(a, id_hub, &cursor));
  CHECK_OK(syncore_hub_changes_for(hub, id_a, cursor, &wire, &next));
  CHECK_OK(syncore_replica_plan(a, syncore_bytes_data(wire), syncore_bytes_len(wire), NULL, &plan));
  CHECK(syncore_plan_action_count(plan) == 0 && syncore_plan_cursor(plan) == next && next > cursor);
  syncore_plan_free(plan);
  CHECK_OK(syncore_hub_changes_for(hub, id_hub, cursor, &full, NULL));
  CHECK(syncore_bytes_len(full) > syncore_bytes_len(wire));
  syncore_bytes_free(full);
  syncore_bytes_free(wire);
  CHECK_STATUS(syncore_hub_changes_for(hub, NULL, 0, &wire, NULL), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_replica_changes_for(a, id_hub, 0, NULL, NULL), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_OK(syncore_replica_changes_for(a, id_hub, 0, &wire, &next));
  CHECK(syncore_bytes_len(wire) > 0 && next > 0);
  syncore_bytes_free(wire);

  /* The hub knows the manifest of A's big.bin. */
  CHECK_OK(syncore_replica_history(a, "big.bin", &history));
  CHECK_OK(syncore_history_get(history, 0, &version));
  CHECK(version.has_content_id);
  CHECK_OK(syncore_hub_manifest(hub, &version.content_id, &manifest));
  CHECK(syncore_manifest_size(manifest) == BIG_LEN);
  memset(&unknown, 7, sizeof unknown);
  CHECK_STATUS(syncore_hub_manifest(hub, &unknown, &manifest), SYNCORE_STATUS_NOT_FOUND);
  syncore_manifest_free(manifest);
  syncore_history_free(history);

  /* Download to a new client C, chunks straight from the hub's store (the hub holds its own
   * reference, so the application could have freed its handle; it keeps it to serve reads). */
  c = open_replica(root_c);
  CHECK_OK(syncore_replica_synced_cursor(c, id_hub, &cursor));
  CHECK_OK(syncore_hub_changes_since(hub, cursor, &wire, &next));
  CHECK_OK(syncore_replica_plan(c, syncore_bytes_data(wire), syncore_bytes_len(wire), NULL, &plan));
  CHECK_OK(syncore_chunk_source_new(&source));
  CHECK_OK(syncore_chunk_source_add_store(source, store, false));
  syncore_store_free(store);
  CHECK_OK(syncore_replica_apply(c, plan, source, SYNCORE_DURABILITY_BATCHED, &report));
  CHECK(report.failed == 0 && report.conflicts == 0 && report.files_written >= 3);
  CHECK(file_is(root_c, "big.bin", big, BIG_LEN));
  CHECK(same_file(root_a, root_c, "docs/notes.txt"));
  CHECK_OK(syncore_replica_synced_cursor(c, id_hub, &cursor));
  CHECK(cursor == next);
  scan(c, &changed);
  CHECK(changed == 0);
  syncore_chunk_source_free(source);
  syncore_plan_free(plan);
  syncore_bytes_free(wire);

  /* A client's unchanged view is a no-op for the hub. */
  CHECK_OK(syncore_replica_changes_since(c, 0, &wire, NULL));
  CHECK_OK(syncore_hub_plan(hub, syncore_bytes_data(wire), syncore_bytes_len(wire), NULL, &plan));
  CHECK_OK(syncore_plan_summary_get(plan, &summary));
  CHECK(summary.files_written == 0 && summary.missing_chunks == 0 && summary.deleted == 0);
  syncore_plan_free(plan);
  syncore_bytes_free(wire);

  syncore_replica_free(c);
  syncore_hub_free(hub);
  /* Closed: the index opens again. */
  CHECK_OK(syncore_store_new_mem(SYNCORE_HASH_ALGO_BLAKE3, &store));
  CHECK_OK(syncore_hub_open(hub_dir, store, NULL, &hub));
  CHECK_OK(syncore_hub_synced_cursor(hub, id_a, &cursor));
  CHECK(cursor > 0);
  syncore_hub_free(hub);
  syncore_store_free(store);
}

int main(void) {
  char root_a[] = "/tmp/syncore-ra-XXXXXX", root_b[] = "/tmp/syncore-rb-XXXXXX";
  char root_c[] = "/tmp/syncore-rc-XXXXXX", hub_dir[] = "/tmp/syncore-rh-XXXXXX";
  char dir[600];
  syncore_replica *a = NULL, *b = NULL;
  syncore_scan_report *report = NULL;
  syncore_scan_counts counts;
  syncore_scan_item item;
  syncore_history *history = NULL;
  syncore_history_version version;
  syncore_usage usage;
  syncore_gc_report gc;
  syncore_digest_list *unreferenced = NULL;
  syncore_chunker *chunker = NULL;
  uint8_t *big = (uint8_t *)malloc(BIG_LEN), *original = (uint8_t *)malloc(BIG_LEN);
  uint8_t *notes = (uint8_t *)malloc(NOTES_LEN);
  uint8_t id_a[SYNCORE_REPLICA_ID_LEN], id_b[SYNCORE_REPLICA_ID_LEN];
  uint64_t changed = 0, removed = 99, restored_seq = 0, old_seq = 0;
  const char *rescan_paths[] = {"docs"};
  int found_big = 0;
  char big_path[600];

  CHECK(mkdtemp(root_a) != NULL && mkdtemp(root_b) != NULL);
  CHECK(mkdtemp(root_c) != NULL && mkdtemp(hub_dir) != NULL);
  path_of(dir, sizeof dir, root_a, "docs");
  CHECK(mkdir(dir, 0755) == 0);
  syncore_chunker_config_default(&config);
  config.min_size = 4096;
  config.avg_size = 16384;
  config.max_size = 65536;
  config.threads = 2;

  /* A has a directory and two files, B one file of its own. */
  fill_seeded(big, BIG_LEN, 1);
  memcpy(original, big, BIG_LEN);
  fill_seeded(notes, NOTES_LEN, 2);
  write_file(root_a, "docs/notes.txt", notes, NOTES_LEN);
  write_file(root_a, "big.bin", big, BIG_LEN);
  write_file(root_b, "b-only.txt", "from B", 6);
  path_of(dir, sizeof dir, root_b, "pipe");
  CHECK(mkfifo(dir, 0644) == 0);

  a = open_replica(root_a);
  b = open_replica(root_b);
  CHECK_OK(syncore_replica_id(a, id_a));
  CHECK_OK(syncore_replica_id(b, id_b));
  CHECK(memcmp(id_a, id_b, sizeof id_a) != 0);

  CHECK_OK(syncore_replica_scan(a, &report));
  CHECK_OK(syncore_scan_report_counts(report, &counts));
  CHECK(counts.added == 3 && counts.modified == 0 && counts.deleted == 0 && counts.skipped == 0);
  CHECK(counts.bytes_hashed == BIG_LEN + NOTES_LEN);
  for (uint64_t i = 0; i < counts.added; i++) {
    CHECK_OK(syncore_scan_report_get(report, SYNCORE_SCAN_LIST_ADDED, (size_t)i, &item));
    CHECK(item.from_path == NULL && item.reason == 0 && item.detail == NULL);
    found_big += strcmp(item.path, "big.bin") == 0;
  }
  CHECK(found_big == 1);
  syncore_scan_report_free(report);
  /* B's FIFO is listed as skipped, with its reason. */
  CHECK_OK(syncore_replica_scan(b, &report));
  CHECK_OK(syncore_scan_report_counts(report, &counts));
  CHECK(counts.added == 1 && counts.skipped == 1);
  CHECK_OK(syncore_scan_report_get(report, SYNCORE_SCAN_LIST_SKIPPED, 0, &item));
  /* Skipped paths are reported as found on disk (they may not be valid replica paths). */
  CHECK(strcmp(item.path, dir) == 0 && item.reason == SYNCORE_SKIP_REASON_UNSUPPORTED_TYPE);
  CHECK(item.from_path == NULL && item.detail == NULL);
  syncore_scan_report_free(report);
  /* A second scan finds nothing new. */
  counts = scan(a, &changed);
  CHECK(changed == 0 && counts.unchanged == 3);

  /* Full two-way sync. */
  CHECK(push(a, b) > 0);
  CHECK(push(b, a) > 0);
  CHECK(same_file(root_a, root_b, "big.bin") && same_file(root_a, root_b, "docs/notes.txt"));
  CHECK(same_file(root_a, root_b, "b-only.txt"));
  /* Applied files are not seen as local changes, and nothing is left to do either way. */
  scan(a, &changed);
  CHECK(changed == 0);
  scan(b, &changed);
  CHECK(changed == 0);
  CHECK(push(a, b) == 0);
  CHECK(push(b, a) == 0);

  /* Back up A's chunks of big.bin as they are now (for restoring it later). */
  CHECK_OK(syncore_store_new_mem(SYNCORE_HASH_ALGO_BLAKE3, &backup));
  CHECK_OK(syncore_chunker_new(&config, &chunker));
  path_of(big_path, sizeof big_path, root_a, "big.bin");
  CHECK_OK(syncore_chunker_chunk_file_with(chunker, big_path, put_chunk, NULL, NULL));
  syncore_chunker_free(chunker);

  /* A edits big.bin, B deletes b-only.txt, both edit notes.txt (B's edit is newer). */
  memcpy(big + 500000, "an edit in the middle", 21);
  write_file(root_a, "big.bin", big, BIG_LEN);
  path_of(dir, sizeof dir, root_b, "b-only.txt");
  CHECK(remove(dir) == 0);
  notes[0] ^= 1;
  write_file(root_a, "docs/notes.txt", notes, NOTES_LEN);
  sleep(1);
  notes[1] ^= 1;
  write_file(root_b, "docs/notes.txt", notes, NOTES_LEN);
  counts = scan(a, &changed);
  CHECK(counts.modified == 2);
  /* B picks up its changes with a targeted rescan and a full scan. */
  CHECK_OK(syncore_replica_rescan(b, rescan_paths, 1, &report));
  CHECK_OK(syncore_scan_report_counts(report, &counts));
  CHECK(counts.modified == 1);
  CHECK_OK(syncore_scan_report_get(report, SYNCORE_SCAN_LIST_MODIFIED, 0, &item));
  CHECK(strcmp(item.path, "docs/notes.txt") == 0);
  syncore_scan_report_free(report);
  counts = scan(b, &changed);
  CHECK(counts.deleted == 1);

  push(a, b);
  push(b, a);
  push(a, b);
  CHECK(same_file(root_a, root_b, "big.bin") && file_is(root_b, "big.bin", big, BIG_LEN));
  CHECK(!exists(root_a, "b-only.txt") && !exists(root_b, "b-only.txt"));
  CHECK(same_file(root_a, root_b, "docs/notes.txt") && file_is(root_a, "docs/notes.txt", notes, NOTES_LEN));
  /* The losing edit is kept as a conflict copy on both sides. */
  CHECK(count_names(root_a, "docs", ".sync-conflict-") == 1);
  CHECK(count_names(root_b, "docs", ".sync-conflict-") == 1);
  scan(a, &changed);
  CHECK(changed == 0);
  scan(b, &changed);
  CHECK(changed == 0);

  /* History: big.bin has two versions; restore the original from the backup store. */
  CHECK_OK(syncore_replica_history(a, "big.bin", &history));
  CHECK(syncore_history_len(history) == 2);
  CHECK_OK(syncore_history_get(history, 1, &version));
  CHECK(version.kind == SYNCORE_ENTRY_KIND_FILE && !version.deleted && version.size == BIG_LEN);
  CHECK(version.has_content_id && version.symlink_target == NULL);
  old_seq = version.seq;
  CHECK_OK(syncore_history_get(history, 0, &version));
  CHECK(version.seq > old_seq);
  CHECK_STATUS(syncore_history_get(history, 2, &version), SYNCORE_STATUS_INVALID_INPUT);
  syncore_history_free(history);
  CHECK_STATUS(syncore_replica_restore(a, "big.bin", 999999, backup, NULL), SYNCORE_STATUS_NOT_FOUND);
  CHECK_OK(syncore_replica_restore(a, "big.bin", old_seq, backup, &restored_seq));
  CHECK(restored_seq > old_seq);
  CHECK(file_is(root_a, "big.bin", original, BIG_LEN));
  CHECK_OK(syncore_replica_history(a, "b-only.txt", &history));
  CHECK(syncore_history_len(history) >= 1);
  CHECK_OK(syncore_history_get(history, 0, &version));
  CHECK(version.deleted);
  syncore_history_free(history);

  /* Restore from local files: c.txt's old content still lives in d.txt. */
  write_file(root_a, "c.txt", "content one", 11);
  scan(a, &changed);
  write_file(root_a, "c.txt", "content two", 11);
  write_file(root_a, "d.txt", "content one", 11);
  scan(a, &changed);
  CHECK(changed == 2);
  CHECK_OK(syncore_replica_history(a, "c.txt", &history));
  CHECK_OK(syncore_history_get(history, 1, &version));
  CHECK_OK(syncore_replica_restore(a, "c.txt", version.seq, NULL, NULL));
  CHECK(file_is(root_a, "c.txt", (const uint8_t *)"content one", 11));
  syncore_history_free(history);

  /* Usage and gc. */
  CHECK_OK(syncore_replica_usage(a, &usage));
  CHECK(usage.live_files == 5);
  CHECK(usage.live_bytes >= BIG_LEN + 2 * NOTES_LEN);
  CHECK(usage.logical_bytes >= usage.live_bytes && usage.unique_chunk_bytes > 0);
  CHECK(usage.dedup_ratio >= 1.0);
  CHECK_OK(syncore_replica_gc(a, backup, &gc, &unreferenced));
  CHECK(syncore_digest_list_len(unreferenced) == gc.unreferenced_chunks);
  CHECK(gc.deleted_from_store <= gc.unreferenced_chunks);
  syncore_digest_list_free(unreferenced);
  CHECK_OK(syncore_replica_gc(a, NULL, NULL, NULL));

  /* Temp files a crashed apply left behind are removed. */
  CHECK_OK(syncore_replica_remove_stale_temp_files(a, &removed));
  CHECK(removed == 0);
  write_file(root_a, "docs/.syncore-tmp-crashed", "partial", 7);
  CHECK_OK(syncore_replica_remove_stale_temp_files(a, &removed));
  CHECK(removed == 1 && !exists(root_a, "docs/.syncore-tmp-crashed"));

  test_bad_input(a, b, root_a);
  test_hub(a, root_a, root_c, hub_dir, original);

  syncore_replica_free(b);
  syncore_replica_free(a);
  /* Closed: the same root opens again, with the same id. */
  a = open_replica(root_a);
  CHECK_OK(syncore_replica_id(a, id_b));
  CHECK(memcmp(id_a, id_b, sizeof id_a) == 0);
  syncore_replica_free(a);

  syncore_store_free(backup);
  remove_tree(root_a);
  remove_tree(root_b);
  remove_tree(root_c);
  remove_tree(hub_dir);
  free(notes);
  free(original);
  free(big);
  CHECK_DONE();
}
