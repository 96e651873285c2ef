//! A change set's manifests, found by content id without hashing them all up front.
//!
//! Validation looks up the manifest of every live file entry, and planning the manifest of
//! every file it writes. Change sets list their manifests in the order their contents first
//! appear among the entries, so validation walks both lists together and finds nearly every
//! manifest where it expects it ([`ManifestLookup::find_from`]); any other lookup goes
//! through a content-id map that is built on first need (with a fast keyed hash, since
//! content ids are already uniform). This module only finds manifests; deciding what a
//! missing or mismatched one means is the caller's job.

use std::cell::OnceCell;
use std::collections::HashMap;

use crate::hash::Digest;
use crate::manifest::FileManifest;

/// Lookups of a change set's manifests by content id; see the module documentation.
#[derive(Debug)]
pub(crate) struct ManifestLookup<'a> {
    list: &'a [FileManifest],
    /// Content id to position in `list` (the first one, if an id is listed twice).
    by_id: OnceCell<HashMap<Digest, usize, foldhash::fast::RandomState>>,
}

impl<'a> ManifestLookup<'a> {
    /// Lookups into `list`; nothing is indexed yet.
    pub(crate) fn new(list: &'a [FileManifest]) -> Self {
        ManifestLookup {
            list,
            by_id: OnceCell::new(),
        }
    }

    /// The manifest with content id `id`, if listed.
    pub(crate) fn get(&self, id: &Digest) -> Option<&'a FileManifest> {
        let by_id = self.by_id.get_or_init(|| {
            let mut map = HashMap::with_capacity_and_hasher(self.list.len(), Default::default());
            for (i, manifest) in self.list.iter().enumerate() {
                map.entry(manifest.content_id()).or_insert(i);
            }
            map
        });
        by_id.get(id).map(|&i| &self.list[i])
    }

    /// [`get`](Self::get), trying position `*next` first: when that manifest has content id
    /// `id`, it is returned without any hashing and `*next` moves past it. Looking up the ids
    /// of a change set's entries in order this way finds each new content at `*next`.
    pub(crate) fn find_from(&self, id: &Digest, next: &mut usize) -> Option<&'a FileManifest> {
        match self.list.get(*next) {
            Some(manifest) if manifest.content_id() == *id => {
                *next += 1;
                Some(manifest)
            }
            _ => self.get(id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::{Chunker, ChunkerConfig};
    use crate::hash::HashAlgo;

    #[test]
    fn finds_in_order_out_of_order_and_missing() {
        let chunker = Chunker::new(ChunkerConfig::fixed(4), HashAlgo::Blake3).unwrap();
        let list: Vec<FileManifest> = [&b"a"[..], b"b", b"c"]
            .iter()
            .map(|d| FileManifest::of_slice(&chunker, d))
            .collect();
        let ids: Vec<Digest> = list.iter().map(FileManifest::content_id).collect();
        let lookup = ManifestLookup::new(&list);
        let mut next = 0;
        assert_eq!(lookup.find_from(&ids[0], &mut next), Some(&list[0]));
        assert!(lookup.by_id.get().is_none(), "in order: nothing hashed");
        // A repeated content: found through the map, the position stays.
        assert_eq!(lookup.find_from(&ids[0], &mut next), Some(&list[0]));
        assert_eq!(next, 1);
        assert_eq!(lookup.find_from(&ids[2], &mut next), Some(&list[2]));
        assert_eq!(lookup.find_from(&ids[1], &mut next), Some(&list[1]));
        let other = FileManifest::of_slice(&chunker, b"d").content_id();
        assert_eq!(lookup.find_from(&other, &mut next), None);
        assert_eq!(lookup.get(&ids[2]), Some(&list[2]));
    }
}
