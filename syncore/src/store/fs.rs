//! [`FsStore`]: chunks as files in a content-addressed directory.
//!
//! This module owns one on-disk layout: `root/store.meta` records the hash algorithm, and
//! chunk `id` lives at `root/<hex[0..2]>/<hex[2..4]>/<hex>`. Writes go to a uniquely named
//! temp file in the chunk's shard directory, are fsynced, renamed into place and the directory
//! fsynced, so a chunk file is either absent or complete. It must never return bytes that do
//! not hash to the requested id, never report a temp file or a foreign file as a chunk, and
//! never touch anything outside `root`.

use std::fs::{self, DirEntry, File, OpenOptions, ReadDir};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::apply::{sync_dir, temp_name, TEMP_PREFIX};
use crate::chunk::MAX_CHUNK_LEN;
use crate::error::{Error, IoResultExt, Result};
use crate::hash::{Digest, HashAlgo};

use super::{check_put, len_u64, not_found, ChunkIds, ChunkStore, StoreStats};

/// Name of the file recording the store's format and hash algorithm.
const META_FILE: &str = "store.meta";
/// First line of the meta file.
const META_MAGIC: &str = "syncore chunk store";
/// The layout version this build writes and reads.
const META_VERSION: u32 = 1;
/// Upper bound on the meta file's size; anything longer is not ours.
const META_MAX_LEN: u64 = 4096;
/// How many fresh temp names to try before giving up.
const TEMP_ATTEMPTS: u32 = 16;

/// A [`ChunkStore`] keeping each chunk in its own file under a root directory.
///
/// Layout: `root/store.meta`, then `root/ab/cd/abcd…` (the full 64-hex id, sharded by its
/// first two bytes). Any number of threads or processes may use one root at once: writes are
/// atomic renames of identical content, so racing writers of the same chunk leave one valid
/// file. A crash can leave temp files (`.syncore-tmp-*`) behind; they are never listed as chunks and
/// [`FsStore::remove_stale_temp_files`] deletes them.
#[derive(Debug, Clone)]
pub struct FsStore {
    root: PathBuf,
    algo: HashAlgo,
}

impl FsStore {
    /// Opens the store at `root`, creating the directory and its meta file if needed.
    ///
    /// Fails with [`Error::InvalidInput`] if the store already exists with another hash
    /// algorithm, [`Error::Corrupt`] if its meta file is not one syncore wrote, and
    /// [`Error::Unsupported`] if it was written by a newer layout version.
    pub fn open(root: impl AsRef<Path>, algo: HashAlgo) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        fs::create_dir_all(&root).at_path(&root)?;
        let meta = root.join(META_FILE);
        let found = match read_meta(&meta)? {
            Some(found) => found,
            None => {
                create_meta(&root, &meta, algo)?;
                read_meta(&meta)?.ok_or_else(|| {
                    Error::corrupt(format!("{}: vanished while opening", meta.display()))
                })?
            }
        };
        if found != algo {
            return Err(Error::invalid(format!(
                "store at {} addresses chunks by {found}, not {algo}",
                root.display()
            )));
        }
        Ok(FsStore { root, algo })
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where chunk `id` is (or would be) stored.
    pub fn chunk_path(&self, id: &Digest) -> PathBuf {
        self.shard_dir(id).join(id.to_hex())
    }

    /// Deletes temp files left by interrupted writes that are at least `older_than` old, and
    /// returns how many it removed.
    ///
    /// Temp files of writes still in progress are younger than any sensible `older_than`
    /// (minutes), so this is safe to run while the store is in use.
    pub fn remove_stale_temp_files(&self, older_than: Duration) -> Result<u64> {
        let mut removed = 0;
        for entry in fs::read_dir(&self.root).at_path(&self.root)? {
            let entry = entry.at_path(&self.root)?;
            removed += u64::from(remove_if_stale(&entry, older_than)?);
        }
        for leaf in ShardWalk::new(&self.root)? {
            removed += u64::from(remove_if_stale(&leaf?.entry, older_than)?);
        }
        Ok(removed)
    }

    fn shard_dir(&self, id: &Digest) -> PathBuf {
        let [a, b, ..] = *id.as_bytes();
        self.root.join(format!("{a:02x}")).join(format!("{b:02x}"))
    }

    /// Creates the shard directory of `id` if needed and returns it.
    fn ensure_shard_dir(&self, id: &Digest) -> Result<PathBuf> {
        let dir = self.shard_dir(id);
        if let Some(parent) = dir.parent() {
            ensure_dir(parent, &self.root)?;
            ensure_dir(&dir, parent)?;
        }
        Ok(dir)
    }
}

impl ChunkStore for FsStore {
    fn algo(&self) -> HashAlgo {
        self.algo
    }

    fn has(&self, id: &Digest) -> Result<bool> {
        let path = self.chunk_path(id);
        match fs::metadata(&path) {
            Ok(meta) => Ok(meta.is_file()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    fn get(&self, id: &Digest) -> Result<Vec<u8>> {
        let path = self.chunk_path(id);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(not_found(id)),
            Err(e) => return Err(Error::io(&path, e)),
        };
        // Never read more than a chunk can hold, whatever the file on disk has become.
        let limit = u64::from(MAX_CHUNK_LEN) + 1;
        let mut data = Vec::new();
        file.take(limit).read_to_end(&mut data).at_path(&path)?;
        if len_u64(&data) == limit {
            return Err(Error::corrupt(format!(
                "chunk {id} at {}: file is larger than any chunk",
                path.display()
            )));
        }
        let actual = self.algo.digest(&data);
        if actual != *id {
            return Err(Error::corrupt(format!(
                "chunk {id} at {}: the {} stored bytes hash to {actual}",
                path.display(),
                data.len()
            )));
        }
        Ok(data)
    }

    /// Writes the chunk atomically; a damaged file already at its path is replaced.
    ///
    /// When several writers race on one new chunk, each may report `true`.
    fn put(&self, id: &Digest, data: &[u8]) -> Result<bool> {
        check_put(self.algo, id, data)?;
        let path = self.chunk_path(id);
        if holds_exactly(&path, data)? {
            return Ok(false);
        }
        let dir = self.ensure_shard_dir(id)?;
        let temp = write_temp(&dir, &id.to_hex(), data)?;
        match fs::rename(&temp.path, &path) {
            Ok(()) => {
                temp.keep();
                sync_dir(&dir)?;
                Ok(true)
            }
            // Some platforms refuse to replace a file another writer has open; if that
            // writer already put the same bytes there, the chunk is stored.
            Err(_) if holds_exactly(&path, data).unwrap_or(false) => Ok(false),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    /// Removes the chunk file. The removal is not fsynced: after a crash the chunk may
    /// reappear, intact.
    fn delete(&self, id: &Digest) -> Result<bool> {
        let path = self.chunk_path(id);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    fn ids(&self) -> Result<ChunkIds<'_>> {
        let walk = ShardWalk::new(&self.root)?;
        Ok(Box::new(walk.filter_map(|leaf| match leaf {
            Ok(leaf) => leaf.chunk_id().transpose(),
            Err(e) => Some(Err(e)),
        })))
    }

    /// Counts chunk files and sums their sizes on disk (contents are not verified).
    fn stats(&self) -> Result<StoreStats> {
        let mut stats = StoreStats::default();
        for leaf in ShardWalk::new(&self.root)? {
            let leaf = leaf?;
            if leaf.chunk_id()?.is_none() {
                continue;
            }
            match leaf.entry.metadata() {
                Ok(meta) => {
                    stats.chunks += 1;
                    stats.bytes += meta.len();
                }
                // Deleted since it was listed.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(leaf.entry.path(), e)),
            }
        }
        Ok(stats)
    }

    fn size(&self, id: &Digest) -> Result<u64> {
        let path = self.chunk_path(id);
        match fs::metadata(&path) {
            Ok(meta) if meta.is_file() => Ok(meta.len()),
            Ok(_) => Err(not_found(id)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(not_found(id)),
            Err(e) => Err(Error::io(&path, e)),
        }
    }
}

/// Reads the algorithm from the meta file; `None` if there is no meta file yet.
fn read_meta(path: &Path) -> Result<Option<HashAlgo>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let mut raw = Vec::new();
    file.take(META_MAX_LEN + 1)
        .read_to_end(&mut raw)
        .at_path(path)?;
    let bad = |what: &str| Error::corrupt(format!("{}: {what}", path.display()));
    if len_u64(&raw) > META_MAX_LEN {
        return Err(bad("too long to be a store meta file"));
    }
    let text = std::str::from_utf8(&raw).map_err(|_| bad("not UTF-8"))?;
    let mut lines = text.lines();
    if lines.next() != Some(META_MAGIC) {
        return Err(bad("not a syncore chunk store meta file"));
    }
    let version = lines
        .next()
        .and_then(|l| l.strip_prefix("version "))
        .and_then(|v| v.parse::<u32>().ok())
        .ok_or_else(|| bad("missing or malformed version line"))?;
    if version != META_VERSION {
        return Err(Error::Unsupported(format!(
            "{}: store layout version {version} (this build reads {META_VERSION})",
            path.display()
        )));
    }
    let name = lines
        .next()
        .and_then(|l| l.strip_prefix("algo "))
        .ok_or_else(|| bad("missing algo line"))?;
    if lines.next().is_some() {
        return Err(bad("unexpected trailing lines"));
    }
    let algo = name.parse::<HashAlgo>().map_err(|_| {
        Error::Unsupported(format!(
            "{}: unknown hash algorithm {name:?}",
            path.display()
        ))
    })?;
    Ok(Some(algo))
}

/// Creates the meta file without ever exposing a partial one, unless another opener won.
fn create_meta(root: &Path, meta: &Path, algo: HashAlgo) -> Result<()> {
    let text = format!(
        "{META_MAGIC}\nversion {META_VERSION}\nalgo {}\n",
        algo.name()
    );
    let temp = write_temp(root, "meta", text.as_bytes())?;
    // A hard link creates the name only if it is absent, with the content already complete.
    match fs::hard_link(&temp.path, meta) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        // File systems without hard links: create in place (a concurrent opener could see
        // the file before it is written, and would then report it corrupt).
        Err(_) => match OpenOptions::new().write(true).create_new(true).open(meta) {
            Ok(mut file) => {
                file.write_all(text.as_bytes()).at_path(meta)?;
                file.sync_all().at_path(meta)?;
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
            Err(e) => return Err(Error::io(meta, e)),
        },
    }
    drop(temp);
    sync_dir(root)
}

/// Whether `path` is a file holding exactly `data`.
fn holds_exactly(path: &Path, data: &[u8]) -> Result<bool> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_file() && meta.len() == len_u64(data) => {}
        Ok(_) => return Ok(false),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(path, e)),
    }
    match fs::read(path) {
        Ok(stored) => Ok(stored == data),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// A temp file that is removed when dropped unless [`TempFile::keep`] was called.
struct TempFile {
    path: PathBuf,
    remove: bool,
}

impl TempFile {
    /// The file was renamed away; there is nothing left to remove.
    fn keep(mut self) {
        self.remove = false;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.remove {
            // Best effort: a leftover is harmless and cleaned by remove_stale_temp_files.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Writes `data` to a new, uniquely named, fsynced temp file in `dir`.
fn write_temp(dir: &Path, tag: &str, data: &[u8]) -> Result<TempFile> {
    let mut attempt = 0;
    let (temp, mut file) = loop {
        let path = dir.join(temp_name(tag));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => break (TempFile { path, remove: true }, file),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < TEMP_ATTEMPTS => {
                attempt += 1;
            }
            Err(e) => return Err(Error::io(&path, e)),
        }
    };
    file.write_all(data).at_path(&temp.path)?;
    file.sync_all().at_path(&temp.path)?;
    Ok(temp)
}

/// Removes `entry` if it is a temp file at least `older_than` old.
fn remove_if_stale(entry: &DirEntry, older_than: Duration) -> Result<bool> {
    let is_temp = entry
        .file_name()
        .to_str()
        .is_some_and(|n| n.starts_with(TEMP_PREFIX));
    if !is_temp {
        return Ok(false);
    }
    let path = entry.path();
    let modified = match entry.metadata().and_then(|m| m.modified()) {
        Ok(modified) => modified,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let age = SystemTime::now()
        .duration_since(modified)
        .unwrap_or(Duration::ZERO);
    if age < older_than {
        return Ok(false);
    }
    match fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(&path, e)),
    }
}

/// Creates `dir` if absent, fsyncing `parent` so the new entry survives a crash.
fn ensure_dir(dir: &Path, parent: &Path) -> Result<()> {
    match fs::create_dir(dir) {
        Ok(()) => sync_dir(parent),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::io(dir, e)),
    }
}

fn is_lower_hex(name: &str) -> bool {
    name.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// One entry of a shard directory, with the hex prefix that directory stands for.
struct Leaf {
    prefix: String,
    entry: DirEntry,
}

impl Leaf {
    /// The chunk id this entry stores, or `None` if it is a temp or foreign file.
    fn chunk_id(&self) -> Result<Option<Digest>> {
        let name = self.entry.file_name();
        let Some(name) = name.to_str() else {
            return Ok(None);
        };
        if name.len() != 2 * Digest::LEN || !is_lower_hex(name) || !name.starts_with(&self.prefix) {
            return Ok(None);
        }
        match self.entry.file_type() {
            Ok(t) if t.is_file() => Digest::from_hex(name).map(Some),
            Ok(_) => Ok(None),
            Err(e) => Err(Error::io(self.entry.path(), e)),
        }
    }
}

/// Lazily walks `root/<2 hex>/<2 hex>/`, yielding the entries of every shard directory.
struct ShardWalk {
    /// Open directories, outermost first, with the hex prefix each stands for.
    stack: Vec<(PathBuf, String, ReadDir)>,
}

impl ShardWalk {
    fn new(root: &Path) -> Result<Self> {
        let iter = fs::read_dir(root).at_path(root)?;
        Ok(ShardWalk {
            stack: vec![(root.to_path_buf(), String::new(), iter)],
        })
    }
}

impl Iterator for ShardWalk {
    type Item = Result<Leaf>;

    fn next(&mut self) -> Option<Result<Leaf>> {
        loop {
            let (dir, prefix, iter) = self.stack.last_mut()?;
            let entry = match iter.next() {
                None => {
                    self.stack.pop();
                    continue;
                }
                Some(Err(e)) => return Some(Err(Error::io(&*dir, e))),
                Some(Ok(entry)) => entry,
            };
            if prefix.len() == 4 {
                let prefix = prefix.clone();
                return Some(Ok(Leaf { prefix, entry }));
            }
            let name = entry.file_name();
            let Some(name) = name.to_str().filter(|n| n.len() == 2 && is_lower_hex(n)) else {
                continue;
            };
            match entry.file_type() {
                Ok(t) if t.is_dir() => {}
                Ok(_) => continue,
                Err(e) => return Some(Err(Error::io(entry.path(), e))),
            }
            let sub_prefix = format!("{prefix}{name}");
            let sub = entry.path();
            match fs::read_dir(&sub) {
                Ok(iter) => self.stack.push((sub, sub_prefix, iter)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Some(Err(Error::io(&sub, e))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn store(algo: HashAlgo) -> (tempfile::TempDir, FsStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::open(dir.path().join("chunks"), algo).unwrap();
        (dir, store)
    }

    #[test]
    fn keeps_the_contract_for_both_algorithms() {
        for algo in [HashAlgo::Blake3, HashAlgo::Sha256] {
            let (_dir, store) = store(algo);
            super::super::tests::check_contract(&store);
        }
    }

    #[test]
    fn lays_chunks_out_by_id_prefix() {
        let (_dir, store) = store(HashAlgo::Blake3);
        let id = store.put_data(b"hello").unwrap();
        let hex = id.to_hex();
        let want = store.root().join(&hex[..2]).join(&hex[2..4]).join(&hex);
        assert_eq!(store.chunk_path(&id), want);
        assert_eq!(fs::read(&want).unwrap(), b"hello");
        let meta = fs::read_to_string(store.root().join(META_FILE)).unwrap();
        assert_eq!(meta, "syncore chunk store\nversion 1\nalgo blake3\n");
    }

    #[test]
    fn reopen_checks_the_meta_file() {
        let (_dir, store) = store(HashAlgo::Sha256);
        let id = store.put_data(b"kept").unwrap();
        let again = FsStore::open(store.root(), HashAlgo::Sha256).unwrap();
        assert_eq!(again.get(&id).unwrap(), b"kept");

        let err = FsStore::open(store.root(), HashAlgo::Blake3).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("sha256"), "{err}");

        let meta = store.root().join(META_FILE);
        for (text, kind) in [
            ("garbage", ErrorKind::Corrupt),
            (
                "syncore chunk store\nversion x\nalgo sha256\n",
                ErrorKind::Corrupt,
            ),
            ("syncore chunk store\nversion 1\n", ErrorKind::Corrupt),
            (
                "syncore chunk store\nversion 1\nalgo sha256\nmore\n",
                ErrorKind::Corrupt,
            ),
            (
                "syncore chunk store\nversion 9\nalgo sha256\n",
                ErrorKind::Unsupported,
            ),
            (
                "syncore chunk store\nversion 1\nalgo md5\n",
                ErrorKind::Unsupported,
            ),
        ] {
            fs::write(&meta, text).unwrap();
            let err = FsStore::open(store.root(), HashAlgo::Sha256).unwrap_err();
            assert_eq!(err.kind(), kind, "{text:?}: {err}");
        }
        fs::write(&meta, vec![b'x'; 10_000]).unwrap();
        let err = FsStore::open(store.root(), HashAlgo::Sha256).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt);
    }

    #[test]
    fn put_replaces_a_damaged_file() {
        let (_dir, store) = store(HashAlgo::Blake3);
        let id = store.put_data(b"original bytes").unwrap();
        fs::write(store.chunk_path(&id), b"original bytez").unwrap();
        assert_eq!(store.get(&id).unwrap_err().kind(), ErrorKind::Corrupt);
        assert!(store.put(&id, b"original bytes").unwrap());
        assert_eq!(store.get(&id).unwrap(), b"original bytes");
    }

    fn hex_starts(id: &Digest, prefix: &str) -> bool {
        id.to_hex().starts_with(prefix)
    }

    #[test]
    fn listing_skips_temp_and_foreign_files() {
        let (_dir, store) = store(HashAlgo::Blake3);
        let id = store.put_data(b"real").unwrap();
        let shard = store.chunk_path(&id).parent().unwrap().to_path_buf();
        let other = HashAlgo::Blake3.digest(b"elsewhere").to_hex();
        fs::write(
            shard.join(format!("{TEMP_PREFIX}{}.1.2.3", id.to_hex())),
            b"x",
        )
        .unwrap();
        fs::write(shard.join(id.to_hex().to_uppercase()), b"real").unwrap();
        fs::write(shard.join(&other), b"wrong shard").unwrap();
        fs::write(shard.join("notes.txt"), b"x").unwrap();
        fs::create_dir_all(store.root().join("zz").join("00")).unwrap();
        let not_a_shard = if hex_starts(&id, "ab") { "cd" } else { "ab" };
        fs::write(store.root().join(not_a_shard), b"a file, not a shard").unwrap();

        let ids: Vec<_> = store.ids().unwrap().collect::<Result<_>>().unwrap();
        assert_eq!(ids, vec![id]);
        assert_eq!(
            store.stats().unwrap(),
            StoreStats {
                chunks: 1,
                bytes: 4
            }
        );
    }

    #[test]
    fn stale_temp_files_are_removed() {
        let (_dir, store) = store(HashAlgo::Blake3);
        let id = store.put_data(b"real").unwrap();
        let shard = store.chunk_path(&id).parent().unwrap().to_path_buf();
        let temp = shard.join(format!("{TEMP_PREFIX}{}.1.2.3", id.to_hex()));
        fs::write(&temp, b"partial").unwrap();
        fs::write(
            store.root().join(format!("{TEMP_PREFIX}meta.1.2.3")),
            b"partial",
        )
        .unwrap();
        assert_eq!(
            store
                .remove_stale_temp_files(Duration::from_secs(3600))
                .unwrap(),
            0
        );
        assert!(temp.exists());
        assert_eq!(store.remove_stale_temp_files(Duration::ZERO).unwrap(), 2);
        assert!(!temp.exists());
        assert_eq!(store.get(&id).unwrap(), b"real");
    }

    #[test]
    fn io_errors_carry_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        fs::write(&file, b"x").unwrap();
        let err = FsStore::open(&file, HashAlgo::Blake3).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io);
        assert_eq!(err.path(), Some(file.as_path()));
    }
}
