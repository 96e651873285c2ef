//! Assembling one file from its manifest's chunks, verified, into place atomically.
//!
//! This module owns the write path of a single file: a temp file beside the target
//! ([`AtomicFile`]), every chunk read from a [`ChunkSource`] and checked against its id and
//! length, the assembled content id checked against the manifest, mode and mtime set, then
//! commit with the requested [`Durability`]. Any failure drops the temp file and leaves the
//! target exactly as it was. It never decides whether a file should be written (that is the
//! plan's and the applier's job) and never writes anywhere but its temp file and target.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::apply::safety::DiskStat;
use crate::apply::source::{ChunkOrigin, ChunkSource};
use crate::apply::{AtomicFile, Durability};
use crate::chunk::Chunk;
use crate::entry::Entry;
use crate::error::{Error, Result};
use crate::manifest::FileManifest;

/// What writing one file did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Written {
    /// The file's stat after the rename.
    pub stat: DiskStat,
    /// Bytes served by local sources.
    pub local_bytes: u64,
    /// Bytes served by remote sources.
    pub remote_bytes: u64,
}

/// How a write ends when nothing goes wrong.
pub(crate) enum Finish {
    /// Rename into place.
    Commit(Durability),
    /// Simulate a crash after the temp file is written: leave it behind, never rename.
    CrashBeforeRename,
}

/// Writes `manifest`'s content to `path` as `entry` describes (mode, mtime).
///
/// `still_ok` runs just before the rename and may veto it (the target changed meanwhile).
pub(crate) fn write_file(
    path: &Path,
    entry: &Entry,
    manifest: &FileManifest,
    source: &dyn ChunkSource,
    finish: Finish,
    still_ok: impl FnOnce() -> Result<()>,
) -> Result<Written> {
    if entry.content_id != Some(manifest.content_id()) || entry.size != manifest.size() {
        return Err(Error::corrupt(format!(
            "{}: entry and manifest describe different content",
            entry.path
        )));
    }
    let algo = manifest.algo();
    let mut file = AtomicFile::create(path)?;
    let (mut local_bytes, mut remote_bytes) = (0u64, 0u64);
    let mut verified = Vec::with_capacity(manifest.chunks().len());
    for chunk in manifest.chunks() {
        let (bytes, origin) = source.read_chunk_from(&chunk.id).map_err(|e| {
            let what = format!("{}: chunk {}: {e}", entry.path, chunk.id);
            match e.kind() {
                crate::ErrorKind::NotFound => Error::NotFound(what),
                crate::ErrorKind::Corrupt => Error::Corrupt(what),
                _ => e,
            }
        })?;
        if bytes.len() != chunk.len as usize || algo.digest(&bytes) != chunk.id {
            return Err(Error::corrupt(format!(
                "{}: chunk {} from the source does not match its id",
                entry.path, chunk.id
            )));
        }
        file.write_all(&bytes)?;
        match origin {
            ChunkOrigin::Local => local_bytes += u64::from(chunk.len),
            ChunkOrigin::Remote => remote_bytes += u64::from(chunk.len),
        }
        verified.push(Chunk {
            id: algo.digest(&bytes),
            offset: chunk.offset,
            len: chunk.len,
        });
    }
    let assembled = FileManifest::from_chunks(algo, verified)?;
    if assembled.content_id() != manifest.content_id() {
        return Err(Error::corrupt(format!(
            "{}: assembled content id {} differs from the manifest's {}",
            entry.path,
            assembled.content_id(),
            manifest.content_id()
        )));
    }
    set_mode(&file, path, entry.executable)?;
    file.set_modified(time_of(entry.mtime_ns))?;
    still_ok()?;
    match finish {
        Finish::Commit(durability) => file.commit(durability)?,
        Finish::CrashBeforeRename => {
            // A crash never runs destructors: the temp file stays, the target is untouched.
            std::mem::forget(file);
            return Err(Error::Io {
                path: Some(path.to_path_buf()),
                source: std::io::Error::other("simulated crash before rename"),
            });
        }
    }
    let stat = DiskStat::of_path(path)?
        .ok_or_else(|| Error::NotFound(format!("{} vanished after rename", path.display())))?;
    Ok(Written {
        stat,
        local_bytes,
        remote_bytes,
    })
}

/// Gives the temp file the target's permissions (or 0644), with the executable bits set or
/// cleared as the entry says.
fn set_mode(file: &AtomicFile, path: &Path, executable: bool) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let base = std::fs::symlink_metadata(path)
            .ok()
            .filter(|m| m.is_file())
            .map_or(0o644, |m| m.permissions().mode() & 0o777);
        let mode = if executable {
            base | ((base & 0o444) >> 2)
        } else {
            base & !0o111
        };
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = (file, path, executable);
    Ok(())
}

/// A `SystemTime` for nanoseconds since the Unix epoch.
pub(crate) fn time_of(ns: i64) -> SystemTime {
    let magnitude = Duration::from_nanos(ns.unsigned_abs());
    if ns >= 0 {
        UNIX_EPOCH.checked_add(magnitude).unwrap_or(UNIX_EPOCH)
    } else {
        UNIX_EPOCH.checked_sub(magnitude).unwrap_or(UNIX_EPOCH)
    }
}
