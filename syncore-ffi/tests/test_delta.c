/* Deltas through the C API: buffers, files, interop with the real `rdiff` in both directions,
 * too-small buffers, limits and damaged signatures and deltas. */
#define _XOPEN_SOURCE 700

#include "files.h"

#define LEN 300000

static char dir[] = "/tmp/syncore-delta-XXXXXX";

static const char *at(const char *name) {
  static char paths[8][600];
  static int next;
  char *p = paths[next++ % 8];
  snprintf(p, 600, "%s/%s", dir, name);
  return p;
}

static int run(const char *fmt, const char *a, const char *b, const char *c) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, fmt, a, b, c);
  return system(cmd);
}

static void test_buffers(const uint8_t *basis, const uint8_t *next) {
  syncore_signature *sig = NULL, *decoded = NULL, *bad_sig = NULL;
  syncore_bytes *delta = NULL, *patched = NULL, *bad = NULL;
  syncore_signature_options options = {0, 0, 0};
  uint8_t *sig_bytes, *damaged;
  size_t sig_len = 0, len = 0, i;

  CHECK_OK(syncore_signature_new(basis, LEN, &options, &sig));
  CHECK(syncore_signature_block_len(sig) > 0 && syncore_signature_block_count(sig) > 0);
  CHECK_STATUS(syncore_signature_encode(sig, NULL, 0, &sig_len), SYNCORE_STATUS_BUFFER_TOO_SMALL);
  sig_bytes = (uint8_t *)malloc(sig_len);
  CHECK_OK(syncore_signature_encode(sig, sig_bytes, sig_len, &len));
  CHECK(len == sig_len);
  CHECK_OK(syncore_signature_decode(sig_bytes, sig_len, &decoded));
  CHECK_OK(syncore_delta_new(decoded, next, LEN, &delta));
  CHECK(syncore_bytes_len(delta) < LEN / 10);
  CHECK_OK(syncore_delta_patch(basis, LEN, syncore_bytes_data(delta), syncore_bytes_len(delta), UINT64_MAX, &patched));
  CHECK(syncore_bytes_len(patched) == LEN && memcmp(syncore_bytes_data(patched), next, LEN) == 0);
  CHECK_STATUS(syncore_delta_patch(basis, LEN, syncore_bytes_data(delta), syncore_bytes_len(delta), LEN - 1, &bad),
               SYNCORE_STATUS_INVALID_INPUT);

  /* Damaged deltas and signatures: every truncation, flipped bytes; never a crash. */
  len = syncore_bytes_len(delta);
  damaged = (uint8_t *)malloc(len);
  memcpy(damaged, syncore_bytes_data(delta), len);
  for (i = 0; i < len; i++) {
    CHECK_STATUS(syncore_delta_patch(basis, LEN, damaged, i, UINT64_MAX, &bad), SYNCORE_STATUS_CORRUPT);
  }
  for (i = 0; i < len; i++) {
    syncore_status s;
    damaged[i] ^= 0xA5;
    s = syncore_delta_patch(basis, LEN, damaged, len, LEN * 2, &bad);
    CHECK(s == SYNCORE_STATUS_OK || s == SYNCORE_STATUS_CORRUPT || s == SYNCORE_STATUS_INVALID_INPUT);
    syncore_bytes_free(bad);
    bad = NULL;
    damaged[i] ^= 0xA5;
  }
  for (i = 0; i < 12 && i < sig_len; i++) {
    CHECK_STATUS(syncore_signature_decode(sig_bytes, i, &bad_sig), SYNCORE_STATUS_CORRUPT);
  }
  sig_bytes[3] ^= 0xFF; /* unknown magic */
  {
    syncore_status s = syncore_signature_decode(sig_bytes, sig_len, &bad_sig);
    CHECK(s == SYNCORE_STATUS_CORRUPT || s == SYNCORE_STATUS_UNSUPPORTED);
  }
  CHECK(bad_sig == NULL);
  options.magic = 0x12345678;
  CHECK(syncore_signature_new(basis, LEN, &options, &bad_sig) != SYNCORE_STATUS_OK);
  CHECK(bad_sig == NULL);

  free(damaged);
  free(sig_bytes);
  syncore_bytes_free(patched);
  syncore_bytes_free(delta);
  syncore_signature_free(decoded);
  syncore_signature_free(sig);
}

static void test_rdiff_interop(const uint8_t *basis, const uint8_t *next) {
  syncore_delta_stats stats;
  uint64_t n = 0;
  write_file(dir, "basis", basis, LEN);
  write_file(dir, "new", next, LEN);

  /* Our signature, their delta, our patch. */
  CHECK_OK(syncore_signature_file(at("basis"), NULL, at("sig.ours"), &n));
  CHECK(n > 0);
  CHECK(run("rdiff delta %s %s %s", at("sig.ours"), at("new"), at("delta.theirs")) == 0);
  CHECK_OK(syncore_delta_patch_file(at("basis"), at("delta.theirs"), at("out.ours"), UINT64_MAX, &n));
  CHECK(n == LEN && file_is(dir, "out.ours", next, LEN));

  /* Their signature, our delta, their patch. */
  CHECK(run("rdiff signature %s %s%s", at("basis"), at("sig.theirs"), "") == 0);
  memset(&stats, 0, sizeof stats);
  CHECK_OK(syncore_delta_file(at("sig.theirs"), at("new"), at("delta.ours"), &stats));
  CHECK(stats.new_len == LEN && stats.copy_bytes > LEN / 2 && stats.literal_bytes < LEN / 10);
  CHECK(run("rdiff patch %s %s %s", at("basis"), at("delta.ours"), at("out.theirs")) == 0);
  CHECK(file_is(dir, "out.theirs", next, LEN));

  /* Same signature bytes as rdiff's defaults. */
  CHECK(run("cmp -s %s %s%s", at("sig.ours"), at("sig.theirs"), "") == 0);

  /* Bad paths. */
  CHECK_STATUS(syncore_delta_file(at("missing"), at("new"), at("x"), NULL), SYNCORE_STATUS_IO);
  CHECK_MESSAGE("missing");
  CHECK_STATUS(syncore_delta_patch_file(at("basis"), at("new"), at("x"), UINT64_MAX, NULL), SYNCORE_STATUS_CORRUPT);
  CHECK_STATUS(syncore_signature_file(NULL, NULL, at("x"), NULL), SYNCORE_STATUS_NULL_ARGUMENT);
}

int main(void) {
  uint8_t *basis = (uint8_t *)malloc(LEN), *next = (uint8_t *)malloc(LEN);
  CHECK(mkdtemp(dir) != NULL);
  fill_seeded(basis, LEN, 5);
  memcpy(next, basis, LEN);
  memcpy(next + 1000, "an edit near the start", 22);
  memcpy(next + 200000, "and one further on", 18);
  test_buffers(basis, next);
  test_rdiff_interop(basis, next);
  remove_tree(dir);
  free(next);
  free(basis);
  CHECK_DONE();
}
