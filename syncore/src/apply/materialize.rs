//! Assembling one file from its manifest's chunks, verified, into place atomically.
//!
//! This module owns the write path of a single file: a temp file beside the target
//! ([`AtomicFile`]), every chunk read from a [`ChunkSource`] and checked against its id and
//! length, mode and mtime set, then commit with the requested [`Durability`]. Reading
//! ([`gather`]) and placing ([`place_file`]) are separate steps so that small files can be
//! placed on another thread; [`write_file`] streams both for files of any size. Any failure
//! drops the temp file and leaves the target exactly as it was. It never decides whether a
//! file should be written (that is the plan's and the applier's job) and never writes
//! anywhere but its temp file and target.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::apply::atomic::DEFAULT_MODE;
use crate::apply::dir::Dir;
use crate::apply::safety::DiskStat;
use crate::apply::source::{ChunkLocation, ChunkOrigin, ChunkSource};
use crate::apply::{AtomicFile, Durability};
use crate::chunk::Chunk;
use crate::entry::Entry;
use crate::error::{Error, Result};
use crate::manifest::FileManifest;
use crate::path::RelPath;

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
    /// Simulate a crash after the temp file is written: never place it (a named temp file
    /// stays behind).
    CrashBeforeRename,
}

/// One file's content read from a source and verified, ready for [`place_file`].
#[derive(Debug)]
pub(crate) struct Gathered {
    /// The chunks' bytes, in order.
    pub chunks: Vec<Vec<u8>>,
    /// Bytes served by local sources.
    pub local_bytes: u64,
    /// Bytes served by remote sources.
    pub remote_bytes: u64,
}

/// Writes `manifest`'s content to `path` as `entry` describes (mode, mtime), reading chunk by
/// chunk from `source` so that memory stays bounded by one chunk.
///
/// `before` is what was at `path` when the write was decided (see [`place_file`]).
pub(crate) fn write_file(
    path: &Path,
    entry: &Entry,
    manifest: &FileManifest,
    source: &dyn ChunkSource,
    finish: Finish,
    before: Option<DiskStat>,
) -> Result<Written> {
    check_describes(entry, manifest)?;
    let (mut local_bytes, mut remote_bytes) = (0u64, 0u64);
    let chunks = manifest.chunks().iter().map(|chunk| {
        let (bytes, origin) = read_verified(entry, manifest, chunk, source)?;
        count(origin, chunk.len, &mut local_bytes, &mut remote_bytes);
        Ok(bytes)
    });
    let stat = place_file(path, None, entry, chunks, finish, before)?;
    Ok(Written {
        stat,
        local_bytes,
        remote_bytes,
    })
}

/// Reads and verifies all of `manifest`'s content from `source`, for a file small enough to
/// hold in memory while another thread places it ([`place_file`]).
pub(crate) fn gather(
    entry: &Entry,
    manifest: &FileManifest,
    source: &dyn ChunkSource,
) -> Result<Gathered> {
    check_describes(entry, manifest)?;
    let mut gathered = Gathered {
        chunks: Vec::with_capacity(manifest.chunks().len()),
        local_bytes: 0,
        remote_bytes: 0,
    };
    for chunk in manifest.chunks() {
        let (bytes, origin) = read_verified(entry, manifest, chunk, source)?;
        count(
            origin,
            chunk.len,
            &mut gathered.local_bytes,
            &mut gathered.remote_bytes,
        );
        gathered.chunks.push(bytes);
    }
    Ok(gathered)
}

/// Writes `chunks` (already verified; every chunk matched its id and length, and a
/// manifest's content id is a function of exactly those) into a temp file beside `path`,
/// sets the entry's mode and mtime, then finishes as `finish` says and returns the placed
/// file's stat. On any error the temp file is removed and the target is untouched.
///
/// `dir`, if given, is `path`'s directory held open (a writer of many files passes the same
/// one). `before` is what was at `path` when the write was decided: with `None` the rename refuses
/// to replace anything that appeared since (atomically where the platform allows); otherwise
/// the target must still match `before` just before the rename. Either way a user's file that
/// changed meanwhile is left alone and the write fails with [`Error::Conflict`].
pub(crate) fn place_file(
    path: &Path,
    dir: Option<Arc<Dir>>,
    entry: &Entry,
    chunks: impl IntoIterator<Item = Result<Vec<u8>>>,
    finish: Finish,
    before: Option<DiskStat>,
) -> Result<DiskStat> {
    let mut file = match dir {
        // A new file gets the bits `set_mode` gives it from the start.
        Some(dir) => AtomicFile::create_in(dir, path, new_file_mode(before, entry.executable))?,
        None => AtomicFile::create(path)?,
    };
    for bytes in chunks {
        file.write_all(&bytes?)?;
    }
    file.set_modified(time_of(entry.mtime_ns))?;
    let replaced_mode = match before {
        Some(before) => still_unchanged(path, &entry.path, before)?,
        None => None,
    };
    set_mode(&file, replaced_mode, entry.executable)?;
    let placed = match finish {
        Finish::Commit(durability) if before.is_some() => file.commit(durability)?,
        Finish::Commit(durability) => file.commit_new(durability)?,
        Finish::CrashBeforeRename => {
            // The target is untouched; a named temp file stays, as after a real crash.
            file.abandon_as_crash();
            return Err(Error::Io {
                path: Some(path.to_path_buf()),
                source: std::io::Error::other("simulated crash before rename"),
            });
        }
    };
    Ok(DiskStat::from_metadata(&placed))
}

/// Fails with [`Error::Conflict`] unless `path` still matches `before`; returns the permission
/// bits of the file there (if it is a file), which the replacement keeps.
fn still_unchanged(path: &Path, rel: &RelPath, before: DiskStat) -> Result<Option<u32>> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(changed_while_written(rel))
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    if !DiskStat::from_metadata(&meta).matches(&before) {
        return Err(changed_while_written(rel));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Ok(meta.is_file().then(|| meta.permissions().mode() & 0o777))
    }
    #[cfg(not(unix))]
    Ok(None)
}

fn changed_while_written(rel: &RelPath) -> Error {
    Error::Conflict(format!("{rel} changed while it was written"))
}

/// Refuses an entry whose content id or size is not the manifest's.
fn check_describes(entry: &Entry, manifest: &FileManifest) -> Result<()> {
    if entry.content_id != Some(manifest.content_id()) || entry.size != manifest.size() {
        return Err(Error::corrupt(format!(
            "{}: entry and manifest describe different content",
            entry.path
        )));
    }
    Ok(())
}

/// Reads `chunk` of `entry`'s content from `source`, checked against its id (by the source's
/// [`ChunkSource::read_verified`]) and its length.
fn read_verified(
    entry: &Entry,
    manifest: &FileManifest,
    chunk: &Chunk,
    source: &dyn ChunkSource,
) -> Result<(Vec<u8>, ChunkOrigin)> {
    let place = ChunkLocation {
        path: entry.path.clone(),
        offset: chunk.offset,
        len: chunk.len,
    };
    let (bytes, origin) = source
        .read_verified(&chunk.id, manifest.algo(), Some(&place))
        .map_err(|e| {
            let what = format!("{}: chunk {}: {e}", entry.path, chunk.id);
            match e.kind() {
                crate::ErrorKind::NotFound => Error::NotFound(what),
                crate::ErrorKind::Corrupt => Error::Corrupt(what),
                _ => e,
            }
        })?;
    if bytes.len() != chunk.len as usize {
        return Err(Error::corrupt(format!(
            "{}: chunk {} from the source has the wrong length",
            entry.path, chunk.id
        )));
    }
    Ok((bytes, origin))
}

fn count(origin: ChunkOrigin, len: u32, local: &mut u64, remote: &mut u64) {
    match origin {
        ChunkOrigin::Local => *local += u64::from(len),
        ChunkOrigin::Remote => *remote += u64::from(len),
    }
}

/// The permission bits of a file that replaces nothing.
const NEW_FILE_MODE: u32 = 0o644;

/// The bits to create a temp file with: those [`set_mode`] will give it when it replaces
/// nothing (`before` is `None`), else the default (the replaced file's bits are known only
/// just before the rename).
fn new_file_mode(before: Option<DiskStat>, executable: bool) -> u32 {
    match before {
        None => with_exec_bits(NEW_FILE_MODE, executable),
        Some(_) => DEFAULT_MODE,
    }
}

/// Gives the temp file the permissions of the file it replaces (`replaced_mode`, or 0644),
/// with the executable bits set or cleared as the entry says.
fn set_mode(file: &AtomicFile, replaced_mode: Option<u32>, executable: bool) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = with_exec_bits(replaced_mode.unwrap_or(NEW_FILE_MODE), executable);
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = (file, replaced_mode, executable);
    Ok(())
}

/// Permission bits `mode` with the executable bits set (for whoever may read) or cleared.
pub(crate) fn with_exec_bits(mode: u32, executable: bool) -> u32 {
    if executable {
        mode | ((mode & 0o444) >> 2)
    } else {
        mode & !0o111
    }
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
