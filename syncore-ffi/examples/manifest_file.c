/* Describes a file as a syncore manifest: its size, chunk count and content id.
 *
 *   cc -std=c11 manifest_file.c $(pkg-config --cflags --libs syncore) -o manifest_file
 *   ./manifest_file some/file
 */
#include <stdio.h>
#include <stdlib.h>

#include <syncore.h>

int main(int argc, char **argv) {
  syncore_chunker *chunker = NULL;
  syncore_manifest *manifest = NULL;
  syncore_digest id;
  char hex[SYNCORE_DIGEST_HEX_SIZE];
  size_t encoded_len = 0;

  if (argc != 2) {
    fprintf(stderr, "usage: %s FILE\n", argv[0]);
    return 2;
  }
  /* NULL config: FastCDC 16/64/256 KiB with BLAKE3. */
  if (syncore_chunker_new(NULL, &chunker) != SYNCORE_STATUS_OK ||
      syncore_manifest_of_file(chunker, argv[1], &manifest) != SYNCORE_STATUS_OK) {
    fprintf(stderr, "%s: %s\n", argv[1], syncore_last_error_message());
    syncore_chunker_free(chunker);
    return 1;
  }
  syncore_manifest_content_id(manifest, &id);
  syncore_digest_to_hex(&id, hex, sizeof hex);
  /* Asking with an empty buffer reports the encoded size. */
  syncore_manifest_encode(manifest, NULL, 0, &encoded_len);
  printf("%s: %llu bytes, %zu chunks, content id %s, manifest %zu bytes (syncore %s)\n", argv[1],
         (unsigned long long)syncore_manifest_size(manifest), syncore_manifest_chunk_count(manifest),
         hex, encoded_len, syncore_version());
  syncore_manifest_free(manifest);
  syncore_chunker_free(chunker);
  return 0;
}
