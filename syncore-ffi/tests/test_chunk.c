/* Chunking through the C API: buffers, files, the push stream; digests and hex; versions. */
#define _XOPEN_SOURCE 700
#include <stdlib.h>
#include <unistd.h>

#include "check.h"

#define DATA_LEN (3u << 20)

struct collected {
  syncore_chunk chunks[1024];
  size_t count;
  uint64_t bytes;
  int bad_bytes;
  int stop_after; /* 0: never */
};

/* Compares chunk arrays field by field (the struct has tail padding). */
static int same_chunks(const syncore_chunk *a, const syncore_chunk *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (a[i].offset != b[i].offset || a[i].len != b[i].len ||
        memcmp(a[i].id.bytes, b[i].id.bytes, SYNCORE_DIGEST_LEN) != 0)
      return 0;
  }
  return 1;
}

static int collect(void *userdata, const syncore_chunk *chunk, const uint8_t *bytes, size_t len) {
  struct collected *c = (struct collected *)userdata;
  syncore_digest id;
  if (c->count >= 1024) return 1;
  if (len != chunk->len) c->bad_bytes++;
  if (syncore_hash(SYNCORE_HASH_ALGO_BLAKE3, bytes, len, &id) != SYNCORE_STATUS_OK ||
      memcmp(id.bytes, chunk->id.bytes, SYNCORE_DIGEST_LEN) != 0)
    c->bad_bytes++;
  c->chunks[c->count++] = *chunk;
  c->bytes += len;
  return (c->stop_after != 0 && (int)c->count >= c->stop_after) ? 7 : 0;
}

static void test_version(void) {
  char want[32];
  snprintf(want, sizeof want, "%d.%d.%d", SYNCORE_VERSION_MAJOR, SYNCORE_VERSION_MINOR,
           SYNCORE_VERSION_PATCH);
  CHECK(strcmp(syncore_version(), want) == 0);
  CHECK(strcmp(syncore_status_name(SYNCORE_STATUS_CORRUPT), "corrupt") == 0);
  CHECK(strcmp(syncore_status_name(SYNCORE_STATUS_BUFFER_TOO_SMALL), "buffer_too_small") == 0);
  CHECK(syncore_status_name(99) == NULL);
  CHECK(strcmp(syncore_hash_algo_name(SYNCORE_HASH_ALGO_SHA256), "sha256") == 0);
  CHECK(syncore_hash_algo_name(0) == NULL);
}

static void test_digests(void) {
  syncore_digest d, back, inc;
  char hex[SYNCORE_DIGEST_HEX_SIZE];
  syncore_hasher *h = NULL;
  /* BLAKE3 and SHA-256 of the empty input. */
  CHECK_OK(syncore_hash(SYNCORE_HASH_ALGO_BLAKE3, NULL, 0, &d));
  CHECK_OK(syncore_digest_to_hex(&d, hex, sizeof hex));
  CHECK(strcmp(hex, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262") == 0);
  CHECK_OK(syncore_hash(SYNCORE_HASH_ALGO_SHA256, NULL, 0, &d));
  CHECK_OK(syncore_digest_to_hex(&d, hex, sizeof hex));
  CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
  CHECK_OK(syncore_digest_from_hex("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", &back));
  CHECK(memcmp(&d, &back, sizeof d) == 0);
  /* Incremental hashing equals one-shot. */
  CHECK_OK(syncore_hash(SYNCORE_HASH_ALGO_BLAKE3, (const uint8_t *)"hello world", 11, &d));
  CHECK_OK(syncore_hasher_new(SYNCORE_HASH_ALGO_BLAKE3, &h));
  CHECK_OK(syncore_hasher_update(h, (const uint8_t *)"hello ", 6));
  CHECK_OK(syncore_hasher_update(h, (const uint8_t *)"world", 5));
  CHECK_OK(syncore_hasher_finalize(h, &inc));
  CHECK(memcmp(&d, &inc, sizeof d) == 0);
  syncore_hasher_free(h);
}

static void test_buffer_stream_file(const uint8_t *data) {
  syncore_chunker_config config;
  syncore_chunker *chunker = NULL;
  syncore_chunk_list *list = NULL, *from_file = NULL;
  syncore_chunk_stream *stream = NULL;
  struct collected *streamed = calloc(1, sizeof *streamed);
  uint64_t total = 0, expect = 0;
  size_t n, i, pos;
  char path[] = "/tmp/syncore-chunk-XXXXXX";
  int fd;

  CHECK_OK(syncore_chunker_config_default(&config));
  CHECK(config.kind == SYNCORE_CHUNKING_FASTCDC && config.avg_size == 65536);
  config.min_size = 4096;
  config.avg_size = 16384;
  config.max_size = 65536;
  config.threads = 2;
  CHECK_OK(syncore_chunker_new(&config, &chunker));

  CHECK_OK(syncore_chunker_chunk_buffer(chunker, data, DATA_LEN, &list));
  n = syncore_chunk_list_len(list);
  CHECK(n > 20 && n < 1024);
  for (i = 0; i < n; i++) {
    const syncore_chunk *c = &syncore_chunk_list_data(list)[i];
    syncore_digest id;
    CHECK(c->offset == expect);
    CHECK(c->len >= 1 && c->len <= 65536);
    CHECK_OK(syncore_hash(SYNCORE_HASH_ALGO_BLAKE3, data + c->offset, c->len, &id));
    CHECK(memcmp(&id, &c->id, sizeof id) == 0);
    expect += c->len;
  }
  CHECK(expect == DATA_LEN);

  /* The push stream, fed in odd-sized pieces, yields the same chunks with their bytes. */
  CHECK_OK(syncore_chunk_stream_new(chunker, &stream));
  for (pos = 0; pos < DATA_LEN; pos += 99991) {
    size_t take = DATA_LEN - pos < 99991 ? DATA_LEN - pos : 99991;
    CHECK_OK(syncore_chunk_stream_push(stream, data + pos, take, collect, streamed));
  }
  CHECK_OK(syncore_chunk_stream_finish(stream, collect, streamed, &total));
  CHECK(total == DATA_LEN);
  CHECK(streamed->count == n && streamed->bad_bytes == 0 && streamed->bytes == DATA_LEN);
  CHECK(same_chunks(streamed->chunks, syncore_chunk_list_data(list), n));
  CHECK_STATUS(syncore_chunk_stream_push(stream, data, 1, collect, streamed), SYNCORE_STATUS_INVALID_INPUT);
  CHECK_MESSAGE("finished");
  syncore_chunk_stream_free(stream);

  /* A file gives the same chunks; a callback can stop the walk. */
  fd = mkstemp(path);
  CHECK(fd >= 0);
  CHECK(write(fd, data, DATA_LEN) == (ssize_t)DATA_LEN);
  close(fd);
  CHECK_OK(syncore_chunker_chunk_file(chunker, path, &from_file));
  CHECK(syncore_chunk_list_len(from_file) == n);
  CHECK(same_chunks(syncore_chunk_list_data(from_file), syncore_chunk_list_data(list), n));
  memset(streamed, 0, sizeof *streamed);
  streamed->stop_after = 3;
  total = 12345;
  CHECK_STATUS(syncore_chunker_chunk_file_with(chunker, path, collect, streamed, &total), SYNCORE_STATUS_ABORTED);
  CHECK(streamed->count == 3 && total == 12345);
  CHECK_MESSAGE("returned 7");
  memset(streamed, 0, sizeof *streamed);
  CHECK_OK(syncore_chunker_chunk_file_with(chunker, path, collect, streamed, &total));
  CHECK(total == DATA_LEN && streamed->count == n);
  unlink(path);

  syncore_chunk_list_free(from_file);
  syncore_chunk_list_free(list);
  syncore_chunker_free(chunker);
  free(streamed);
}

static void test_fixed(const uint8_t *data) {
  syncore_chunker_config config;
  syncore_chunker *chunker = NULL;
  syncore_chunk_list *list = NULL;
  CHECK_OK(syncore_chunker_config_default(&config));
  config.kind = SYNCORE_CHUNKING_FIXED;
  config.fixed_size = 1000;
  config.algo = SYNCORE_HASH_ALGO_SHA256;
  CHECK_OK(syncore_chunker_new(&config, &chunker));
  CHECK_OK(syncore_chunker_chunk_buffer(chunker, data, 2500, &list));
  CHECK(syncore_chunk_list_len(list) == 3);
  CHECK(syncore_chunk_list_data(list)[2].offset == 2000 && syncore_chunk_list_data(list)[2].len == 500);
  syncore_chunk_list_free(list);
  list = NULL;
  CHECK_OK(syncore_chunker_chunk_buffer(chunker, NULL, 0, &list));
  CHECK(syncore_chunk_list_len(list) == 0 && syncore_chunk_list_data(list) == NULL);
  syncore_chunk_list_free(list);
  syncore_chunker_free(chunker);
}

int main(void) {
  uint8_t *data = malloc(DATA_LEN);
  fill_seeded(data, DATA_LEN, 42);
  test_version();
  test_digests();
  test_buffer_stream_file(data);
  test_fixed(data);
  free(data);
  CHECK_DONE();
}
