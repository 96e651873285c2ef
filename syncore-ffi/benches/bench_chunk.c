/* Chunk+hash and delta throughput through the C API on seeded data: `make bench-c`.
 *
 * Times syncore_chunker_chunk_buffer and the push stream (1 MiB pieces, C callback) over
 * SYNCORE_BENCH_MIB MiB (default 256), best of 5 runs each, then signature, delta and patch. The in-process comparison with
 * the Rust API on the same data is the criterion bench `c_api` that `make bench-c` runs next.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "syncore.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_chunk(void *userdata, const syncore_chunk *chunk, const uint8_t *bytes, size_t len) {
  (void)chunk;
  (void)bytes;
  (void)len;
  ++*(uint64_t *)userdata;
  return 0;
}

int main(void) {
  const char *env = getenv("SYNCORE_BENCH_MIB");
  size_t mib = env ? (size_t)strtoul(env, NULL, 10) : 256;
  size_t len = mib << 20, i;
  uint8_t *data = (uint8_t *)malloc(len);
  uint64_t s = 0x9E3779B97F4A7C15ull;
  syncore_chunker *chunker = NULL;
  double best_buffer = 1e30, best_stream = 1e30;
  int run;

  if (data == NULL) return 1;
  for (i = 0; i < len; i++) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    data[i] = (uint8_t)(s >> 24);
  }
  if (syncore_chunker_new(NULL, &chunker) != SYNCORE_STATUS_OK) return 1;
  for (run = 0; run < 5; run++) {
    syncore_chunk_list *list = NULL;
    syncore_chunk_stream *stream = NULL;
    uint64_t n = 0, total = 0;
    double t0 = now_s(), t1, t2;
    if (syncore_chunker_chunk_buffer(chunker, data, len, &list) != SYNCORE_STATUS_OK) return 1;
    t1 = now_s();
    syncore_chunk_list_free(list);
    t1 = t1 - t0;
    if (t1 < best_buffer) best_buffer = t1;
    t0 = now_s();
    if (syncore_chunk_stream_new(chunker, &stream) != SYNCORE_STATUS_OK) return 1;
    for (i = 0; i < len; i += 1 << 20) {
      size_t take = len - i < (1u << 20) ? len - i : (1u << 20);
      if (syncore_chunk_stream_push(stream, data + i, take, count_chunk, &n) != SYNCORE_STATUS_OK) return 1;
    }
    if (syncore_chunk_stream_finish(stream, count_chunk, &n, &total) != SYNCORE_STATUS_OK) return 1;
    syncore_chunk_stream_free(stream);
    t2 = now_s() - t0;
    if (t2 < best_stream) best_stream = t2;
  }
  {
    /* Deltas: signature of the data, delta of an edited copy, patch back. */
    uint8_t *edited = (uint8_t *)malloc(len);
    syncore_signature *sig = NULL;
    syncore_bytes *delta = NULL, *patched = NULL;
    double t0, t_sig, t_delta, t_patch;
    memcpy(edited, data, len);
    for (i = 0; i < len; i += 1 << 20) edited[i] ^= 0x5A;
    t0 = now_s();
    if (syncore_signature_new(data, len, NULL, &sig) != SYNCORE_STATUS_OK) return 1;
    t_sig = now_s() - t0;
    t0 = now_s();
    if (syncore_delta_new(sig, edited, len, &delta) != SYNCORE_STATUS_OK) return 1;
    t_delta = now_s() - t0;
    t0 = now_s();
    if (syncore_delta_patch(data, len, syncore_bytes_data(delta), syncore_bytes_len(delta), UINT64_MAX, &patched) !=
            SYNCORE_STATUS_OK ||
        syncore_bytes_len(patched) != len || memcmp(syncore_bytes_data(patched), edited, len) != 0)
      return 1;
    t_patch = now_s() - t0;
    printf("C API deltas, %zu MiB (one edit per MiB), one run each:\n", mib);
    printf("  syncore_signature_new          %8.1f MiB/s\n", (double)mib / t_sig);
    printf("  syncore_delta_new              %8.1f MiB/s (delta %zu bytes)\n", (double)mib / t_delta,
           syncore_bytes_len(delta));
    printf("  syncore_delta_patch            %8.1f MiB/s\n", (double)mib / t_patch);
    syncore_bytes_free(patched);
    syncore_bytes_free(delta);
    syncore_signature_free(sig);
    free(edited);
  }
  printf("C API, %zu MiB seeded data, FastCDC 16/64/256 KiB + BLAKE3, best of 5:\n", mib);
  printf("  syncore_chunker_chunk_buffer   %8.1f MiB/s\n", (double)mib / best_buffer);
  printf("  syncore_chunk_stream_push      %8.1f MiB/s\n", (double)mib / best_stream);
  syncore_chunker_free(chunker);
  free(data);
  return 0;
}
