//! Manifests and chunk accounting: reference counts, usage, quota and garbage collection.
//!
//! This file owns the `manifests`, `manifest_chunks` and `chunks` tables. A manifest is
//! stored once per content id with its encoding; a multi-chunk manifest also has one row per
//! chunk (indexed by chunk id, so a chunk can be found inside local files), a single-chunk
//! manifest names its chunk in its own row (and, in the index's algorithm, leaves out its
//! encoding, which that determines). A manifest's count is the number of entry and history
//! rows using it; a chunk's count in `chunks` is the number of positions it fills in retained
//! multi-chunk manifests. A one-chunk manifest references its chunk by existing: its content
//! id is a function of the chunk's id ([`one_chunk_content_id`]), so a chunk lookup finds it
//! by the key the manifest and entry rows already have, and most files (that small) cost no
//! `chunks` row at all. Counts are taken here and released by schema triggers. It must never
//! delete a chunk from a store while any retained version still references it.

use rusqlite::{params, Connection, OptionalExtension};

use super::sql::{digest_from_blob, map_sql, stored_path, to_i64, to_u64};
use super::writer::{Statements, Stmt};
use super::Index;
use crate::apply::ChunkLocation;
use crate::chunk::Chunk;
use crate::error::{Error, Result};
use crate::hash::{Digest, HashAlgo};
use crate::manifest::{one_chunk_content_id, FileManifest};
use crate::path::RelPath;
use crate::store::ChunkStore;

/// How much the index references, for quotas and reports.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Usage {
    /// Live (not deleted) files.
    pub live_files: u64,
    /// Sum of live file sizes.
    pub live_bytes: u64,
    /// Sum of sizes over every retained file version (what storing them whole would cost).
    pub logical_bytes: u64,
    /// Distinct chunks referenced by retained versions.
    pub unique_chunks: u64,
    /// Sum of the lengths of those chunks (what content-addressed storage costs).
    pub unique_chunk_bytes: u64,
    /// `logical_bytes / unique_chunk_bytes` (1.0 when nothing is stored).
    pub dedup_ratio: f64,
}

/// What [`Index::gc`] found and did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GcReport {
    /// Chunks no retained version references.
    pub unreferenced: Vec<Digest>,
    /// Their total length.
    pub unreferenced_bytes: u64,
    /// How many of them were deleted from the given store.
    pub deleted_from_store: u64,
}

/// Takes the reference a new entry row holds on `manifest`, storing the manifest first if
/// no retained version uses it yet (its chunks then gain one reference per position).
///
/// A manifest of exactly one chunk names that chunk in its own row (`single_chunk`) instead of
/// a `manifest_chunks` row: most files are that small, and one row fewer per file is what
/// keeps a first scan fast. [`chunk_locations`] finds such files through their content id.
/// In the index's own algorithm (`index_algo`) such a manifest is also stored without its
/// encoding, which its size and chunk id determine (reading it rebuilds and checks it).
pub(super) fn reference_manifest(
    statements: &mut Statements<'_>,
    manifest: &FileManifest,
    index_algo: HashAlgo,
) -> Result<()> {
    let content_id = manifest.content_id();
    let single_chunk = match manifest.chunks() {
        [only] => Some(only.id),
        _ => None,
    };
    let encoded = match single_chunk {
        Some(_) if manifest.algo() == index_algo => Vec::new(),
        _ => manifest.encode(),
    };
    let inserted = statements
        .get(Stmt::InsertManifest)?
        .execute(params![
            content_id.as_bytes().as_slice(),
            to_i64(manifest.size())?,
            encoded,
            single_chunk.as_ref().map(|id| id.as_bytes().as_slice())
        ])
        .map_err(map_sql)?;
    if inserted == 0 {
        // Already stored, with its chunks counted: only the new reference is taken.
        return reference_stored_content(statements, &content_id);
    }
    if single_chunk.is_some() {
        // The manifest row itself is its chunk's reference (see the module doc).
        return Ok(());
    }
    for (idx, chunk) in manifest.chunks().iter().enumerate() {
        statements
            .get(Stmt::InsertPosition)?
            .execute(params![
                chunk.id.as_bytes().as_slice(),
                content_id.as_bytes().as_slice(),
                idx as i64,
                to_i64(chunk.offset)?,
                chunk.len
            ])
            .map_err(map_sql)?;
        statements
            .get(Stmt::CountChunk)?
            .execute(params![chunk.id.as_bytes().as_slice(), chunk.len])
            .map_err(map_sql)?;
    }
    Ok(())
}

/// A manifest row as read: its stored encoding, or a one-chunk manifest rebuilt (and
/// checked) because none was stored.
pub(crate) enum StoredManifest {
    Encoded(Vec<u8>),
    Rebuilt(FileManifest),
}

impl StoredManifest {
    /// Interprets the columns `encoded, size, single_chunk` of the manifest row of
    /// `content_id` in an index whose algorithm is `algo`.
    pub(super) fn from_columns(
        algo: HashAlgo,
        content_id: &Digest,
        encoded: Vec<u8>,
        size: i64,
        single_chunk: Option<&[u8]>,
    ) -> Result<Self> {
        if !encoded.is_empty() {
            return Ok(StoredManifest::Encoded(encoded));
        }
        match single_chunk {
            Some(chunk) => {
                single_chunk_manifest(algo, content_id, size, chunk).map(StoredManifest::Rebuilt)
            }
            None => Err(Error::corrupt(format!(
                "index manifest {content_id} has neither an encoding nor a single chunk"
            ))),
        }
    }

    /// The manifest, decoded and checked to be `content_id`'s.
    pub(crate) fn into_manifest(self, content_id: &Digest) -> Result<FileManifest> {
        match self {
            StoredManifest::Rebuilt(manifest) => Ok(manifest),
            StoredManifest::Encoded(encoded) => {
                let manifest = FileManifest::decode(&encoded)?;
                if manifest.content_id() != *content_id {
                    return Err(Error::corrupt(format!(
                        "index manifest {content_id} decodes to a different content id"
                    )));
                }
                Ok(manifest)
            }
        }
    }

    /// The manifest's encoding ([`FileManifest::encode`]): as stored, not decoded or checked
    /// (the reader of a change set checks it), or that of the rebuilt manifest.
    pub(crate) fn into_encoded(self) -> Vec<u8> {
        match self {
            StoredManifest::Encoded(encoded) => encoded,
            StoredManifest::Rebuilt(manifest) => manifest.encode(),
        }
    }
}

/// The one-chunk manifest of `size` bytes whose chunk is `chunk` under `algo`, which must have
/// content id `content_id`.
fn single_chunk_manifest(
    algo: HashAlgo,
    content_id: &Digest,
    size: i64,
    chunk: &[u8],
) -> Result<FileManifest> {
    let corrupt = |what: &str| Error::corrupt(format!("index manifest {content_id}: {what}"));
    let len = u32::try_from(size).map_err(|_| corrupt("one chunk cannot hold its size"))?;
    let chunk = Chunk {
        id: digest_from_blob(chunk)?,
        offset: 0,
        len,
    };
    let manifest =
        FileManifest::from_chunks(algo, vec![chunk]).map_err(|e| corrupt(&e.to_string()))?;
    if manifest.content_id() != *content_id {
        return Err(corrupt("its size and chunk give a different content id"));
    }
    Ok(manifest)
}

/// Takes the reference a new entry row holds on content the index already stores.
pub(super) fn reference_stored_content(
    statements: &mut Statements<'_>,
    content_id: &Digest,
) -> Result<()> {
    let updated = statements
        .get(Stmt::ReferenceManifest)?
        .execute([content_id.as_bytes().as_slice()])
        .map_err(map_sql)?;
    if updated == 0 {
        return Err(Error::invalid(format!(
            "content {content_id} is not stored in the index; record it with its manifest"
        )));
    }
    Ok(())
}

/// Gives every stored one-chunk manifest the content id format 2 names it by, in its own row
/// and in every entry and history row naming it (schema version 6). A manifest stored without
/// its encoding is in the index's algorithm; an encoded one (format 1) is decoded, which
/// converts its id, and stored re-encoded. Reference counts do not change: every reference
/// moves with its row.
pub(super) fn rename_one_chunk_contents(conn: &Connection) -> Result<()> {
    let index_algo = super::open::read_meta(conn, "hash_algo")?
        .and_then(|code| code.first().copied())
        .map(HashAlgo::from_code)
        .transpose()?;
    // Rows point at the new ids only once all of them are renamed.
    conn.execute_batch(
        "PRAGMA defer_foreign_keys = ON;
         CREATE TEMP TABLE renamed_contents (
             old BLOB PRIMARY KEY, new BLOB NOT NULL, encoded BLOB NOT NULL) WITHOUT ROWID;",
    )
    .map_err(map_sql)?;
    {
        let mut read = conn
            .prepare(
                "SELECT content_id, encoded, single_chunk FROM manifests
                 WHERE single_chunk IS NOT NULL",
            )
            .map_err(map_sql)?;
        let mut note = conn
            .prepare("INSERT INTO renamed_contents (old, new, encoded) VALUES (?1, ?2, ?3)")
            .map_err(map_sql)?;
        let mut rows = read.query([]).map_err(map_sql)?;
        while let Some(row) = rows.next().map_err(map_sql)? {
            let old: Vec<u8> = row.get(0).map_err(map_sql)?;
            let encoded: Vec<u8> = row.get(1).map_err(map_sql)?;
            let chunk = digest_from_blob(&row.get::<_, Vec<u8>>(2).map_err(map_sql)?)?;
            let (new, encoded) = if encoded.is_empty() {
                let algo = index_algo.ok_or_else(|| {
                    Error::corrupt("index holds manifests but names no hash algorithm")
                })?;
                (one_chunk_content_id(algo, &chunk), encoded)
            } else {
                let manifest = FileManifest::decode(&encoded)?;
                (manifest.content_id(), manifest.encode())
            };
            note.execute(params![old, new.as_bytes().as_slice(), encoded])
                .map_err(map_sql)?;
        }
    }
    conn.execute_batch(
        "UPDATE manifests SET content_id = r.new, encoded = r.encoded
         FROM renamed_contents r WHERE manifests.content_id = r.old;
         UPDATE entries SET content_id = r.new
         FROM renamed_contents r WHERE entries.content_id = r.old;
         UPDATE history SET content_id = r.new
         FROM renamed_contents r WHERE history.content_id = r.old;
         DROP TABLE temp.renamed_contents;",
    )
    .map_err(map_sql)
}

/// Whether a retained one-chunk manifest consists of chunk `id`, under any algorithm (such a
/// manifest is its chunk's only reference outside `chunks`).
fn is_one_chunk_manifest(conn: &Connection, id: &Digest) -> Result<bool> {
    let mut stmt = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM manifests WHERE content_id = ?1)")
        .map_err(map_sql)?;
    for algo in HashAlgo::ALL {
        let content_id = one_chunk_content_id(algo, id);
        let exists: bool = stmt
            .query_row([content_id.as_bytes().as_slice()], |row| row.get(0))
            .map_err(map_sql)?;
        if exists {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Up to `limit` live local files holding chunk `id`, with its place in each: inside
/// multi-chunk files through `manifest_chunks`, and as the whole of single-chunk files, found
/// by the content id such a file has (its size is the chunk's length).
pub(super) fn chunk_locations(
    conn: &Connection,
    algo: HashAlgo,
    id: &Digest,
    limit: usize,
) -> Result<Vec<ChunkLocation>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut out = Vec::new();
    let mut inside = conn
        .prepare_cached(
            "SELECT e.path, mc.offset, mc.len FROM manifest_chunks mc
             JOIN entries e ON e.content_id = mc.content_id AND e.deleted = 0
             WHERE mc.chunk_id = ?1 LIMIT ?2",
        )
        .map_err(map_sql)?;
    let mut rows = inside
        .query(params![id.as_bytes().as_slice(), limit])
        .map_err(map_sql)?;
    while let Some(row) = rows.next().map_err(map_sql)? {
        out.push(ChunkLocation {
            path: stored_path(row.get_ref(0).map_err(map_sql)?)?,
            offset: to_u64(row.get(1).map_err(map_sql)?)?,
            len: chunk_len(row.get(2).map_err(map_sql)?)?,
        });
    }
    let whole_file = one_chunk_content_id(algo, id);
    let mut files = conn
        .prepare_cached(
            "SELECT path, size FROM entries WHERE content_id = ?1 AND deleted = 0 LIMIT ?2",
        )
        .map_err(map_sql)?;
    let mut rows = files
        .query(params![whole_file.as_bytes().as_slice(), limit])
        .map_err(map_sql)?;
    while let Some(row) = rows.next().map_err(map_sql)? {
        out.push(ChunkLocation {
            path: stored_path(row.get_ref(0).map_err(map_sql)?)?,
            offset: 0,
            len: chunk_len(row.get(1).map_err(map_sql)?)?,
        });
    }
    Ok(out)
}

fn chunk_len(len: i64) -> Result<u32> {
    u32::try_from(len).map_err(|_| Error::corrupt("index holds a bad chunk length"))
}

/// How many distinct chunks retained versions reference, and the sum of their lengths: those
/// counted in `chunks`, and the chunks of one-chunk manifests that no position counts.
fn unique_chunk_bytes(conn: &Connection) -> Result<(u64, u64)> {
    let (count, bytes): (i64, i64) = conn
        .query_row(
            "SELECT COUNT(*), COALESCE(SUM(len), 0) FROM (
                 SELECT len FROM chunks WHERE refs > 0
                 UNION ALL
                 SELECT m.size FROM manifests m
                 WHERE m.single_chunk IS NOT NULL AND NOT EXISTS (
                     SELECT 1 FROM chunks c WHERE c.chunk_id = m.single_chunk AND c.refs > 0))",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .map_err(map_sql)?;
    Ok((to_u64(count)?, to_u64(bytes)?))
}

/// Fails with `QuotaExceeded` if referenced chunks exceed `quota` bytes.
pub(super) fn check_quota(conn: &Connection, quota: u64) -> Result<()> {
    let (_, used) = unique_chunk_bytes(conn)?;
    if used > quota {
        return Err(Error::QuotaExceeded(format!(
            "the change needs {used} bytes of unique chunks, the quota is {quota}"
        )));
    }
    Ok(())
}

impl Index {
    /// The stored manifest with `content_id`, if any retained version uses it.
    pub fn manifest(&self, content_id: &Digest) -> Result<Option<FileManifest>> {
        self.stored_manifest(content_id)?
            .map(|stored| stored.into_manifest(content_id))
            .transpose()
    }

    /// The manifest row of `content_id`: its stored encoding, or (for a one-chunk manifest
    /// stored without one) the manifest rebuilt from its size and chunk and checked against
    /// its id.
    fn stored_manifest(&self, content_id: &Digest) -> Result<Option<StoredManifest>> {
        let row: Option<(Vec<u8>, i64, Option<Vec<u8>>)> = self
            .conn
            .prepare_cached(
                "SELECT encoded, size, single_chunk FROM manifests WHERE content_id = ?1",
            )
            .map_err(map_sql)?
            .query_row([content_id.as_bytes().as_slice()], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .optional()
            .map_err(map_sql)?;
        row.map(|(encoded, size, chunk)| {
            StoredManifest::from_columns(
                self.options.algo,
                content_id,
                encoded,
                size,
                chunk.as_deref(),
            )
        })
        .transpose()
    }

    /// The reference count of chunk `id`: the positions it fills in retained manifests (0 if
    /// unknown or unreferenced).
    pub fn chunk_refs(&self, id: &Digest) -> Result<u64> {
        let refs: Option<i64> = self
            .conn
            .prepare_cached("SELECT refs FROM chunks WHERE chunk_id = ?1")
            .map_err(map_sql)?
            .query_row([id.as_bytes().as_slice()], |row| row.get(0))
            .optional()
            .map_err(map_sql)?;
        let positions = u64::try_from(refs.unwrap_or(0)).unwrap_or(0);
        let whole = u64::from(is_one_chunk_manifest(&self.conn, id)?);
        Ok(positions + whole)
    }

    /// Live local files whose current content contains chunk `id`, with its offset there
    /// (at most 16).
    pub fn chunk_locations(&self, id: &Digest) -> Result<Vec<ChunkLocation>> {
        chunk_locations(&self.conn, self.options.algo, id, 16)
    }

    /// Live paths whose current content is `content_id` and whose entry was recorded after
    /// sequence number `after_seq` (at most 64; used to pair deletions with creations).
    pub fn live_paths_with_content(
        &self,
        content_id: &Digest,
        after_seq: u64,
    ) -> Result<Vec<RelPath>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT path FROM entries
                 WHERE content_id = ?1 AND deleted = 0 AND seq > ?2 LIMIT 64",
            )
            .map_err(map_sql)?;
        let mut rows = stmt
            .query(params![
                content_id.as_bytes().as_slice(),
                to_i64(after_seq)?
            ])
            .map_err(map_sql)?;
        let mut paths = Vec::new();
        while let Some(row) = rows.next().map_err(map_sql)? {
            let path: String = row.get(0).map_err(map_sql)?;
            paths.push(
                RelPath::new(&path)
                    .map_err(|e| Error::corrupt(format!("index holds an invalid path: {e}")))?,
            );
        }
        Ok(paths)
    }

    /// Logical and deduplicated sizes of everything the index references.
    pub fn usage(&self) -> Result<Usage> {
        let (live_files, live_bytes): (i64, i64) = self
            .conn
            .query_row(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM entries
                 WHERE deleted = 0 AND kind = 0",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(map_sql)?;
        let logical: i64 = self
            .conn
            .query_row(
                "SELECT (SELECT COALESCE(SUM(size), 0) FROM entries
                         WHERE deleted = 0 AND content_id IS NOT NULL)
                      + (SELECT COALESCE(SUM(size), 0) FROM history
                         WHERE deleted = 0 AND content_id IS NOT NULL)",
                [],
                |row| row.get(0),
            )
            .map_err(map_sql)?;
        let (unique_chunks, unique_chunk_bytes) = unique_chunk_bytes(&self.conn)?;
        let logical_bytes = to_u64(logical)?;
        let dedup_ratio = if unique_chunk_bytes == 0 {
            1.0
        } else {
            logical_bytes as f64 / unique_chunk_bytes as f64
        };
        Ok(Usage {
            live_files: to_u64(live_files)?,
            live_bytes: to_u64(live_bytes)?,
            logical_bytes,
            unique_chunks,
            unique_chunk_bytes,
            dedup_ratio,
        })
    }

    /// Lists chunks no retained version references. With a `store`, deletes them from it and
    /// forgets them; without, only lists them (they stay listed until collected).
    pub fn gc(&mut self, store: Option<&dyn ChunkStore>) -> Result<GcReport> {
        let mut report = GcReport::default();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT chunk_id, len FROM chunks WHERE refs <= 0")
                .map_err(map_sql)?;
            let mut rows = stmt.query([]).map_err(map_sql)?;
            while let Some(row) = rows.next().map_err(map_sql)? {
                let id = digest_from_blob(&row.get::<_, Vec<u8>>(0).map_err(map_sql)?)?;
                // Listed with no position, but still the whole of a retained one-chunk file.
                if is_one_chunk_manifest(&self.conn, &id)? {
                    continue;
                }
                report.unreferenced.push(id);
                report.unreferenced_bytes += to_u64(row.get(1).map_err(map_sql)?)?;
            }
        }
        let Some(store) = store else {
            return Ok(report);
        };
        let tx = self.conn.transaction().map_err(map_sql)?;
        for id in &report.unreferenced {
            if store.delete(id)? {
                report.deleted_from_store += 1;
            }
            tx.execute(
                "DELETE FROM chunks WHERE chunk_id = ?1 AND refs <= 0",
                [id.as_bytes().as_slice()],
            )
            .map_err(map_sql)?;
        }
        tx.commit().map_err(map_sql)?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Index, IndexOptions, LocalChange};
    use super::*;
    use crate::chunk::{Chunker, ChunkerConfig};

    fn stored_encoding_len(index: &Index, id: &Digest) -> usize {
        let len: i64 = index
            .conn
            .query_row(
                "SELECT length(encoded) FROM manifests WHERE content_id = ?1",
                [id.as_bytes().as_slice()],
                |r| r.get(0),
            )
            .unwrap();
        usize::try_from(len).unwrap()
    }

    /// The encoding a change set carries for `id` (read through the journal).
    fn journal_encoding(index: &Index, id: &Digest) -> Result<Vec<u8>> {
        let journal = index.journal_with_manifests(0)?;
        let (_, stored) = journal
            .manifests
            .into_iter()
            .find(|(found, _)| found == id)
            .expect("the journal names the content");
        Ok(stored.into_encoded())
    }

    fn record(index: &mut Index, path: &str, manifest: FileManifest) {
        let mut change = LocalChange::deletion(RelPath::new(path).unwrap(), crate::EntryKind::File);
        change.deleted = false;
        change.stat.size = manifest.size();
        change.manifest = Some(manifest);
        let mut batch = index.batch().unwrap();
        batch.record(&change).unwrap();
        batch.commit().unwrap();
    }

    #[test]
    fn one_chunk_manifests_leave_out_their_encoding_and_read_back_identical() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = Index::open(dir.path(), IndexOptions::default()).unwrap();
        let data: Vec<u8> = (0..300_000u32).map(|i| ((i * 7919) >> 5) as u8).collect();
        let one = FileManifest::of_slice(&Chunker::default(), b"small file");
        let many = FileManifest::of_slice(&Chunker::default(), &data);
        assert!(many.chunks().len() > 1);
        let sha = Chunker::new(ChunkerConfig::default(), HashAlgo::Sha256).unwrap();
        let foreign = FileManifest::of_slice(&sha, b"small file");
        for (path, manifest) in [("one", &one), ("many", &many), ("foreign", &foreign)] {
            record(&mut index, path, manifest.clone());
        }
        assert_eq!(stored_encoding_len(&index, &one.content_id()), 0);
        assert_eq!(
            stored_encoding_len(&index, &many.content_id()),
            many.encode().len()
        );
        assert_eq!(
            stored_encoding_len(&index, &foreign.content_id()),
            foreign.encode().len(),
            "another algorithm's manifest keeps its encoding"
        );
        for manifest in [&one, &many, &foreign] {
            let id = manifest.content_id();
            assert_eq!(journal_encoding(&index, &id).unwrap(), manifest.encode());
            assert_eq!(index.manifest(&id).unwrap().as_ref(), Some(manifest));
        }
    }

    #[test]
    fn a_one_chunk_row_that_does_not_match_its_id_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = Index::open(dir.path(), IndexOptions::default()).unwrap();
        let one = FileManifest::of_slice(&Chunker::default(), b"small file");
        record(&mut index, "one", one.clone());
        let id = one.content_id();
        let tamper = |set: &str| {
            let sql = format!("UPDATE manifests SET {set} WHERE content_id = ?1");
            index
                .conn
                .execute(&sql, [id.as_bytes().as_slice()])
                .unwrap();
        };
        // The content id names the chunk (whose bytes fix the length, checked when read).
        let other = HashAlgo::Blake3.digest(b"another chunk");
        tamper(&format!("single_chunk = x'{other}'"));
        let corrupt = |err: crate::Error| assert_eq!(err.kind(), crate::ErrorKind::Corrupt);
        corrupt(index.journal_with_manifests(0).err().unwrap());
        corrupt(index.manifest(&id).unwrap_err());
        tamper("single_chunk = NULL");
        corrupt(index.journal_with_manifests(0).err().unwrap());
        corrupt(index.manifest(&id).unwrap_err());
    }
}
