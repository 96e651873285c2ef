/* Bad input through the C API: NULL pointers, invalid UTF-8, invalid parameters, missing
 * files. Every call returns the documented status, leaves out-parameters untouched and never
 * crashes; destructors accept NULL. */
#include <stdlib.h>

#include "check.h"

static const char bad_utf8[] = {'a', '/', (char)0xC3, (char)0x28, 0};
static const char missing_path[] = "/nonexistent/syncore/file";

static void test_nulls(void) {
  syncore_chunker *chunker = NULL;
  syncore_manifest *manifest = NULL;
  syncore_store *store = NULL;
  syncore_chunk_list *list = (syncore_chunk_list *)&list; /* a sentinel */
  syncore_chunk_list *const sentinel = list;
  syncore_digest digest, ids[1];
  size_t len = 777;
  bool flag = false;
  char hex[SYNCORE_DIGEST_HEX_SIZE];

  CHECK_OK(syncore_chunker_new(NULL, &chunker));
  CHECK_OK(syncore_store_new_mem(SYNCORE_HASH_ALGO_BLAKE3, &store));
  CHECK_OK(syncore_manifest_of_buffer(chunker, (const uint8_t *)"x", 1, &manifest));
  memset(&digest, 0, sizeof digest);
  ids[0] = digest;

  CHECK_STATUS(syncore_chunker_new(NULL, NULL), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_MESSAGE("out");
  CHECK_STATUS(syncore_chunker_chunk_buffer(NULL, (const uint8_t *)"x", 1, &list), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_MESSAGE("chunker");
  CHECK_STATUS(syncore_chunker_chunk_buffer(chunker, NULL, 10, &list), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_MESSAGE("data");
  CHECK(list == sentinel);
  CHECK_STATUS(syncore_chunker_chunk_file(chunker, NULL, &list), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_chunker_chunk_file_with(chunker, "Cargo.toml", NULL, NULL, NULL), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_MESSAGE("on_chunk");
  CHECK_STATUS(syncore_chunk_stream_new(NULL, NULL), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_chunk_stream_push(NULL, NULL, 0, NULL, NULL), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_chunk_stream_finish(NULL, NULL, NULL, NULL), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_hash(SYNCORE_HASH_ALGO_BLAKE3, NULL, 1, &digest), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_hash(SYNCORE_HASH_ALGO_BLAKE3, (const uint8_t *)"x", 1, NULL), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_digest_to_hex(NULL, hex, sizeof hex), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_digest_to_hex(&digest, NULL, sizeof hex), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_digest_from_hex(NULL, &digest), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_hasher_update(NULL, NULL, 0), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_hasher_finalize(NULL, &digest), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_manifest_encode(manifest, NULL, 0, NULL), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_manifest_encode(NULL, NULL, 0, &len), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK(len == 777);
  CHECK_STATUS(syncore_manifest_decode(NULL, 5, &manifest), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_manifest_diff(manifest, NULL, NULL), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_manifest_content_id(NULL, &digest), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_manifest_from_chunks(SYNCORE_HASH_ALGO_BLAKE3, NULL, 3, &manifest), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_store_has(NULL, &digest, &flag), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_store_has(store, NULL, &flag), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_store_has(store, &digest, NULL), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_store_put(store, &digest, NULL, 4, NULL), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_store_get_into(store, &digest, NULL, 0, NULL), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_store_missing(store, NULL, 1, NULL), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_store_missing(store, ids, 1, NULL), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_store_new_replicated(NULL, 2, 0, &store), SYNCORE_STATUS_NULL_ARGUMENT);
  {
    const syncore_store *backends[2] = {store, NULL};
    syncore_store *r = NULL;
    CHECK_STATUS(syncore_store_new_replicated(backends, 2, 0, &r), SYNCORE_STATUS_NULL_ARGUMENT);
    CHECK(r == NULL);
    CHECK_STATUS(syncore_store_new_replicated(backends, 0, 0, &r), SYNCORE_STATUS_INVALID_INPUT);
    CHECK_STATUS(syncore_store_new_replicated(backends, 1, 2, &r), SYNCORE_STATUS_INVALID_INPUT);
    CHECK_MESSAGE("replication_factor");
  }
  CHECK_STATUS(syncore_store_new_callbacks(SYNCORE_HASH_ALGO_BLAKE3, NULL, &store), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_chunk_sink_write(NULL, NULL, 0), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_id_sink_push(NULL, &digest), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_coalescer_new(NULL, NULL), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_coalescer_push(NULL, NULL), SYNCORE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(syncore_chunker_config_default(NULL), SYNCORE_STATUS_NULL_ARGUMENT);

  /* Getters and destructors accept NULL. */
  CHECK(syncore_chunk_list_len(NULL) == 0 && syncore_chunk_list_data(NULL) == NULL);
  CHECK(syncore_digest_list_len(NULL) == 0 && syncore_digest_list_data(NULL) == NULL);
  CHECK(syncore_bytes_len(NULL) == 0 && syncore_bytes_data(NULL) == NULL);
  CHECK(syncore_manifest_size(NULL) == 0 && syncore_manifest_chunk_count(NULL) == 0);
  CHECK(syncore_store_algo(NULL) == 0 && syncore_coalescer_pending_len(NULL) == 0);
  syncore_chunker_free(NULL);
  syncore_chunk_list_free(NULL);
  syncore_chunk_stream_free(NULL);
  syncore_digest_list_free(NULL);
  syncore_bytes_free(NULL);
  syncore_hasher_free(NULL);
  syncore_manifest_free(NULL);
  syncore_store_free(NULL);
  syncore_coalescer_free(NULL);
  syncore_change_list_free(NULL);

  syncore_manifest_free(manifest);
  syncore_store_free(store);
  syncore_chunker_free(chunker);
}

static void test_strings_and_parameters(void) {
  syncore_chunker *chunker = NULL;
  syncore_chunker_config config;
  syncore_chunk_list *list = NULL;
  syncore_manifest *manifest = NULL;
  syncore_store *store = NULL;
  syncore_digest digest;
  char hex[SYNCORE_DIGEST_HEX_SIZE];

  CHECK_OK(syncore_chunker_new(NULL, &chunker));
  /* Invalid UTF-8 paths. */
  CHECK_STATUS(syncore_chunker_chunk_file(chunker, bad_utf8, &list), SYNCORE_STATUS_INVALID_UTF8);
  CHECK_MESSAGE("path");
  CHECK_STATUS(syncore_manifest_of_file(chunker, bad_utf8, &manifest), SYNCORE_STATUS_INVALID_UTF8);
  CHECK_STATUS(syncore_store_open_fs(bad_utf8, SYNCORE_HASH_ALGO_BLAKE3, &store), SYNCORE_STATUS_INVALID_UTF8);
  CHECK_STATUS(syncore_digest_from_hex(bad_utf8, &digest), SYNCORE_STATUS_INVALID_UTF8);
  /* Missing files are I/O errors naming the path. */
  CHECK_STATUS(syncore_chunker_chunk_file(chunker, missing_path, &list), SYNCORE_STATUS_IO);
  CHECK_MESSAGE(missing_path);
  CHECK_STATUS(syncore_manifest_of_file(chunker, missing_path, &manifest), SYNCORE_STATUS_IO);
  CHECK(list == NULL && manifest == NULL);
  /* Hex. */
  CHECK_STATUS(syncore_digest_from_hex("abc", &digest), SYNCORE_STATUS_INVALID_INPUT);
  CHECK_STATUS(syncore_digest_from_hex("zz49b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262", &digest),
               SYNCORE_STATUS_INVALID_INPUT);
  memset(&digest, 0, sizeof digest);
  CHECK_STATUS(syncore_digest_to_hex(&digest, hex, 64), SYNCORE_STATUS_BUFFER_TOO_SMALL);
  CHECK_MESSAGE("65");
  /* Algorithms and chunker parameters. */
  CHECK_STATUS(syncore_hash(0, NULL, 0, &digest), SYNCORE_STATUS_INVALID_INPUT);
  CHECK_STATUS(syncore_store_new_mem(3, &store), SYNCORE_STATUS_INVALID_INPUT);
  CHECK_MESSAGE("syncore_hash_algo");
  syncore_chunker_config_default(&config);
  config.min_size = 100000;
  config.avg_size = 50000;
  {
    syncore_chunker *c2 = NULL;
    CHECK_STATUS(syncore_chunker_new(&config, &c2), SYNCORE_STATUS_INVALID_INPUT);
    CHECK_MESSAGE("min_size");
    syncore_chunker_config_default(&config);
    config.kind = 9;
    CHECK_STATUS(syncore_chunker_new(&config, &c2), SYNCORE_STATUS_INVALID_INPUT);
    syncore_chunker_config_default(&config);
    config.kind = SYNCORE_CHUNKING_FIXED;
    config.fixed_size = 0;
    CHECK_STATUS(syncore_chunker_new(&config, &c2), SYNCORE_STATUS_INVALID_INPUT);
    CHECK(c2 == NULL);
  }
  /* An error message stays until the next failure; successes leave it alone. */
  CHECK_OK(syncore_hash(SYNCORE_HASH_ALGO_BLAKE3, NULL, 0, &digest));
  CHECK_MESSAGE("size");
  syncore_chunker_free(chunker);
}

int main(void) {
  test_nulls();
  test_strings_and_parameters();
  CHECK_DONE();
}
