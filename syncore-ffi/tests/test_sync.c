/* A full two-replica sync driven from C: local changes recorded, change sets shipped as bytes,
 * plans walked, missing chunks fetched through a hub store, plans applied to real directories,
 * convergence, an edit that moves only a few chunks, and a concurrent-edit conflict. */
#define _XOPEN_SOURCE 700

#include "files.h"

static syncore_chunker *chunker;
static syncore_store *hub;

static int put_chunk(void *userdata, const syncore_chunk *chunk, const uint8_t *bytes, size_t len) {
  (void)userdata;
  return syncore_store_put(hub, &chunk->id, bytes, len, NULL) == SYNCORE_STATUS_OK ? 0 : 1;
}

/* What a scan does for one file the user changed: chunk it (uploading its chunks to the hub),
 * record the new manifest, remember its disk state. */
static void record_local(syncore_memory_replica *r, const char *root, const char *rel, int64_t mtime) {
  char path[512];
  syncore_manifest *m = NULL;
  path_of(path, sizeof path, root, rel);
  CHECK_OK(syncore_chunker_chunk_file_with(chunker, path, put_chunk, NULL, NULL));
  CHECK_OK(syncore_manifest_of_file(chunker, path, &m));
  CHECK_OK(syncore_memory_replica_write(r, rel, m, mtime, false));
  CHECK_OK(syncore_memory_replica_observe(r, root, rel));
  syncore_manifest_free(m);
}

/* Ships `from`'s changes since 0 as bytes, plans them on `to`, checks the hub has every
 * missing chunk, applies. Returns the plan's summary. */
static syncore_plan_summary sync_once(syncore_memory_replica *from, syncore_memory_replica *to, const char *to_root,
                                      size_t *out_actions) {
  syncore_changeset *sent = NULL, *received = NULL;
  syncore_bytes *wire = NULL;
  syncore_plan *plan = NULL;
  syncore_digest_list *missing = NULL, *absent = NULL;
  syncore_plan_summary summary;
  syncore_apply_report report;
  syncore_sync_options options;

  memset(&summary, 0, sizeof summary);
  CHECK_OK(syncore_memory_replica_changes_since(from, 0, &sent));
  CHECK_OK(syncore_changeset_encode_bytes(sent, &wire));
  CHECK_OK(syncore_changeset_decode(syncore_bytes_data(wire), syncore_bytes_len(wire), &received));
  CHECK(syncore_changeset_len(received) == syncore_changeset_len(sent));
  CHECK_OK(syncore_sync_options_default(&options));
  CHECK(options.policy == SYNCORE_CONFLICT_POLICY_KEEP_BOTH && options.direction == SYNCORE_DIRECTION_TWO_WAY);
  CHECK_OK(syncore_memory_replica_plan(to, received, &options, &plan));
  CHECK_OK(syncore_plan_summary_get(plan, &summary));
  *out_actions = check_plan(plan, &summary, &missing);
  /* The application would fetch these from the peer; here the hub already has them all. */
  CHECK_OK(syncore_store_missing(hub, syncore_digest_list_data(missing), syncore_digest_list_len(missing), &absent));
  CHECK(syncore_digest_list_len(absent) == 0);
  memset(&report, 0xFF, sizeof report);
  CHECK_OK(syncore_memory_replica_apply(to, to_root, plan, hub, SYNCORE_DURABILITY_NONE, &report));
  CHECK(report.failed == 0 && report.conflicts == 0);
  CHECK(report.files_written == summary.files_written);

  syncore_digest_list_free(absent);
  syncore_digest_list_free(missing);
  syncore_plan_free(plan);
  syncore_changeset_free(received);
  syncore_bytes_free(wire);
  syncore_changeset_free(sent);
  return summary;
}

int main(void) {
  char root_a[] = "/tmp/syncore-a-XXXXXX", root_b[] = "/tmp/syncore-b-XXXXXX";
  char docs[600];
  syncore_memory_replica *a = NULL, *b = NULL;
  syncore_plan_summary s;
  syncore_chunker_config config;
  uint8_t *big = (uint8_t *)malloc(1 << 20), *small = (uint8_t *)malloc(200000);
  uint8_t id_a[SYNCORE_REPLICA_ID_LEN], id_b[SYNCORE_REPLICA_ID_LEN];
  size_t actions = 0;

  CHECK(mkdtemp(root_a) != NULL && mkdtemp(root_b) != NULL);
  snprintf(docs, sizeof docs, "%s/docs", root_a);
  CHECK(mkdir(docs, 0755) == 0);
  syncore_chunker_config_default(&config);
  config.min_size = 4096;
  config.avg_size = 16384;
  config.max_size = 65536;
  CHECK_OK(syncore_chunker_new(&config, &chunker));
  CHECK_OK(syncore_store_new_mem(SYNCORE_HASH_ALGO_BLAKE3, &hub));
  CHECK_OK(syncore_memory_replica_new(&a));
  CHECK_OK(syncore_memory_replica_new(&b));
  CHECK_OK(syncore_memory_replica_id(a, id_a));
  CHECK_OK(syncore_memory_replica_id(b, id_b));
  CHECK(memcmp(id_a, id_b, sizeof id_a) != 0);

  /* A has two files; B has nothing. */
  fill_seeded(big, 1 << 20, 1);
  fill_seeded(small, 200000, 2);
  write_file(root_a, "docs/notes.txt", small, 200000);
  write_file(root_a, "big.bin", big, 1 << 20);
  record_local(a, root_a, "docs/notes.txt", 1000000000);
  record_local(a, root_a, "big.bin", 1000000000);

  s = sync_once(a, b, root_b, &actions);
  CHECK(s.files_written == 2 && s.bytes_written == 200000 + (1 << 20));
  CHECK(s.conflicts == 0 && s.deleted == 0);
  CHECK(s.missing_chunks > 10);
  CHECK(same_file(root_a, root_b, "docs/notes.txt") && same_file(root_a, root_b, "big.bin"));
  CHECK(syncore_memory_replica_live_len(b) == 2);

  /* Converged: nothing to do either way but index bookkeeping. */
  s = sync_once(a, b, root_b, &actions);
  CHECK(actions == 0);
  s = sync_once(b, a, root_a, &actions);
  CHECK(s.files_written == 0 && s.deleted == 0 && s.conflicts == 0);

  /* B edits the middle of big.bin: A fetches only the chunks around the edit. */
  memcpy(big + 500000, "an edit in the middle", 21);
  write_file(root_b, "big.bin", big, 1 << 20);
  record_local(b, root_b, "big.bin", 2000000000);
  s = sync_once(b, a, root_a, &actions);
  CHECK(s.files_written == 1 && s.conflicts == 0);
  CHECK(s.missing_chunks >= 1 && s.missing_chunks <= 3);
  CHECK(s.missing_bytes < 200000);
  CHECK(same_file(root_a, root_b, "big.bin"));

  /* Both edit notes.txt concurrently: one conflict, resolved by keeping both. */
  small[0] ^= 1;
  write_file(root_a, "docs/notes.txt", small, 200000);
  record_local(a, root_a, "docs/notes.txt", 3000000000);
  small[1] ^= 1;
  write_file(root_b, "docs/notes.txt", small, 200000);
  record_local(b, root_b, "docs/notes.txt", 3000000001);
  s = sync_once(b, a, root_a, &actions);
  CHECK(s.conflicts == 1);
  CHECK(same_file(root_a, root_b, "docs/notes.txt")); /* the newer edit (B's) won */

  /* Bad input. */
  {
    syncore_changeset *cs = NULL;
    syncore_sync_options options;
    syncore_plan *plan = NULL;
    syncore_apply_report report;
    CHECK_STATUS(syncore_changeset_decode((const uint8_t *)"garbage!", 8, &cs), SYNCORE_STATUS_CORRUPT);
    CHECK(cs == NULL);
    CHECK_OK(syncore_memory_replica_changes_since(a, 0, &cs));
    syncore_sync_options_default(&options);
    options.policy = 9;
    CHECK_STATUS(syncore_memory_replica_plan(b, cs, &options, &plan), SYNCORE_STATUS_INVALID_INPUT);
    CHECK_MESSAGE("policy");
    CHECK_STATUS(syncore_memory_replica_plan(b, NULL, NULL, &plan), SYNCORE_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(syncore_memory_replica_write(b, "../outside", NULL, 0, false), SYNCORE_STATUS_INVALID_INPUT);
    CHECK_STATUS(syncore_memory_replica_delete(b, "no/such/file", 0), SYNCORE_STATUS_NOT_FOUND);
    CHECK_OK(syncore_memory_replica_plan(b, cs, NULL, &plan));
    CHECK_STATUS(syncore_memory_replica_apply(b, root_b, plan, hub, 7, &report), SYNCORE_STATUS_INVALID_INPUT);
    CHECK(plan != NULL);
    syncore_plan_free(plan);
    syncore_changeset_free(cs);
  }

  syncore_memory_replica_free(b);
  syncore_memory_replica_free(a);
  syncore_store_free(hub);
  syncore_chunker_free(chunker);
  remove_tree(root_a);
  remove_tree(root_b);
  free(small);
  free(big);
  CHECK_DONE();
}
