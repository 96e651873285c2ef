/* Chunk stores through the C API: memory, directory, replicated with scrub, and a store
 * implemented here in C (a hash table) through the callback table. */
#define _XOPEN_SOURCE 700
#include <unistd.h>

#include "files.h"

/* ---- A chunk store in C: a chained hash table keyed by chunk id. ---- */

struct entry {
  syncore_digest id;
  uint8_t *data;
  size_t len;
  struct entry *next;
};

struct table {
  struct entry *buckets[64];
  int lie;       /* when set, get returns the wrong bytes */
  int fail_with; /* when non-zero, every callback returns this status */
};

static int destroy_calls;

static struct entry **slot(struct table *t, const syncore_digest *id) {
  struct entry **e = &t->buckets[id->bytes[0] % 64];
  while (*e != NULL && memcmp(&(*e)->id, id, sizeof *id) != 0) e = &(*e)->next;
  return e;
}

static int t_has(void *ud, const syncore_digest *id, bool *out_has) {
  struct table *t = (struct table *)ud;
  if (t->fail_with) return t->fail_with;
  *out_has = *slot(t, id) != NULL;
  return SYNCORE_STATUS_OK;
}

static int t_get(void *ud, const syncore_digest *id, syncore_chunk_sink *sink) {
  struct table *t = (struct table *)ud;
  struct entry *e;
  if (t->fail_with) return t->fail_with;
  e = *slot(t, id);
  if (e == NULL) return SYNCORE_STATUS_NOT_FOUND;
  if (t->lie) return (int)syncore_chunk_sink_write(sink, (const uint8_t *)"lies", 4);
  /* Hand the bytes over in two pieces; the library copies them. */
  if (syncore_chunk_sink_write(sink, e->data, e->len / 2) != SYNCORE_STATUS_OK) return SYNCORE_STATUS_IO;
  return (int)syncore_chunk_sink_write(sink, e->data + e->len / 2, e->len - e->len / 2);
}

static int t_put(void *ud, const syncore_digest *id, const uint8_t *data, size_t len, bool *out_inserted) {
  struct table *t = (struct table *)ud;
  struct entry **s, *e;
  if (t->fail_with) return t->fail_with;
  s = slot(t, id);
  if (*s != NULL) {
    *out_inserted = false;
    return SYNCORE_STATUS_OK;
  }
  e = (struct entry *)calloc(1, sizeof *e);
  e->id = *id;
  e->data = (uint8_t *)malloc(len ? len : 1);
  memcpy(e->data, data, len);
  e->len = len;
  *s = e;
  *out_inserted = true;
  return SYNCORE_STATUS_OK;
}

static int t_remove(void *ud, const syncore_digest *id, bool *out_removed) {
  struct table *t = (struct table *)ud;
  struct entry **s, *e;
  if (t->fail_with) return t->fail_with;
  s = slot(t, id);
  e = *s;
  *out_removed = e != NULL;
  if (e != NULL) {
    *s = e->next;
    free(e->data);
    free(e);
  }
  return SYNCORE_STATUS_OK;
}

static int t_ids(void *ud, syncore_id_sink *sink) {
  struct table *t = (struct table *)ud;
  if (t->fail_with) return t->fail_with;
  for (int b = 0; b < 64; b++)
    for (struct entry *e = t->buckets[b]; e != NULL; e = e->next)
      if (syncore_id_sink_push(sink, &e->id) != SYNCORE_STATUS_OK) return SYNCORE_STATUS_IO;
  return SYNCORE_STATUS_OK;
}

static int t_stats(void *ud, syncore_store_stats *out) {
  struct table *t = (struct table *)ud;
  if (t->fail_with) return t->fail_with;
  out->chunks = 0;
  out->bytes = 0;
  for (int b = 0; b < 64; b++)
    for (struct entry *e = t->buckets[b]; e != NULL; e = e->next) {
      out->chunks++;
      out->bytes += e->len;
    }
  return SYNCORE_STATUS_OK;
}

static void t_destroy(void *ud) {
  struct table *t = (struct table *)ud;
  bool removed;
  for (int b = 0; b < 64; b++)
    while (t->buckets[b] != NULL) t_remove(t, &t->buckets[b]->id, &removed);
  free(t);
  destroy_calls++;
}

static syncore_store *new_table_store(struct table **out_table) {
  syncore_store_callbacks cb;
  syncore_store *store = NULL;
  struct table *t = (struct table *)calloc(1, sizeof *t);
  memset(&cb, 0, sizeof cb);
  cb.userdata = t;
  cb.has = t_has;
  cb.get = t_get;
  cb.put = t_put;
  cb.remove = t_remove;
  cb.ids = t_ids;
  cb.stats = t_stats;
  cb.destroy = t_destroy;
  CHECK_OK(syncore_store_new_callbacks(SYNCORE_HASH_ALGO_BLAKE3, &cb, &store));
  if (out_table) *out_table = t;
  return store;
}

/* ---- The store contract, for any store. ---- */

static void check_contract(syncore_store *store) {
  const uint8_t alpha[] = "alpha", beta[] = "beta";
  syncore_digest a, b, ids[3];
  syncore_bytes *got = NULL;
  syncore_digest_list *missing = NULL, *all = NULL;
  syncore_store_stats stats = {99, 99};
  uint8_t small[2], exact[5];
  size_t len = 0;
  bool flag = false;

  CHECK_OK(syncore_hash(syncore_store_algo(store), alpha, 5, &a));
  CHECK_OK(syncore_hash(syncore_store_algo(store), beta, 4, &b));
  CHECK_OK(syncore_store_put(store, &a, alpha, 5, &flag));
  CHECK(flag);
  CHECK_OK(syncore_store_put(store, &a, alpha, 5, &flag));
  CHECK(!flag);
  CHECK_STATUS(syncore_store_put(store, &b, alpha, 5, NULL), SYNCORE_STATUS_INVALID_INPUT);
  CHECK_MESSAGE("hashes to");
  CHECK_OK(syncore_store_has(store, &a, &flag));
  CHECK(flag);
  CHECK_OK(syncore_store_get(store, &a, &got));
  CHECK(syncore_bytes_len(got) == 5 && memcmp(syncore_bytes_data(got), alpha, 5) == 0);
  CHECK_STATUS(syncore_store_get(store, &b, &got), SYNCORE_STATUS_NOT_FOUND);
  CHECK_STATUS(syncore_store_get_into(store, &a, small, sizeof small, &len), SYNCORE_STATUS_BUFFER_TOO_SMALL);
  CHECK(len == 5);
  CHECK_OK(syncore_store_get_into(store, &a, exact, sizeof exact, &len));
  CHECK(len == 5 && memcmp(exact, alpha, 5) == 0);
  ids[0] = b;
  ids[1] = a;
  ids[2] = b;
  CHECK_OK(syncore_store_missing(store, ids, 3, &missing));
  CHECK(syncore_digest_list_len(missing) == 1 &&
        memcmp(syncore_digest_list_data(missing), &b, sizeof b) == 0);
  CHECK_OK(syncore_store_put_data(store, beta, 4, &ids[0]));
  CHECK(memcmp(&ids[0], &b, sizeof b) == 0);
  CHECK_OK(syncore_store_ids(store, &all));
  CHECK(syncore_digest_list_len(all) == 2);
  CHECK_OK(syncore_store_stats_get(store, &stats));
  CHECK(stats.chunks == 2 && stats.bytes == 9);
  CHECK_OK(syncore_store_delete(store, &a, &flag));
  CHECK(flag);
  CHECK_OK(syncore_store_delete(store, &a, &flag));
  CHECK(!flag);
  CHECK_OK(syncore_store_delete(store, &b, NULL));
  syncore_digest_list_free(all);
  syncore_digest_list_free(missing);
  syncore_bytes_free(got);
}

static void test_basic_stores(void) {
  syncore_store *mem = NULL, *fs = NULL, *sha = NULL;
  char dir[] = "/tmp/syncore-store-XXXXXX";
  CHECK_OK(syncore_store_new_mem(SYNCORE_HASH_ALGO_BLAKE3, &mem));
  check_contract(mem);
  CHECK_OK(syncore_store_new_mem(SYNCORE_HASH_ALGO_SHA256, &sha));
  CHECK(syncore_store_algo(sha) == SYNCORE_HASH_ALGO_SHA256);
  check_contract(sha);
  CHECK(mkdtemp(dir) != NULL);
  CHECK_OK(syncore_store_open_fs(dir, SYNCORE_HASH_ALGO_BLAKE3, &fs));
  check_contract(fs);
  syncore_store_free(fs);
  remove_tree(dir);
  syncore_store_free(sha);
  syncore_store_free(mem);
}

static void test_callback_store(void) {
  struct table *t = NULL;
  syncore_store *store = new_table_store(&t);
  syncore_digest id;
  syncore_bytes *got = NULL;
  bool has = true;
  check_contract(store);

  /* The library verifies what a C store returns. */
  CHECK_OK(syncore_store_put_data(store, (const uint8_t *)"truth", 5, &id));
  t->lie = 1;
  CHECK_STATUS(syncore_store_get(store, &id, &got), SYNCORE_STATUS_CORRUPT);
  CHECK(got == NULL);
  t->lie = 0;
  /* Statuses returned by callbacks come back as the same status. */
  t->fail_with = SYNCORE_STATUS_BUSY;
  CHECK_STATUS(syncore_store_has(store, &id, &has), SYNCORE_STATUS_BUSY);
  CHECK(has == true);
  CHECK_MESSAGE("has");
  t->fail_with = 12345;
  CHECK_STATUS(syncore_store_get(store, &id, &got), SYNCORE_STATUS_IO);
  t->fail_with = 0;
  CHECK_OK(syncore_store_get(store, &id, &got));
  syncore_bytes_free(got);

  CHECK(destroy_calls == 0);
  syncore_store_free(store);
  CHECK(destroy_calls == 1);
}

static void test_callback_table_checks(void) {
  syncore_store_callbacks cb;
  syncore_store *store = NULL;
  memset(&cb, 0, sizeof cb);
  cb.has = t_has;
  cb.destroy = t_destroy;
  CHECK_STATUS(syncore_store_new_callbacks(SYNCORE_HASH_ALGO_BLAKE3, &cb, &store), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_MESSAGE("callbacks->get");
  CHECK(store == NULL && destroy_calls == 1); /* destroy is not called on failure */
  CHECK_STATUS(syncore_store_new_callbacks(9, &cb, &store), SYNCORE_STATUS_INVALID_INPUT);
}

/* A replicated store over two memory stores and the C store; scrub repairs lost copies, and
 * a file's chunks put through it come back out to rebuild the file. */
static void test_replicated(void) {
  syncore_store *backends[3] = {NULL, NULL, NULL}, *replicated = NULL, *mem = NULL;
  syncore_chunker *chunker = NULL;
  syncore_manifest *manifest = NULL;
  syncore_chunk_list *chunks = NULL;
  syncore_digest_list *lost = NULL, *ids = NULL, *missing = NULL;
  uint64_t checked = 0, repaired = 0;
  uint8_t *data = (uint8_t *)malloc(1 << 20), *rebuilt = (uint8_t *)malloc(1 << 20);
  size_t i, n;

  fill_seeded(data, 1 << 20, 99);
  CHECK_OK(syncore_store_new_mem(SYNCORE_HASH_ALGO_BLAKE3, &backends[0]));
  CHECK_OK(syncore_store_new_mem(SYNCORE_HASH_ALGO_BLAKE3, &backends[1]));
  backends[2] = new_table_store(NULL);
  CHECK_OK(syncore_store_new_replicated((const syncore_store *const *)backends, 3, 0, &replicated));
  CHECK_STATUS(syncore_store_scrub(backends[0], &checked, NULL, NULL), SYNCORE_STATUS_INVALID_INPUT);

  {
    syncore_chunker_config config;
    syncore_chunker_config_default(&config);
    config.min_size = 4096;
    config.avg_size = 16384;
    config.max_size = 65536;
    CHECK_OK(syncore_chunker_new(&config, &chunker));
  }
  CHECK_OK(syncore_manifest_of_buffer(chunker, data, 1 << 20, &manifest));
  CHECK_OK(syncore_manifest_chunks(manifest, &chunks));
  n = syncore_chunk_list_len(chunks);
  for (i = 0; i < n; i++) {
    const syncore_chunk *c = &syncore_chunk_list_data(chunks)[i];
    CHECK_OK(syncore_store_put(replicated, &c->id, data + c->offset, c->len, NULL));
  }
  /* Lose every chunk of back end 0, then scrub. */
  CHECK_OK(syncore_store_ids(backends[0], &ids));
  CHECK(syncore_digest_list_len(ids) > 0);
  for (i = 0; i < syncore_digest_list_len(ids); i++)
    CHECK_OK(syncore_store_delete(backends[0], &syncore_digest_list_data(ids)[i], NULL));
  CHECK_OK(syncore_store_scrub(replicated, &checked, &repaired, &lost));
  CHECK(checked > 0 && checked <= n);
  CHECK(repaired == syncore_digest_list_len(ids));
  CHECK(syncore_digest_list_len(lost) == 0);

  /* The back-end handles may go; the replicated store keeps its own references. */
  for (i = 0; i < 3; i++) syncore_store_free(backends[i]);
  CHECK(destroy_calls == 1);

  /* Another replica that has nothing fetches what it misses and rebuilds the file. */
  CHECK_OK(syncore_store_new_mem(SYNCORE_HASH_ALGO_BLAKE3, &mem));
  {
    syncore_digest *want = (syncore_digest *)malloc(n * sizeof *want);
    for (i = 0; i < n; i++) want[i] = syncore_chunk_list_data(chunks)[i].id;
    CHECK_OK(syncore_store_missing(mem, want, n, &missing));
    free(want);
  }
  for (i = 0; i < syncore_digest_list_len(missing); i++) {
    syncore_bytes *b = NULL;
    const syncore_digest *id = &syncore_digest_list_data(missing)[i];
    CHECK_OK(syncore_store_get(replicated, id, &b));
    CHECK_OK(syncore_store_put(mem, id, syncore_bytes_data(b), syncore_bytes_len(b), NULL));
    syncore_bytes_free(b);
  }
  for (i = 0; i < n; i++) {
    const syncore_chunk *c = &syncore_chunk_list_data(chunks)[i];
    size_t len = 0;
    CHECK_OK(syncore_store_get_into(mem, &c->id, rebuilt + c->offset, c->len, &len));
    CHECK(len == c->len);
  }
  CHECK(memcmp(data, rebuilt, 1 << 20) == 0);

  syncore_store_free(mem);
  syncore_digest_list_free(missing);
  syncore_digest_list_free(lost);
  syncore_digest_list_free(ids);
  syncore_chunk_list_free(chunks);
  syncore_manifest_free(manifest);
  syncore_chunker_free(chunker);
  syncore_store_free(replicated);
  CHECK(destroy_calls == 2);
  free(rebuilt);
  free(data);
}

int main(void) {
  test_basic_stores();
  test_callback_store();
  test_callback_table_checks();
  test_replicated();
  CHECK_DONE();
}
