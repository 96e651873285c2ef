//! [`MemoryTarget`]: an [`ApplyTarget`] and [`ChunkLocator`] over a [`MemoryView`].
//!
//! This module owns the in-memory stand-in for the index on the apply side, used by tests and
//! the simulation until the SQLite index implements the same traits: applied changes are
//! recorded in the view, disk stats are kept per path, and chunk locations are derived from
//! the live files' manifests. It never touches the disk except to stat a path the caller asks
//! it to [`observe`](MemoryTarget::observe).

use std::collections::HashMap;
use std::path::Path;

use crate::apply::run::ApplyTarget;
use crate::apply::safety::DiskStat;
use crate::apply::source::{ChunkLocation, ChunkLocator};
use crate::entry::{Entry, EntryKind};
use crate::error::Result;
use crate::hash::Digest;
use crate::manifest::FileManifest;
use crate::path::RelPath;
use crate::sync::MemoryView;

/// A replica's recorded state in memory, as the apply side sees it.
#[derive(Debug, Clone, Default)]
pub struct MemoryTarget {
    /// The recorded entries (what planning reads).
    pub view: MemoryView,
    stats: HashMap<RelPath, DiskStat>,
}

impl MemoryTarget {
    /// Wraps a view; no stats are known yet.
    pub fn new(view: MemoryView) -> Self {
        MemoryTarget {
            view,
            stats: HashMap::new(),
        }
    }

    /// Records the current disk stat of `path` under `root`, as a scan would after indexing
    /// the file (or forgets it if nothing is there).
    pub fn observe(&mut self, root: &Path, path: &RelPath) -> Result<()> {
        match DiskStat::of_path(&path.to_fs_path(root))? {
            Some(stat) => self.stats.insert(path.clone(), stat),
            None => self.stats.remove(path),
        };
        Ok(())
    }

    /// The stat recorded for `path`.
    pub fn stat(&self, path: &RelPath) -> Option<&DiskStat> {
        self.stats.get(path)
    }
}

impl ApplyTarget for MemoryTarget {
    fn recorded_stat(&self, path: &RelPath) -> Result<Option<DiskStat>> {
        Ok(self.stats.get(path).copied())
    }

    fn record_applied(
        &mut self,
        entry: &Entry,
        manifest: Option<&FileManifest>,
        stat: Option<&DiskStat>,
    ) -> Result<()> {
        match stat {
            Some(stat) => self.stats.insert(entry.path.clone(), *stat),
            None => self.stats.remove(&entry.path),
        };
        self.view.record(entry.clone(), manifest);
        Ok(())
    }

    fn locate_chunk(&self, id: &Digest) -> Result<Vec<ChunkLocation>> {
        self.locate(id)
    }
}

impl ChunkLocator for MemoryTarget {
    fn locate(&self, id: &Digest) -> Result<Vec<ChunkLocation>> {
        let mut out = Vec::new();
        for entry in self.view.live() {
            if entry.kind != EntryKind::File {
                continue;
            }
            let Some(manifest) = entry.content_id.and_then(|c| self.view.manifest(&c)) else {
                continue;
            };
            out.extend(
                ChunkLocation::of_manifest(&entry.path, manifest)
                    .filter(|(chunk, _)| chunk == id)
                    .map(|(_, location)| location),
            );
        }
        Ok(out)
    }
}
