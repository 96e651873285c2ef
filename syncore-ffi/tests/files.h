/* File helpers for the C API tests that work in scratch directories: whole files written,
 * read and compared by root and relative path, and a scratch tree removed. The including test
 * defines _XOPEN_SOURCE 700 first (for nftw). */
#ifndef SYNCORE_TEST_FILES_H
#define SYNCORE_TEST_FILES_H

#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "check.h"

static inline void path_of(char *out, size_t cap, const char *root, const char *rel) {
  snprintf(out, cap, "%s/%s", root, rel);
}

static inline void write_file(const char *root, const char *rel, const void *data, size_t len) {
  char path[600];
  FILE *f;
  path_of(path, sizeof path, root, rel);
  f = fopen(path, "wb");
  CHECK(f != NULL && fwrite(data, 1, len, f) == len);
  if (f) fclose(f);
}

/* The whole file `root/rel` (owned by the caller, freed with free()), its length in `*len`;
 * NULL if it cannot be opened. */
static inline uint8_t *read_file(const char *root, const char *rel, size_t *len) {
  char path[600];
  FILE *f;
  uint8_t *buf;
  long n;
  path_of(path, sizeof path, root, rel);
  f = fopen(path, "rb");
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = (uint8_t *)malloc((size_t)n + 1);
  *len = fread(buf, 1, (size_t)n, f);
  fclose(f);
  return buf;
}

/* Whether `root/rel` holds exactly the `want_len` bytes at `want`. */
static inline int file_is(const char *root, const char *rel, const uint8_t *want, size_t want_len) {
  size_t len = 0;
  uint8_t *got = read_file(root, rel, &len);
  int same = got != NULL && len == want_len && memcmp(got, want, len) == 0;
  free(got);
  return same;
}

/* Whether `rel` has the same content under both roots. */
static inline int same_file(const char *root_a, const char *root_b, const char *rel) {
  size_t la = 0, lb = 0;
  uint8_t *a = read_file(root_a, rel, &la), *b = read_file(root_b, rel, &lb);
  int same = a != NULL && b != NULL && la == lb && memcmp(a, b, la) == 0;
  free(a);
  free(b);
  return same;
}

static inline int remove_entry_(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* Removes the directory `dir` and everything in it. */
static inline void remove_tree(const char *dir) {
  nftw(dir, remove_entry_, 8, FTW_DEPTH | FTW_PHYS);
}

#endif
