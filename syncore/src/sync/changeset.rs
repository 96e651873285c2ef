//! The unit of exchange between replicas: a [`ChangeSet`] and its binary codec.
//!
//! A change set is what one replica ships to another: every entry whose local sequence number
//! is above the receiver's cursor (tombstones included), plus the manifests of the file
//! entries so the receiver can plan which chunks it must fetch. This module owns the versioned
//! wire format and its validation. Decoding treats every byte as hostile: lengths are bounded
//! by the remaining input before anything is allocated, paths go through [`RelPath::new`], and
//! any malformed input is [`ErrorKind::Corrupt`](crate::ErrorKind::Corrupt) (or the path's
//! `InvalidInput`), never a panic. A large change set is checksummed and its manifests are
//! decoded on two threads; the result, and the error reported first, are the same as on one.
//! This module never decides what a change set means for the receiver; that is
//! reconciliation's job.

use std::collections::HashMap;

use crate::entry::{Entry, EntryKind};
use crate::error::{Error, Result};
use crate::hash::Digest;
use crate::manifest::FileManifest;
use crate::path::{RelPath, MAX_PATH_LEN};
use crate::sync::manifests::ManifestLookup;
use crate::sync::{ReplicaId, VersionVector};

const MAGIC: &[u8; 4] = b"SYNC";
/// Version 2 names one-chunk content by its chunk (manifest format 2); a version 1 change set
/// comes from a build whose content ids differ, so it is refused rather than misread.
const FORMAT_VERSION: u8 = 2;
/// magic, version, 3 reserved bytes, source id, since, cursor, entry count, manifest count.
const HEADER_LEN: usize = 4 + 1 + 3 + 16 + 8 + 8 + 4 + 4;
const CHECKSUM_LEN: usize = 8;
/// The smallest possible encoded entry: path length (2) + 1-byte path + kind + flags + size +
/// mtime + seq + empty version vector (2).
const MIN_ENTRY_LEN: usize = 2 + 1 + 1 + 1 + 8 + 8 + 8 + 2;
/// Longest accepted symlink target, in bytes.
pub const MAX_SYMLINK_TARGET_LEN: usize = 4096;

const FLAG_DELETED: u8 = 1;
const FLAG_EXECUTABLE: u8 = 2;
const FLAG_CONTENT_ID: u8 = 4;
const FLAG_SYMLINK: u8 = 8;
const KNOWN_FLAGS: u8 = FLAG_DELETED | FLAG_EXECUTABLE | FLAG_CONTENT_ID | FLAG_SYMLINK;

/// The changes one replica sends another.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangeSet {
    /// The replica that produced the change set.
    pub source: ReplicaId,
    /// The receiver's cursor this change set starts after (0: everything, a full snapshot).
    pub since: u64,
    /// The sender's sequence number the receiver should remember as its new cursor.
    pub cursor: u64,
    /// Changed entries, tombstones included, each path at most once.
    pub entries: Vec<Entry>,
    /// The manifests of the live file entries (one per distinct content id).
    pub manifests: Vec<FileManifest>,
}

impl ChangeSet {
    /// True if this change set describes the sender's whole tree (it starts at cursor 0), so
    /// the receiver may treat paths it does not mention as absent on the sender.
    pub fn is_complete(&self) -> bool {
        self.since == 0
    }

    /// The manifests indexed by content id.
    pub fn manifest_map(&self) -> HashMap<Digest, &FileManifest> {
        self.manifests.iter().map(|m| (m.content_id(), m)).collect()
    }

    /// Checks the semantic rules the codec cannot express: each path appears once, live file
    /// entries have a content id and a manifest of that id and size, symlinks have a target.
    pub fn validate(&self) -> Result<()> {
        self.validate_with(&ManifestLookup::new(&self.manifests))
    }

    /// [`validate`](Self::validate) with manifest lookups the caller keeps.
    pub(crate) fn validate_with(&self, manifests: &ManifestLookup<'_>) -> Result<()> {
        // Change sets are usually sorted by path, which proves uniqueness without hashing.
        let sorted = self.entries.windows(2).all(|w| w[0].path < w[1].path);
        let mut seen = std::collections::HashSet::new();
        // Manifests usually follow their contents' first appearance among the entries.
        let mut next_manifest = 0;
        for entry in &self.entries {
            let bad = |why: &str| Error::corrupt(format!("change set: {}: {why}", entry.path));
            if !sorted && !seen.insert(&entry.path) {
                return Err(bad("path appears more than once"));
            }
            if entry.deleted {
                continue;
            }
            match entry.kind {
                EntryKind::File => {
                    let id = entry
                        .content_id
                        .ok_or_else(|| bad("file without content id"))?;
                    let manifest = manifests
                        .find_from(&id, &mut next_manifest)
                        .ok_or_else(|| bad("no manifest for the file's content id"))?;
                    if manifest.size() != entry.size {
                        return Err(bad("entry size differs from its manifest"));
                    }
                }
                EntryKind::Symlink => {
                    if entry.symlink_target.is_none() {
                        return Err(bad("symlink without target"));
                    }
                }
                EntryKind::Dir => {}
            }
        }
        Ok(())
    }

    /// The change set in syncore's versioned binary format.
    ///
    /// Layout (integers little-endian): magic `SYNC`, format version (1 byte), 3 reserved zero
    /// bytes, source replica id (16), since (u64), cursor (u64), entry count (u32), manifest
    /// count (u32); then each entry: path length (u16) and UTF-8 bytes, kind code, flags
    /// (deleted 1, executable 2, has content id 4, has symlink target 8), size (u64), mtime
    /// (i64), seq (u64), content id (32, if flagged), symlink target length (u16) and bytes (if
    /// flagged), version vector ([`VersionVector::encode`]); then each manifest: length (u32)
    /// and [`FileManifest::encode`] bytes; then a checksum, the first 8 bytes of the BLAKE3
    /// hash of everything before it.
    pub fn encode(&self) -> Vec<u8> {
        let manifests: Vec<Vec<u8>> = self.manifests.iter().map(FileManifest::encode).collect();
        encode_parts(
            self.source,
            self.since,
            self.cursor,
            &self.entries,
            manifests.iter().map(Vec::as_slice),
        )
    }

    /// Parses bytes made by [`ChangeSet::encode`] and [validates](ChangeSet::validate) them.
    ///
    /// Malformed bytes fail with [`ErrorKind::Corrupt`](crate::ErrorKind::Corrupt); a path a
    /// replica must not accept (absolute, `..`, NUL, ...) fails with
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming it.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let changes = Self::decode_unvalidated(bytes)?;
        changes.validate()?;
        Ok(changes)
    }

    /// [`decode`](Self::decode) without the semantic [`validate`](Self::validate) step, for
    /// callers that validate right after (with a manifest map they keep).
    pub(crate) fn decode_unvalidated(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < HEADER_LEN + CHECKSUM_LEN {
            return Err(Error::corrupt(format!(
                "change set: truncated: {} bytes, at least {} needed",
                bytes.len(),
                HEADER_LEN + CHECKSUM_LEN
            )));
        }
        if &bytes[..4] != MAGIC {
            return Err(Error::corrupt("change set: bad magic"));
        }
        if bytes[4] != FORMAT_VERSION {
            return Err(Error::Unsupported(format!(
                "change set format version {} (this build reads {FORMAT_VERSION}; both \
                 replicas must run builds that name content alike)",
                bytes[4]
            )));
        }
        let (body, checksum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
        // The checksum and the parse are independent: a large change set is hashed on a second
        // thread while this one parses it. A bad checksum is reported before any parse error.
        let (sum_ok, parsed) = join(
            body.len() >= PARALLEL_MIN_BYTES,
            || blake3::hash(body).as_bytes()[..CHECKSUM_LEN] == *checksum,
            || parse_body(body),
        );
        if !sum_ok {
            return Err(Error::corrupt("change set: checksum mismatch"));
        }
        parsed
    }
}

/// Change sets at least this long are checksummed on a second thread while they are parsed.
const PARALLEL_MIN_BYTES: usize = 1 << 20;
/// At least this many manifests are decoded in two halves, one on a second thread.
const PARALLEL_MIN_MANIFESTS: usize = 1024;

/// Runs `a` and `b`, `a` on a second thread when `parallel` is set, the machine has more than
/// one core and a thread can be started (otherwise one after the other, on this thread).
fn join<A: Send, B>(parallel: bool, a: impl Fn() -> A + Sync, b: impl FnOnce() -> B) -> (A, B) {
    if !(parallel && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)) {
        return (a(), b());
    }
    std::thread::scope(|scope| {
        let helper = std::thread::Builder::new()
            .name("syncore-decode".into())
            .spawn_scoped(scope, &a);
        let b = b();
        let a = match helper {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => a(),
        };
        (a, b)
    })
}

/// Everything after the format version, up to the checksum: header fields, entries and
/// manifests, which must fill `body` exactly.
fn parse_body(body: &[u8]) -> Result<ChangeSet> {
    let mut r = Reader {
        bytes: body,
        pos: 5,
    };
    if r.take(3)? != [0, 0, 0] {
        return Err(Error::corrupt("change set: reserved bytes are not zero"));
    }
    let source = ReplicaId::from_bytes(r.array()?);
    let since = r.u64()?;
    let cursor = r.u64()?;
    let entry_count = r.u32()? as usize;
    let manifest_count = r.u32()? as usize;
    if entry_count > r.remaining() / MIN_ENTRY_LEN {
        return Err(Error::corrupt(format!(
            "change set: {entry_count} entries cannot fit in {} bytes",
            r.remaining()
        )));
    }
    let mut entries = Vec::with_capacity(entry_count);
    for _ in 0..entry_count {
        entries.push(decode_entry(&mut r)?);
    }
    if manifest_count > r.remaining() / 4 {
        return Err(Error::corrupt(
            "change set: too many manifests for its length",
        ));
    }
    // Slice every manifest first (the count is bounded by the length), decode them after; a
    // truncated one is reported after any decoding error in the manifests before it.
    let mut encoded = Vec::with_capacity(manifest_count);
    let mut cut = Ok(());
    for _ in 0..manifest_count {
        match r.u32().and_then(|len| r.take(len as usize)) {
            Ok(bytes) => encoded.push(bytes),
            Err(err) => {
                cut = Err(err);
                break;
            }
        }
    }
    let manifests = decode_manifests(&encoded)?;
    cut?;
    if r.remaining() != 0 {
        return Err(Error::corrupt(format!(
            "change set: {} trailing bytes",
            r.remaining()
        )));
    }
    Ok(ChangeSet {
        source,
        since,
        cursor,
        entries,
        manifests,
    })
}

/// Decodes encoded manifests in order, many of them in two halves on two threads; the first
/// error in order wins.
fn decode_manifests(encoded: &[&[u8]]) -> Result<Vec<FileManifest>> {
    let decode_all = |part: &[&[u8]]| -> Result<Vec<FileManifest>> {
        part.iter()
            .map(|bytes| FileManifest::decode(bytes))
            .collect()
    };
    let (front, back) = encoded.split_at(encoded.len() / 2);
    let (front, back) = join(
        encoded.len() >= PARALLEL_MIN_MANIFESTS,
        || decode_all(front),
        || decode_all(back),
    );
    let mut manifests = front?;
    manifests.extend(back?);
    Ok(manifests)
}

fn count_u32(n: usize) -> u32 {
    // Counts beyond u32::MAX cannot be decoded back; saturating keeps encoding total and the
    // decoder rejects the mismatch rather than misreading it.
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The manifests a change set of `entries` (sorted by path) carries, in its order: one per
/// distinct content a live entry names, in order of first use, each as `manifest_of` gives
/// it for the content id and the index of the entry that first names it. `None` if
/// `manifest_of` has none for one of them.
pub(crate) fn manifests_in_order<M>(
    entries: &[Entry],
    mut manifest_of: impl FnMut(Digest, usize) -> Option<M>,
) -> Option<Vec<M>> {
    let mut named = std::collections::HashSet::with_hasher(foldhash::fast::RandomState::default());
    let mut manifests = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        if let Some(content_id) = entry.content_id.filter(|_| !entry.deleted) {
            if named.insert(content_id) {
                manifests.push(manifest_of(content_id, i)?);
            }
        }
    }
    Some(manifests)
}

/// The bytes [`ChangeSet::encode`] makes of a change set with these parts, the manifests given
/// already encoded ([`FileManifest::encode`]; an index stores them so), in order.
pub(crate) fn encode_parts<'m>(
    source: ReplicaId,
    since: u64,
    cursor: u64,
    entries: &[Entry],
    manifests: impl ExactSizeIterator<Item = &'m [u8]>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + entries.len() * 96 + manifests.len() * 96);
    out.extend_from_slice(MAGIC);
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&[0, 0, 0]);
    out.extend_from_slice(source.as_bytes());
    out.extend_from_slice(&since.to_le_bytes());
    out.extend_from_slice(&cursor.to_le_bytes());
    out.extend_from_slice(&count_u32(entries.len()).to_le_bytes());
    out.extend_from_slice(&count_u32(manifests.len()).to_le_bytes());
    for entry in entries {
        encode_entry(entry, &mut out);
    }
    for bytes in manifests {
        out.extend_from_slice(&count_u32(bytes.len()).to_le_bytes());
        out.extend_from_slice(bytes);
    }
    let checksum = blake3::hash(&out);
    out.extend_from_slice(&checksum.as_bytes()[..CHECKSUM_LEN]);
    out
}

fn encode_entry(entry: &Entry, out: &mut Vec<u8>) {
    let path = entry.path.as_str().as_bytes();
    // RelPath bounds paths to MAX_PATH_LEN (4096) bytes, which fits in u16.
    out.extend_from_slice(&(path.len().min(usize::from(u16::MAX)) as u16).to_le_bytes());
    out.extend_from_slice(&path[..path.len().min(usize::from(u16::MAX))]);
    out.push(entry.kind.code());
    let mut flags = 0;
    if entry.deleted {
        flags |= FLAG_DELETED;
    }
    if entry.executable {
        flags |= FLAG_EXECUTABLE;
    }
    if entry.content_id.is_some() {
        flags |= FLAG_CONTENT_ID;
    }
    if entry.symlink_target.is_some() {
        flags |= FLAG_SYMLINK;
    }
    out.push(flags);
    out.extend_from_slice(&entry.size.to_le_bytes());
    out.extend_from_slice(&entry.mtime_ns.to_le_bytes());
    out.extend_from_slice(&entry.seq.to_le_bytes());
    if let Some(id) = &entry.content_id {
        out.extend_from_slice(id.as_bytes());
    }
    if let Some(target) = &entry.symlink_target {
        let bytes = target.as_bytes();
        let len = bytes.len().min(MAX_SYMLINK_TARGET_LEN);
        out.extend_from_slice(&(len as u16).to_le_bytes());
        out.extend_from_slice(&bytes[..len]);
    }
    entry.version.encode_into(out);
}

fn decode_entry(r: &mut Reader<'_>) -> Result<Entry> {
    let path_len = usize::from(r.u16()?);
    if path_len == 0 || path_len > MAX_PATH_LEN {
        return Err(Error::corrupt(format!(
            "change set: path length {path_len}"
        )));
    }
    let raw = std::str::from_utf8(r.take(path_len)?)
        .map_err(|_| Error::corrupt("change set: path is not UTF-8"))?;
    let path = RelPath::new(raw)?;
    let code = r.u8()?;
    let kind = EntryKind::from_code(code)
        .ok_or_else(|| Error::corrupt(format!("change set: {path}: unknown kind {code}")))?;
    let flags = r.u8()?;
    if flags & !KNOWN_FLAGS != 0 {
        return Err(Error::corrupt(format!(
            "change set: {path}: unknown flags {flags:#x}"
        )));
    }
    let size = r.u64()?;
    let mtime_ns = r.i64()?;
    let seq = r.u64()?;
    let content_id = if flags & FLAG_CONTENT_ID != 0 {
        Some(Digest::from_bytes(r.array()?))
    } else {
        None
    };
    let symlink_target = if flags & FLAG_SYMLINK != 0 {
        let len = usize::from(r.u16()?);
        if len == 0 || len > MAX_SYMLINK_TARGET_LEN {
            return Err(Error::corrupt(format!(
                "change set: {path}: symlink target length {len}"
            )));
        }
        let target = std::str::from_utf8(r.take(len)?)
            .map_err(|_| Error::corrupt(format!("change set: {path}: target is not UTF-8")))?;
        if target.contains('\0') {
            return Err(Error::corrupt(format!(
                "change set: {path}: target contains NUL"
            )));
        }
        Some(target.to_owned())
    } else {
        None
    };
    let (version, used) = VersionVector::decode_prefix(r.rest())?;
    r.pos += used;
    Ok(Entry {
        path,
        kind,
        size,
        mtime_ns,
        executable: flags & FLAG_EXECUTABLE != 0,
        symlink_target,
        content_id,
        version,
        deleted: flags & FLAG_DELETED != 0,
        seq,
    })
}

/// A bounds-checked cursor over input bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or(&[])
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| Error::corrupt("change set: truncated"))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::{Chunker, ChunkerConfig};
    use crate::hash::HashAlgo;
    use crate::ErrorKind;
    use proptest::prelude::*;

    fn chunker() -> Chunker {
        Chunker::new(ChunkerConfig::fixed(4), HashAlgo::Blake3).unwrap()
    }

    fn file(path: &str, data: &[u8], counter: u64) -> (Entry, FileManifest) {
        let manifest = FileManifest::of_slice(&chunker(), data);
        let entry = Entry {
            path: RelPath::new(path).unwrap(),
            kind: EntryKind::File,
            size: manifest.size(),
            mtime_ns: 1_700_000_000_000_000_000,
            executable: counter.is_multiple_of(2),
            symlink_target: None,
            content_id: Some(manifest.content_id()),
            version: [(ReplicaId::from_bytes([7; 16]), counter)]
                .into_iter()
                .collect(),
            deleted: false,
            seq: counter,
        };
        (entry, manifest)
    }

    fn sample() -> ChangeSet {
        let (a, ma) = file("docs/a.txt", b"hello world", 3);
        let (b, mb) = file("b", b"", 4);
        let link = Entry {
            path: RelPath::new("link").unwrap(),
            kind: EntryKind::Symlink,
            size: 0,
            mtime_ns: -5,
            executable: false,
            symlink_target: Some("docs/a.txt".into()),
            content_id: None,
            version: VersionVector::new(),
            deleted: false,
            seq: 9,
        };
        let gone = Entry {
            path: RelPath::new("gone").unwrap(),
            deleted: true,
            content_id: None,
            ..a.clone()
        };
        ChangeSet {
            source: ReplicaId::from_bytes([1; 16]),
            since: 2,
            cursor: 9,
            entries: vec![a, b, link, gone],
            manifests: vec![ma, mb],
        }
    }

    #[test]
    fn roundtrips_and_rejects_damage() {
        let changes = sample();
        let bytes = changes.encode();
        assert_eq!(ChangeSet::decode(&bytes).unwrap(), changes);
        for i in [0, 4, 10, bytes.len() / 2, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert!(ChangeSet::decode(&bad).is_err(), "flip at {i}");
        }
        for len in 0..bytes.len() {
            assert!(ChangeSet::decode(&bytes[..len]).is_err());
        }
    }

    /// Re-seals a body with a valid checksum, as a hostile peer would.
    fn seal(mut body: Vec<u8>) -> Vec<u8> {
        let checksum = blake3::hash(&body);
        body.extend_from_slice(&checksum.as_bytes()[..CHECKSUM_LEN]);
        body
    }

    #[test]
    fn a_change_set_of_the_first_format_is_refused_as_unsupported() {
        let bytes = sample().encode();
        let mut body = bytes[..bytes.len() - CHECKSUM_LEN].to_vec();
        body[4] = 1;
        let err = ChangeSet::decode(&seal(body)).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Unsupported, "{err}");
    }

    #[test]
    fn hostile_paths_are_rejected_even_with_a_valid_checksum() {
        let changes = sample();
        let good = changes.encode();
        let body = &good[..good.len() - CHECKSUM_LEN];
        // The first entry's path ("docs/a.txt", 10 bytes) starts right after the header.
        for evil in ["/etc/passw", "../../x/yy", "docs/\0.txt", "a//b/c.txt"] {
            assert_eq!(evil.len(), 10);
            let mut bad = body.to_vec();
            bad[HEADER_LEN + 2..HEADER_LEN + 12].copy_from_slice(evil.as_bytes());
            let err = ChangeSet::decode(&seal(bad)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{evil:?}: {err}");
        }
        // A huge entry count must not allocate.
        let mut bad = body.to_vec();
        bad[HEADER_LEN - 8..HEADER_LEN - 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            ChangeSet::decode(&seal(bad)).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
    }

    #[test]
    fn large_change_sets_decode_the_same_on_two_threads() {
        let mut changes = ChangeSet::default();
        for i in 0..2 * PARALLEL_MIN_MANIFESTS {
            let (entry, manifest) = file(&format!("f{i:05}"), &(i as u64).to_le_bytes(), 1);
            changes.entries.push(entry);
            changes.manifests.push(manifest);
        }
        let good = changes.encode();
        assert_eq!(ChangeSet::decode(&good).unwrap(), changes);
        // A damaged manifest late in the list (decoded on the second half) is still found,
        // and a bad checksum wins over it.
        let body = &good[..good.len() - CHECKSUM_LEN];
        let mut bad = body.to_vec();
        let at = bad.len() - 20;
        bad[at] ^= 1;
        let err = ChangeSet::decode(&seal(bad.clone())).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt);
        assert!(err.to_string().contains("manifest"), "{err}");
        bad.extend_from_slice(&[0; CHECKSUM_LEN]);
        let err = ChangeSet::decode(&bad).unwrap_err();
        assert!(
            err.to_string().contains("change set: checksum mismatch"),
            "{err}"
        );
        // The same in one thread: `join` without parallelism gives the same answers.
        let (a, b) = join(false, || 1, || 2);
        assert_eq!((a, b), (1, 2));
        let (a, b) = join(true, || 3, || 4);
        assert_eq!((a, b), (3, 4));
    }

    #[test]
    fn semantic_validation() {
        let mut changes = sample();
        changes.manifests.pop();
        let err = ChangeSet::decode(&changes.encode()).unwrap_err();
        assert!(err.to_string().contains("no manifest"), "{err}");
        let mut twice = sample();
        let first = twice.entries[0].clone();
        twice.entries.push(first);
        assert!(ChangeSet::decode(&twice.encode()).is_err());
        assert!(ChangeSet::default().is_complete());
        assert!(!sample().is_complete());
    }

    proptest! {
        #[test]
        fn random_changesets_roundtrip(
            files in proptest::collection::btree_map("[a-z]{1,6}(/[a-z]{1,6}){0,2}", proptest::collection::vec(any::<u8>(), 0..40), 0..12),
            tombstones in proptest::collection::vec(any::<bool>(), 12),
            since in any::<u64>(),
        ) {
            let mut changes = ChangeSet { since, cursor: since.wrapping_add(1), ..ChangeSet::default() };
            for (i, (path, data)) in files.iter().enumerate() {
                let (mut entry, manifest) = file(path, data, i as u64 + 1);
                if tombstones[i] {
                    entry.deleted = true;
                    entry.content_id = None;
                } else {
                    changes.manifests.push(manifest);
                }
                changes.entries.push(entry);
            }
            prop_assert_eq!(ChangeSet::decode(&changes.encode()).unwrap(), changes);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = ChangeSet::decode(&bytes);
            let _ = ChangeSet::decode(&seal(bytes));
        }

        #[test]
        fn mutated_changesets_never_panic(pos in any::<usize>(), value in any::<u8>()) {
            let good = sample().encode();
            let mut body = good[..good.len() - CHECKSUM_LEN].to_vec();
            let len = body.len();
            body[pos % len] = value;
            let _ = ChangeSet::decode(&seal(body));
        }
    }
}
