//! Bringing a retained version of a path back into the working tree.
//!
//! This file owns [`restore`]: it looks the version up in the index's history, fetches each
//! chunk from a [`ChunkStore`] or from live local files that contain it (read at the recorded
//! offset), verifies every chunk's hash and the assembled content id, writes the file through
//! an [`AtomicFile`], and records the result as a new local change. It must never write bytes
//! that were not verified: on any mismatch the temp file is dropped and the target untouched.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::apply::{AtomicFile, Durability};
use crate::chunk::Chunk;
use crate::entry::{Entry, EntryKind};
use crate::error::{Error, IoResultExt, Result};
use crate::hash::{Digest, HashAlgo};
use crate::index::{Index, LocalChange};
use crate::manifest::FileManifest;
use crate::path::RelPath;
use crate::store::ChunkStore;

use super::stat::file_stat;

/// Where [`restore`] gets chunk bytes.
#[derive(Clone, Copy)]
pub enum RestoreSource<'a> {
    /// A chunk store (local or remote).
    Store(&'a dyn ChunkStore),
    /// Live files of this replica whose current content contains the chunk.
    Local,
}

impl std::fmt::Debug for RestoreSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestoreSource::Store(_) => f.write_str("RestoreSource::Store(..)"),
            RestoreSource::Local => f.write_str("RestoreSource::Local"),
        }
    }
}

/// Restores version `seq` of `path` under `root` and records it as a new change (new seq,
/// bumped version vector). Fails with `NotFound` for an unknown version, `InvalidInput` for a
/// version that is not a file, `Corrupt` if a source returns bytes that do not verify.
pub fn restore(
    root: &Path,
    index: &mut Index,
    path: &RelPath,
    seq: u64,
    source: RestoreSource<'_>,
) -> Result<Entry> {
    let version = index
        .version(path, seq)?
        .ok_or_else(|| Error::NotFound(format!("version {seq} of {path}")))?;
    let content_id = match (version.kind, version.deleted, version.content_id) {
        (EntryKind::File, false, Some(id)) => id,
        _ => {
            return Err(Error::invalid(format!(
                "version {seq} of {path} is not a file's content"
            )))
        }
    };
    let manifest = index
        .manifest(&content_id)?
        .ok_or_else(|| Error::NotFound(format!("manifest {content_id} of {path}")))?;
    let target = path.to_fs_path(root);
    prepare_parent(root, path)?;
    write_verified(root, index, &manifest, &target, source, version.executable)?;
    let meta = std::fs::symlink_metadata(&target).at_path(&target)?;
    let change = LocalChange {
        path: path.clone(),
        kind: EntryKind::File,
        stat: file_stat(&meta),
        symlink_target: None,
        manifest: Some(manifest),
        deleted: false,
        racy: true,
    };
    let mut batch = index.batch()?;
    let entry = batch.record(&change)?;
    batch.commit()?;
    Ok(entry)
}

/// Creates the parent directories of `path`, refusing to go through a symlink or a file.
fn prepare_parent(root: &Path, path: &RelPath) -> Result<()> {
    for ancestor in path.ancestors() {
        let full = ancestor.to_fs_path(root);
        match std::fs::symlink_metadata(&full) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(Error::invalid(format!(
                    "cannot restore {path}: {ancestor} is not a directory"
                )))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir(&full).at_path(&full)?;
            }
            Err(e) => return Err(Error::io(&full, e)),
        }
    }
    Ok(())
}

/// Assembles `manifest` into a temp file beside `target`, verifying every chunk and the
/// content id, then renames it into place.
fn write_verified(
    root: &Path,
    index: &Index,
    manifest: &FileManifest,
    target: &Path,
    source: RestoreSource<'_>,
    executable: bool,
) -> Result<()> {
    let algo = manifest.algo();
    let mut file = AtomicFile::create(target)?;
    let mut verified = Vec::with_capacity(manifest.chunks().len());
    for chunk in manifest.chunks() {
        let bytes = fetch_chunk(root, index, algo, chunk, source)?;
        file.write_all(&bytes)?;
        verified.push(Chunk {
            id: algo.digest(&bytes),
            offset: chunk.offset,
            len: chunk.len,
        });
    }
    let assembled = FileManifest::from_chunks(algo, verified)?;
    if assembled.content_id() != manifest.content_id() {
        return Err(Error::corrupt(format!(
            "restored content of {} does not match {}",
            target.display(),
            manifest.content_id()
        )));
    }
    set_executable(&file, executable)?;
    file.commit(Durability::PerFile).map(drop)
}

#[cfg(unix)]
fn set_executable(file: &AtomicFile, executable: bool) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if executable { 0o755 } else { 0o644 };
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_executable(_file: &AtomicFile, _executable: bool) -> Result<()> {
    Ok(())
}

/// The verified bytes of `chunk` from `source`.
fn fetch_chunk(
    root: &Path,
    index: &Index,
    algo: HashAlgo,
    chunk: &Chunk,
    source: RestoreSource<'_>,
) -> Result<Vec<u8>> {
    match source {
        RestoreSource::Store(store) => {
            let bytes = store.get(&chunk.id)?;
            verify(algo, &chunk.id, chunk.len, &bytes)?;
            Ok(bytes)
        }
        RestoreSource::Local => fetch_local(root, index, algo, chunk),
    }
}

fn verify(algo: HashAlgo, id: &Digest, len: u32, bytes: &[u8]) -> Result<()> {
    if bytes.len() != len as usize || algo.digest(bytes) != *id {
        return Err(Error::corrupt(format!(
            "chunk {id} from the source does not match its id"
        )));
    }
    Ok(())
}

/// Reads `chunk` from the first live local file whose bytes at the recorded offset verify.
fn fetch_local(root: &Path, index: &Index, algo: HashAlgo, chunk: &Chunk) -> Result<Vec<u8>> {
    let sources = index.chunk_locations(&chunk.id)?;
    if sources.is_empty() {
        return Err(Error::NotFound(format!(
            "chunk {} is in no live local file",
            chunk.id
        )));
    }
    let mut last_error = None;
    for source in sources {
        let full = source.path.to_fs_path(root);
        match read_at(&full, source.offset, source.len) {
            Ok(bytes) => match verify(algo, &chunk.id, chunk.len, &bytes) {
                Ok(()) => return Ok(bytes),
                Err(e) => last_error = Some(e),
            },
            Err(e) => last_error = Some(e),
        }
    }
    Err(match last_error {
        Some(Error::Io { .. }) | None => Error::NotFound(format!(
            "chunk {} could not be read from any local file",
            chunk.id
        )),
        Some(e) => e,
    })
}

fn read_at(full: &Path, offset: u64, len: u32) -> Result<Vec<u8>> {
    let meta = std::fs::symlink_metadata(full).at_path(full)?;
    if !meta.is_file() {
        return Err(Error::io(full, std::io::ErrorKind::InvalidInput.into()));
    }
    let mut file = File::open(full).at_path(full)?;
    file.seek(SeekFrom::Start(offset)).at_path(full)?;
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(u64::from(len))
        .read_to_end(&mut bytes)
        .at_path(full)?;
    Ok(bytes)
}
