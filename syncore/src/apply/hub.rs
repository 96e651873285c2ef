//! Applying a plan to a replica that keeps content in a [`ChunkStore`] instead of a tree.
//!
//! A hub (the "server" of a Dropbox-like service) has an index but no working tree: taking in
//! a client's plan means storing the chunks it lacks and recording the entries.
//! [`apply_plan_to_store`] does exactly that, verifying every chunk before it is stored and
//! recording a file only once all of its chunks are in the store. It never touches a
//! filesystem path and never deletes chunks (reclaiming unreferenced chunks is the index's
//! job, from its refcounts).

use crate::apply::run::{ApplyIssue, ApplyReport, ApplyTarget};
use crate::apply::source::{ChunkOrigin, ChunkSource};
use crate::error::{Error, Result};
use crate::store::ChunkStore;
use crate::sync::{Action, Plan};

/// Takes in `plan` on a store-backed replica: every chunk of every written file that `store`
/// lacks is read from `source`, verified and stored; then each action is recorded in
/// `target` (renames record their destination and tombstone, deletions their tombstone).
/// A file whose chunks cannot all be stored is reported in [`ApplyReport::failed`] and not
/// recorded; the others continue. Only failures of `target` or `store` writes are errors.
pub fn apply_plan_to_store(
    plan: &Plan,
    source: &dyn ChunkSource,
    store: &dyn ChunkStore,
    target: &mut impl ApplyTarget,
) -> Result<ApplyReport> {
    let mut report = ApplyReport::default();
    let mut done = std::collections::HashSet::new();
    for action in &plan.actions {
        match action {
            Action::WriteFile {
                entry, manifest, ..
            } => {
                if entry.content_id != Some(manifest.content_id()) {
                    report.failed.push(issue(
                        action,
                        Error::corrupt("entry and manifest describe different content"),
                    ));
                    continue;
                }
                match store_chunks(manifest, source, store, &mut report) {
                    Ok(()) => {}
                    Err(e) if e.kind() == crate::ErrorKind::Io => return Err(e),
                    Err(e) => {
                        report.failed.push(issue(action, e));
                        continue;
                    }
                }
                target.record_applied(entry, Some(manifest), None)?;
                report.files_written += 1;
                report.bytes_written += manifest.size();
                report.recorded += 1;
            }
            Action::MakeDir { entry, .. }
            | Action::MakeSymlink { entry, .. }
            | Action::UpdateMetadata { entry, .. } => {
                target.record_applied(entry, None, None)?;
                report.recorded += 1;
            }
            Action::Record { entry, requires } => {
                if let Some(required) = requires {
                    if !done.contains(required) {
                        report.failed.push(issue(
                            action,
                            Error::NotFound(format!("depends on {required}, not stored")),
                        ));
                        continue;
                    }
                }
                target.record_applied(entry, None, None)?;
                report.recorded += 1;
            }
            Action::Delete { tombstone, .. } | Action::RemoveDir { tombstone, .. } => {
                target.record_applied(tombstone, None, None)?;
                report.deleted += 1;
                report.recorded += 1;
            }
            Action::Rename { to, tombstone, .. } => {
                target.record_applied(to, None, None)?;
                report.recorded += 1;
                if let Some(tombstone) = tombstone {
                    target.record_applied(tombstone, None, None)?;
                    report.recorded += 1;
                }
                report.renamed += 1;
            }
        }
        done.insert(action.path().clone());
    }
    Ok(report)
}

fn store_chunks(
    manifest: &crate::FileManifest,
    source: &dyn ChunkSource,
    store: &dyn ChunkStore,
    report: &mut ApplyReport,
) -> Result<()> {
    let algo = manifest.algo();
    for chunk in manifest.chunks() {
        if store.has(&chunk.id)? {
            continue;
        }
        let (bytes, origin) = source.read_verified(&chunk.id, algo, None)?;
        if bytes.len() != chunk.len as usize {
            return Err(Error::corrupt(format!(
                "chunk {} from the source has the wrong length",
                chunk.id
            )));
        }
        store.put(&chunk.id, &bytes)?;
        if origin == ChunkOrigin::Local {
            report.bytes_reused_locally += u64::from(chunk.len);
        }
    }
    Ok(())
}

fn issue(action: &Action, e: Error) -> ApplyIssue {
    ApplyIssue {
        path: action.path().clone(),
        kind: e.kind(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::MemoryTarget;
    use crate::chunk::{Chunker, ChunkerConfig};
    use crate::hash::HashAlgo;
    use crate::manifest::FileManifest;
    use crate::path::RelPath;
    use crate::store::MemStore;
    use crate::sync::{reconcile, LocalView, MemoryView, ReplicaId, SyncOptions};

    #[test]
    fn hub_stores_chunks_then_records_and_refuses_bad_ones() {
        let chunker = Chunker::new(ChunkerConfig::fixed(4), HashAlgo::Blake3).unwrap();
        let mut client = MemoryView::new(ReplicaId::from_bytes([1; 16]));
        let data = b"hub content!";
        let manifest = FileManifest::of_slice(&chunker, data);
        client.local_write(&RelPath::new("f").unwrap(), manifest.clone(), 1, false);
        let source = MemStore::new(HashAlgo::Blake3);
        for chunk in manifest.chunks() {
            let bytes = &data[chunk.offset as usize..chunk.end() as usize];
            source.put(&chunk.id, bytes).unwrap();
        }
        let mut hub = MemoryTarget::new(MemoryView::new(ReplicaId::from_bytes([9; 16])));
        let store = MemStore::new(HashAlgo::Blake3);
        let plan = reconcile(&hub.view, &client.changes_since(0), &SyncOptions::default()).unwrap();
        // Without the chunks, nothing is recorded.
        let empty = MemStore::new(HashAlgo::Blake3);
        let report = apply_plan_to_store(&plan, &empty, &store, &mut hub).unwrap();
        assert_eq!(report.failed.len(), 1);
        assert!(hub
            .view
            .entry(&RelPath::new("f").unwrap())
            .unwrap()
            .is_none());
        let report = apply_plan_to_store(&plan, &source, &store, &mut hub).unwrap();
        assert!(report.is_complete(), "{report:#?}");
        assert_eq!(report.bytes_written, data.len() as u64);
        assert!(store.missing(&plan.missing_chunks()).unwrap().is_empty());
        let replan = reconcile(&hub.view, &client.changes_since(0), &SyncOptions::default());
        assert!(replan.unwrap().is_empty());
    }
}
