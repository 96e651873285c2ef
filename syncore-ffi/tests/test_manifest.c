/* Manifests through the C API: build, encode into caller and library buffers, decode, diff,
 * and corrupt input. */
#include <stdlib.h>

#include "check.h"

#define LEN (1u << 20)

static syncore_chunker *small_chunker(void) {
  syncore_chunker_config config;
  syncore_chunker *chunker = NULL;
  syncore_chunker_config_default(&config);
  config.min_size = 2048;
  config.avg_size = 8192;
  config.max_size = 32768;
  CHECK_OK(syncore_chunker_new(&config, &chunker));
  return chunker;
}

int main(void) {
  uint8_t *old_data = malloc(LEN), *new_data = malloc(LEN + 64), *buf;
  syncore_chunker *chunker = small_chunker();
  syncore_manifest *old_m = NULL, *new_m = NULL, *decoded = NULL, *rebuilt = NULL, *bad = NULL;
  syncore_chunk_list *chunks = NULL;
  syncore_digest_list *need = NULL, *none = NULL;
  syncore_bytes *bytes = NULL;
  syncore_digest a, b;
  size_t len = 0, needed = 0, i, found;

  fill_seeded(old_data, LEN, 7);
  memcpy(new_data, old_data, LEN / 2);
  memcpy(new_data + LEN / 2, "an insertion disturbs only the chunks around it, nothing else!!", 64);
  memcpy(new_data + LEN / 2 + 64, old_data + LEN / 2, LEN / 2);

  CHECK_OK(syncore_manifest_of_buffer(chunker, old_data, LEN, &old_m));
  CHECK_OK(syncore_manifest_of_buffer(chunker, new_data, LEN + 64, &new_m));
  CHECK(syncore_manifest_size(new_m) == LEN + 64);
  CHECK(syncore_manifest_algo(new_m) == SYNCORE_HASH_ALGO_BLAKE3);
  CHECK(syncore_manifest_chunk_count(old_m) > 50);

  /* Size query, too-small buffer (reports the size, writes nothing), then the real encode. */
  CHECK_STATUS(syncore_manifest_encode(new_m, NULL, 0, &needed), SYNCORE_STATUS_BUFFER_TOO_SMALL);
  CHECK(needed > 0);
  buf = malloc(needed);
  memset(buf, 0xAB, needed);
  len = 0;
  CHECK_STATUS(syncore_manifest_encode(new_m, buf, needed - 1, &len), SYNCORE_STATUS_BUFFER_TOO_SMALL);
  CHECK(len == needed);
  CHECK(buf[0] == 0xAB);
  CHECK_MESSAGE("needs");
  CHECK_OK(syncore_manifest_encode(new_m, buf, needed, &len));
  CHECK(len == needed);
  CHECK_OK(syncore_manifest_encode_bytes(new_m, &bytes));
  CHECK(syncore_bytes_len(bytes) == needed && memcmp(syncore_bytes_data(bytes), buf, needed) == 0);

  /* Round trip. */
  CHECK_OK(syncore_manifest_decode(buf, len, &decoded));
  CHECK_OK(syncore_manifest_content_id(decoded, &a));
  CHECK_OK(syncore_manifest_content_id(new_m, &b));
  CHECK(memcmp(&a, &b, sizeof a) == 0);
  CHECK(syncore_manifest_chunk_count(decoded) == syncore_manifest_chunk_count(new_m));

  /* From an explicit chunk list. */
  CHECK_OK(syncore_manifest_chunks(new_m, &chunks));
  CHECK_OK(syncore_manifest_from_chunks(SYNCORE_HASH_ALGO_BLAKE3, syncore_chunk_list_data(chunks),
                                        syncore_chunk_list_len(chunks), &rebuilt));
  CHECK_OK(syncore_manifest_content_id(rebuilt, &a));
  CHECK(memcmp(&a, &b, sizeof a) == 0);
  /* Chunks that do not tile the file are refused. */
  CHECK_STATUS(syncore_manifest_from_chunks(SYNCORE_HASH_ALGO_BLAKE3, syncore_chunk_list_data(chunks) + 1,
                                            syncore_chunk_list_len(chunks) - 1, &bad),
               SYNCORE_STATUS_INVALID_INPUT);
  CHECK(bad == NULL);

  /* Diff: only the chunks around the insertion, each in the new manifest. */
  CHECK_OK(syncore_manifest_diff(old_m, new_m, &need));
  CHECK(syncore_digest_list_len(need) >= 1 && syncore_digest_list_len(need) <= 4);
  for (i = 0; i < syncore_digest_list_len(need); i++) {
    size_t j;
    found = 0;
    for (j = 0; j < syncore_chunk_list_len(chunks); j++)
      found |= memcmp(&syncore_chunk_list_data(chunks)[j].id, &syncore_digest_list_data(need)[i],
                      sizeof(syncore_digest)) == 0;
    CHECK(found);
  }
  CHECK_OK(syncore_manifest_diff(new_m, new_m, &none));
  CHECK(syncore_digest_list_len(none) == 0 && syncore_digest_list_data(none) == NULL);

  /* Corrupt input: every flipped byte, every truncation, garbage; never a crash. */
  for (i = 0; i < len; i++) {
    syncore_status s;
    buf[i] ^= 0x5A;
    s = syncore_manifest_decode(buf, len, &bad);
    CHECK(s == SYNCORE_STATUS_CORRUPT || s == SYNCORE_STATUS_UNSUPPORTED);
    buf[i] ^= 0x5A;
  }
  for (i = 0; i < len; i += 7) {
    CHECK_STATUS(syncore_manifest_decode(buf, i, &bad), SYNCORE_STATUS_CORRUPT);
  }
  CHECK_STATUS(syncore_manifest_decode((const uint8_t *)"SYNMgarbage", 11, &bad), SYNCORE_STATUS_CORRUPT);
  CHECK(bad == NULL);
  CHECK(strlen(syncore_last_error_message()) > 0);

  syncore_manifest_free(bad);
  syncore_digest_list_free(none);
  syncore_digest_list_free(need);
  syncore_chunk_list_free(chunks);
  syncore_bytes_free(bytes);
  syncore_manifest_free(rebuilt);
  syncore_manifest_free(decoded);
  syncore_manifest_free(new_m);
  syncore_manifest_free(old_m);
  syncore_chunker_free(chunker);
  free(buf);
  free(new_data);
  free(old_data);
  CHECK_DONE();
}
