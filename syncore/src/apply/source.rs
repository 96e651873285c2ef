//! Where the bytes of a chunk come from when a file is assembled.
//!
//! This module owns the [`ChunkSource`] trait and its implementations: every [`ChunkStore`]
//! is a source; [`LocalChunks`] reads chunks out of files already in the replica (found
//! through a [`ChunkLocator`], which the index implements), verifying each against its id;
//! [`Layered`] tries several sources in order (local reuse first, then the peer's store) and
//! says which one served each chunk. An rsync-style delta fits the same seam: a source that
//! patches a basis file and serves chunk ranges of the result. Sources only read: they never
//! write, and they never return bytes that do not hash to the requested id (the applier checks
//! again anyway).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::apply::dir::Dir;
use crate::apply::pipeline::MAX_PLACING_THREADS;
use crate::apply::safety::{checked_path_cached, open_nofollow, VerifiedDirs};
use crate::error::{Error, IoResultExt, Result};
use crate::hash::{Digest, HashAlgo};
use crate::manifest::FileManifest;
use crate::path::RelPath;
use crate::store::ChunkStore;

/// Whether a chunk's bytes came from this replica or had to be transferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChunkOrigin {
    /// Reused from local files or a local store (no transfer).
    Local,
    /// From the peer, a hub or another store the application filled.
    Remote,
}

/// Something that can produce a chunk's bytes by id.
pub trait ChunkSource {
    /// The bytes of chunk `id`; [`Error::NotFound`] if this source cannot provide it.
    fn read_chunk(&self, id: &Digest) -> Result<Vec<u8>>;

    /// Where this source's bytes come from, for reporting (default: remote).
    fn origin(&self) -> ChunkOrigin {
        ChunkOrigin::Remote
    }

    /// The bytes of chunk `id` and where they came from.
    fn read_chunk_from(&self, id: &Digest) -> Result<(Vec<u8>, ChunkOrigin)> {
        Ok((self.read_chunk(id)?, self.origin()))
    }

    /// The bytes of chunk `id`, checked to hash to `id` under `algo`, and where they came
    /// from; [`Error::Corrupt`] if they do not. This is what the applier calls, with `hint`
    /// naming where the chunk goes in the file it is building (a source over the sender's own
    /// tree finds it there without a lookup; every other source ignores it). A source that
    /// already checks every read under the same algorithm overrides this to hash only once;
    /// wrappers forward it to what they wrap.
    fn read_verified(
        &self,
        id: &Digest,
        algo: HashAlgo,
        hint: Option<&ChunkLocation>,
    ) -> Result<(Vec<u8>, ChunkOrigin)> {
        let _ = hint;
        let (bytes, origin) = self.read_chunk_from(id)?;
        Ok((checked(bytes, id, algo)?, origin))
    }

    /// This source as one that may be read from several threads at once, if it is one.
    ///
    /// The applier then reads and verifies a small file whose chunks all come from this
    /// source first on its file-placing thread, next to the writing, instead of on the thread
    /// that plans and records; a file this source fails to serve whole is read again on the
    /// applier's thread, local files being the fallback as always. The default, `None`, keeps
    /// every read on the applier's thread (right for a source that calls into a foreign
    /// runtime or is not thread-safe). A `Sync` source opts in by returning `Some(self)`.
    fn shareable(&self) -> Option<&(dyn ChunkSource + Sync)> {
        None
    }
}

/// `bytes` if they hash to `id` under `algo`, else [`Error::Corrupt`].
fn checked(bytes: Vec<u8>, id: &Digest, algo: HashAlgo) -> Result<Vec<u8>> {
    if algo.digest(&bytes) != *id {
        return Err(Error::corrupt(format!(
            "chunk {id} from the source does not match its id"
        )));
    }
    Ok(bytes)
}

impl<S: ChunkStore + ?Sized> ChunkSource for S {
    fn read_chunk(&self, id: &Digest) -> Result<Vec<u8>> {
        self.get(id)
    }
}

/// A `Sync` chunk source, marked as one the applier may read from its file-placing thread
/// too ([`ChunkSource::shareable`]): small files whose chunks all come from it first are then
/// read, verified and written off the thread that plans and records.
///
/// ```
/// use syncore::apply::{ChunkSource, SharedSource};
/// use syncore::store::MemStore;
///
/// let store = MemStore::default();
/// assert!(store.shareable().is_none());
/// assert!(SharedSource(&store).shareable().is_some());
/// ```
pub struct SharedSource<'a, S: ?Sized>(pub &'a S);

impl<S: ChunkSource + Sync + ?Sized> ChunkSource for SharedSource<'_, S> {
    fn read_chunk(&self, id: &Digest) -> Result<Vec<u8>> {
        self.0.read_chunk(id)
    }

    fn origin(&self) -> ChunkOrigin {
        self.0.origin()
    }

    fn read_chunk_from(&self, id: &Digest) -> Result<(Vec<u8>, ChunkOrigin)> {
        self.0.read_chunk_from(id)
    }

    fn read_verified(
        &self,
        id: &Digest,
        algo: HashAlgo,
        hint: Option<&ChunkLocation>,
    ) -> Result<(Vec<u8>, ChunkOrigin)> {
        self.0.read_verified(id, algo, hint)
    }

    fn shareable(&self) -> Option<&(dyn ChunkSource + Sync)> {
        Some(self)
    }
}

/// Tries sources in order; the first that has a chunk serves it.
#[derive(Default)]
pub struct Layered<'a> {
    sources: Vec<(&'a dyn ChunkSource, ChunkOrigin)>,
}

impl<'a> Layered<'a> {
    /// No sources yet.
    pub fn new() -> Self {
        Layered::default()
    }

    /// Adds a source whose bytes count as local reuse.
    pub fn local(mut self, source: &'a dyn ChunkSource) -> Self {
        self.sources.push((source, ChunkOrigin::Local));
        self
    }

    /// Adds a source whose bytes count as transferred.
    pub fn remote(mut self, source: &'a dyn ChunkSource) -> Self {
        self.sources.push((source, ChunkOrigin::Remote));
        self
    }
}

impl ChunkSource for Layered<'_> {
    fn read_chunk(&self, id: &Digest) -> Result<Vec<u8>> {
        self.read_chunk_from(id).map(|(bytes, _)| bytes)
    }

    fn read_chunk_from(&self, id: &Digest) -> Result<(Vec<u8>, ChunkOrigin)> {
        self.first_that_serves(id, |source| source.read_chunk(id))
    }

    /// Like the other sources, but a source whose bytes fail the check is passed over for
    /// the next one; if none serves the chunk, a corrupt read is the error reported.
    fn read_verified(
        &self,
        id: &Digest,
        algo: HashAlgo,
        hint: Option<&ChunkLocation>,
    ) -> Result<(Vec<u8>, ChunkOrigin)> {
        self.first_that_serves(id, |source| Ok(source.read_verified(id, algo, hint)?.0))
    }
}

/// The sources of one file write, ordered per chunk: a chunk `fetch_first` picks (one the plan
/// found in no local file) is asked of `remote` first, since looking for it locally would only
/// miss; every other chunk is looked for locally first. Either way the other source is the
/// fallback, so a wrong guess costs time, never the chunk.
pub(crate) struct FetchFirst<'a, F: Fn(&Digest) -> bool> {
    local_first: Layered<'a>,
    remote_first: Layered<'a>,
    fetch_first: F,
}

impl<'a, F: Fn(&Digest) -> bool> FetchFirst<'a, F> {
    /// `local` (reuse) and `remote` (transfer), ordered per chunk by `fetch_first`.
    pub(crate) fn new(
        local: &'a dyn ChunkSource,
        remote: &'a dyn ChunkSource,
        fetch_first: F,
    ) -> Self {
        FetchFirst {
            local_first: Layered::new().local(local).remote(remote),
            remote_first: Layered::new().remote(remote).local(local),
            fetch_first,
        }
    }

    fn ordered_for(&self, id: &Digest) -> &Layered<'a> {
        if (self.fetch_first)(id) {
            &self.remote_first
        } else {
            &self.local_first
        }
    }
}

impl<F: Fn(&Digest) -> bool> ChunkSource for FetchFirst<'_, F> {
    fn read_chunk(&self, id: &Digest) -> Result<Vec<u8>> {
        self.ordered_for(id).read_chunk(id)
    }

    fn read_chunk_from(&self, id: &Digest) -> Result<(Vec<u8>, ChunkOrigin)> {
        self.ordered_for(id).read_chunk_from(id)
    }

    fn read_verified(
        &self,
        id: &Digest,
        algo: HashAlgo,
        hint: Option<&ChunkLocation>,
    ) -> Result<(Vec<u8>, ChunkOrigin)> {
        self.ordered_for(id).read_verified(id, algo, hint)
    }
}

impl Layered<'_> {
    fn first_that_serves(
        &self,
        id: &Digest,
        read: impl Fn(&dyn ChunkSource) -> Result<Vec<u8>>,
    ) -> Result<(Vec<u8>, ChunkOrigin)> {
        let mut error: Option<Error> = None;
        for (source, origin) in &self.sources {
            match read(*source) {
                Ok(bytes) => return Ok((bytes, *origin)),
                Err(e) => {
                    let keep_earlier = error
                        .as_ref()
                        .is_some_and(|kept| kept.kind() == crate::ErrorKind::Corrupt);
                    if !keep_earlier {
                        error = Some(e);
                    }
                }
            }
        }
        Err(error.unwrap_or_else(|| Error::NotFound(format!("chunk {id}: no sources"))))
    }
}

/// The `len` bytes of `file` at `offset` (the file is read from its current position, which
/// must be the start: it was just opened). The buffer is filled by the read itself, not
/// zeroed first; a file shorter than the range is an `UnexpectedEof` error.
fn read_range(mut file: &std::fs::File, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    if offset != 0 {
        file.seek(SeekFrom::Start(offset))?;
    }
    let mut bytes = Vec::with_capacity(len);
    file.take(len as u64).read_to_end(&mut bytes)?;
    if bytes.len() != len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!(
                "the file ends {} bytes into a {len}-byte chunk",
                bytes.len()
            ),
        ));
    }
    Ok(bytes)
}

/// Where a chunk's bytes sit inside a local file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChunkLocation {
    /// The file, relative to the replica root.
    pub path: RelPath,
    /// Byte offset of the chunk in the file.
    pub offset: u64,
    /// Length of the chunk in bytes.
    pub len: u32,
}

impl ChunkLocation {
    /// The location of every chunk of `manifest`, stored at `path`.
    pub fn of_manifest<'a>(
        path: &RelPath,
        manifest: &'a FileManifest,
    ) -> impl Iterator<Item = (Digest, ChunkLocation)> + 'a {
        let path = path.clone();
        manifest.chunks().iter().map(move |c| {
            (
                c.id,
                ChunkLocation {
                    path: path.clone(),
                    offset: c.offset,
                    len: c.len,
                },
            )
        })
    }
}

/// Finds where chunks sit in local files (the index implements this from its chunk table).
pub trait ChunkLocator {
    /// Candidate locations of chunk `id` (possibly stale: every read is verified).
    fn locate(&self, id: &Digest) -> Result<Vec<ChunkLocation>>;
}

impl ChunkLocator for std::collections::HashMap<Digest, Vec<ChunkLocation>> {
    fn locate(&self, id: &Digest) -> Result<Vec<ChunkLocation>> {
        Ok(self.get(id).cloned().unwrap_or_default())
    }
}

/// A locator that knows no chunk: [`LocalChunks`] over it reads only where the applier's
/// hints say ([`LocalChunks::following_hints`]), e.g. a peer's files while its index is busy
/// scanning.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLocations;

impl ChunkLocator for NoLocations {
    fn locate(&self, _id: &Digest) -> Result<Vec<ChunkLocation>> {
        Ok(Vec::new())
    }
}

/// Serves chunks from files already in the replica, verifying every read.
pub struct LocalChunks<'a, L: ChunkLocator + ?Sized> {
    root: PathBuf,
    algo: HashAlgo,
    locator: &'a L,
    follows_hints: bool,
    /// One per reading thread (see [`reader_slot`]), so threads reading at once do not wait
    /// on each other's checks.
    walked: [Mutex<Walked>; READER_SLOTS],
}

/// What a [`LocalChunks`] remembers between reads.
#[derive(Default)]
struct Walked {
    /// Directories already walked without meeting a symlink, so each is checked once per
    /// source rather than once per chunk (every read is verified against its id anyway).
    verified_dirs: VerifiedDirs,
    /// The last directories opened (the oldest goes first), held open: each reading thread
    /// reads in path order, so most reads open their file by name alone instead of walking
    /// the whole path again.
    recent_dirs: Vec<Arc<Dir>>,
}

/// Directories a [`LocalChunks`] keeps open per reading thread: each reads in path order.
const RECENT_DIRS: usize = 2;

/// Slots of [`Walked`] state in a [`LocalChunks`]: twice the placing threads, so those
/// (numbered one after another as they start) rarely share one.
const READER_SLOTS: usize = 2 * MAX_PLACING_THREADS;

/// The slot of the calling thread: threads are numbered in the order they first read.
fn reader_slot() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SLOT: usize = NEXT.fetch_add(1, Ordering::Relaxed) % READER_SLOTS;
    }
    SLOT.with(|slot| *slot)
}

impl Walked {
    /// The directory `parent` (verified), held open.
    fn dir(&mut self, parent: &Path) -> Option<Arc<Dir>> {
        if let Some(i) = self
            .recent_dirs
            .iter()
            .rposition(|dir| dir.path() == parent)
        {
            return Some(self.recent_dirs[i].clone());
        }
        let dir = Arc::new(Dir::open(parent).ok()?);
        if self.recent_dirs.len() == RECENT_DIRS {
            self.recent_dirs.remove(0);
        }
        self.recent_dirs.push(dir.clone());
        Some(dir)
    }
}

/// Opens the file at `path` without following a symlink, by name inside `dir` (its
/// directory, held open) if there is one.
fn open_in(dir: Option<Arc<Dir>>, path: &Path) -> Result<std::fs::File> {
    match (dir, path.file_name()) {
        (Some(dir), Some(name)) => dir.open_read(name).at_path(path),
        _ => open_nofollow(path),
    }
}

impl<'a, L: ChunkLocator + ?Sized> LocalChunks<'a, L> {
    /// Reads files under `root`, hashing with `algo`, at the locations `locator` gives.
    pub fn new(root: impl Into<PathBuf>, algo: HashAlgo, locator: &'a L) -> Self {
        LocalChunks {
            root: root.into(),
            algo,
            locator,
            follows_hints: false,
            walked: Default::default(),
        }
    }

    /// Also tries the place the applier names for each chunk (the path and offset it has in
    /// the file being built) before asking the locator: right for a source over the sender's
    /// own tree, whose files sit where the receiver's plan puts them, so most chunks need no
    /// lookup. Every read is still verified; a wrong guess costs one read.
    pub fn following_hints(mut self) -> Self {
        self.follows_hints = true;
        self
    }

    /// The bytes at `location` if they hash to `id` (a file that changed since it was indexed,
    /// or a wrong hint, simply fails).
    fn read_checked(&self, location: &ChunkLocation, id: &Digest) -> Option<Vec<u8>> {
        let bytes = self.read_at(location).ok()?;
        (self.algo.digest(&bytes) == *id).then_some(bytes)
    }

    fn read_at(&self, location: &ChunkLocation) -> Result<Vec<u8>> {
        // The lock covers the checks and the cached directory, not the reading, and is the
        // calling thread's own unless more threads read than there are slots.
        let (path, dir) = {
            let mut walked = self.walked[reader_slot()]
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let path = checked_path_cached(
                &self.root,
                &location.path,
                false,
                false,
                &mut walked.verified_dirs,
            )?;
            let dir = path.parent().and_then(|parent| walked.dir(parent));
            (path, dir)
        };
        let file = open_in(dir, &path)?;
        // Opened without following a final symlink, then checked through the descriptor: what
        // is read is exactly what was checked.
        if !file.metadata().at_path(&path)?.is_file() {
            return Err(Error::NotFound(format!(
                "{}: not a regular file",
                location.path
            )));
        }
        read_range(&file, location.offset, location.len as usize).at_path(&path)
    }
}

impl<L: ChunkLocator + ?Sized> ChunkSource for LocalChunks<'_, L> {
    fn read_chunk(&self, id: &Digest) -> Result<Vec<u8>> {
        for location in self.locator.locate(id)? {
            if let Some(bytes) = self.read_checked(&location, id) {
                return Ok(bytes);
            }
        }
        Err(Error::NotFound(format!("chunk {id} in local files")))
    }

    fn origin(&self) -> ChunkOrigin {
        ChunkOrigin::Local
    }

    fn read_verified(
        &self,
        id: &Digest,
        algo: HashAlgo,
        hint: Option<&ChunkLocation>,
    ) -> Result<(Vec<u8>, ChunkOrigin)> {
        if algo != self.algo {
            return Ok((checked(self.read_chunk(id)?, id, algo)?, ChunkOrigin::Local));
        }
        if let Some(place) = hint.filter(|_| self.follows_hints) {
            if let Some(bytes) = self.read_checked(place, id) {
                return Ok((bytes, ChunkOrigin::Local));
            }
        }
        // Every read is checked against `id` under this very algorithm.
        Ok((self.read_chunk(id)?, ChunkOrigin::Local))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::{Chunker, ChunkerConfig};
    use crate::store::MemStore;
    use std::collections::HashMap;

    #[test]
    fn local_chunks_are_verified_and_layered_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        let chunker = Chunker::new(ChunkerConfig::fixed(4), HashAlgo::Blake3).unwrap();
        std::fs::write(dir.path().join("a"), b"aaaabbbb").unwrap();
        let manifest = FileManifest::of_slice(&chunker, b"aaaabbbb");
        let path = RelPath::new("a").unwrap();
        let mut map: HashMap<Digest, Vec<ChunkLocation>> = HashMap::new();
        for (id, loc) in ChunkLocation::of_manifest(&path, &manifest) {
            map.entry(id).or_default().push(loc);
        }
        let local = LocalChunks::new(dir.path(), HashAlgo::Blake3, &map);
        let a = HashAlgo::Blake3.digest(b"aaaa");
        assert_eq!(local.read_chunk(&a).unwrap(), b"aaaa");
        // The file changed: the stale location no longer verifies.
        std::fs::write(dir.path().join("a"), b"xxxxbbbb").unwrap();
        assert!(local.read_chunk(&a).is_err());
        let store = MemStore::new(HashAlgo::Blake3);
        store.put_data(b"aaaa").unwrap();
        let layered = Layered::new().local(&local).remote(&store);
        assert_eq!(
            layered.read_chunk_from(&a).unwrap(),
            (b"aaaa".to_vec(), ChunkOrigin::Remote)
        );
        let b = HashAlgo::Blake3.digest(b"bbbb");
        assert_eq!(layered.read_chunk_from(&b).unwrap().1, ChunkOrigin::Local);
        let none = HashAlgo::Blake3.digest(b"none");
        assert!(layered.read_chunk(&none).is_err());
    }

    #[test]
    fn a_range_is_read_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        let open = || std::fs::File::open(&path).unwrap();
        assert_eq!(read_range(&open(), 0, 4).unwrap(), b"0123");
        assert_eq!(read_range(&open(), 6, 4).unwrap(), b"6789");
        let short = read_range(&open(), 8, 4).unwrap_err();
        assert_eq!(short.kind(), std::io::ErrorKind::UnexpectedEof);
        assert!(
            short.to_string().contains("2 bytes into a 4-byte chunk"),
            "{short}"
        );
    }

    /// A store that counts the chunks it was asked for.
    struct Asked<'a> {
        store: &'a MemStore,
        asked: std::cell::Cell<usize>,
    }

    impl ChunkSource for Asked<'_> {
        fn read_chunk(&self, id: &Digest) -> Result<Vec<u8>> {
            self.asked.set(self.asked.get() + 1);
            self.store.get(id)
        }
    }

    #[test]
    fn fetch_first_asks_the_remote_first_only_for_the_chunks_it_picks() {
        let algo = HashAlgo::Blake3;
        let (near, far) = (MemStore::new(algo), MemStore::new(algo));
        let both = near.put_data(b"in both").unwrap();
        let only_far = far.put_data(b"only far").unwrap();
        far.put_data(b"in both").unwrap();
        let only_near = near.put_data(b"only near").unwrap();
        let local = Asked {
            store: &near,
            asked: Default::default(),
        };
        let remote = Asked {
            store: &far,
            asked: Default::default(),
        };
        let picked = [both, only_near];
        let sources = FetchFirst::new(&local, &remote, |id: &Digest| picked.contains(id));
        let read = |id: &Digest| sources.read_verified(id, algo, None).unwrap();
        // Picked and served remotely: the local source is never asked.
        assert_eq!(read(&both), (b"in both".to_vec(), ChunkOrigin::Remote));
        assert_eq!((local.asked.get(), remote.asked.get()), (0, 1));
        // Not picked: local first, remote as the fallback.
        assert_eq!(read(&only_far), (b"only far".to_vec(), ChunkOrigin::Remote));
        assert_eq!((local.asked.get(), remote.asked.get()), (1, 2));
        // Picked wrongly: the remote misses, the local source still serves it.
        assert_eq!(
            read(&only_near),
            (b"only near".to_vec(), ChunkOrigin::Local)
        );
        assert_eq!((local.asked.get(), remote.asked.get()), (2, 3));
    }

    #[test]
    fn hints_are_followed_only_when_asked_and_always_verified() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), b"aaaabbbb").unwrap();
        let algo = HashAlgo::Blake3;
        let b = algo.digest(b"bbbb");
        let at = |offset| ChunkLocation {
            path: RelPath::new("a").unwrap(),
            offset,
            len: 4,
        };
        // The locator knows nothing: only the hint can find the chunk.
        let nowhere: HashMap<Digest, Vec<ChunkLocation>> = HashMap::new();
        let plain = LocalChunks::new(dir.path(), algo, &nowhere);
        assert_eq!(
            plain
                .read_verified(&b, algo, Some(&at(4)))
                .unwrap_err()
                .kind(),
            crate::ErrorKind::NotFound
        );
        let hinted = LocalChunks::new(dir.path(), algo, &nowhere).following_hints();
        assert_eq!(
            hinted.read_verified(&b, algo, Some(&at(4))).unwrap(),
            (b"bbbb".to_vec(), ChunkOrigin::Local)
        );
        // A wrong hint is checked, not trusted.
        assert_eq!(
            hinted
                .read_verified(&b, algo, Some(&at(0)))
                .unwrap_err()
                .kind(),
            crate::ErrorKind::NotFound
        );
        // So is a hint naming a file that is not there.
        let missing = ChunkLocation {
            path: RelPath::new("missing/a").unwrap(),
            offset: 4,
            len: 4,
        };
        assert!(hinted.read_verified(&b, algo, Some(&missing)).is_err());
    }

    /// Serves the same wrong bytes for every id.
    struct Lying;

    impl ChunkSource for Lying {
        fn read_chunk(&self, _id: &Digest) -> Result<Vec<u8>> {
            Ok(b"not what you asked for".to_vec())
        }
    }

    #[test]
    fn verified_reads_pass_over_a_lying_source_and_report_corruption() {
        let algo = HashAlgo::Blake3;
        let store = MemStore::new(algo);
        let good = store.put_data(b"good bytes").unwrap();
        let lying = Lying;
        assert_eq!(
            lying.read_verified(&good, algo, None).unwrap_err().kind(),
            crate::ErrorKind::Corrupt
        );
        let layered = Layered::new().local(&lying).remote(&store);
        assert_eq!(
            layered.read_verified(&good, algo, None).unwrap(),
            (b"good bytes".to_vec(), ChunkOrigin::Remote)
        );
        // Nobody has it: the corrupt read is what is reported, not the store's "not found".
        let missing = algo.digest(b"missing");
        assert_eq!(
            layered
                .read_verified(&missing, algo, None)
                .unwrap_err()
                .kind(),
            crate::ErrorKind::Corrupt
        );
        let honest = Layered::new().remote(&store);
        assert_eq!(
            honest
                .read_verified(&missing, algo, None)
                .unwrap_err()
                .kind(),
            crate::ErrorKind::NotFound
        );
    }
}
