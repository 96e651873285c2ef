//! Reconciliation: a peer's [`ChangeSet`] against the local state, to a [`Plan`].
//!
//! This module owns the decision rules: version-vector comparison per path, the conflict
//! policy, the direction, edit-versus-delete, move detection, case-collision detection and the
//! mass-delete guard. It reads the local state only through the [`LocalView`] trait (the
//! index implements it; [`MemoryView`](crate::sync::MemoryView) is the in-memory one) and is
//! pure: it never touches the disk, the network or the clock, so the same inputs always give
//! the same plan.

use std::collections::{HashMap, HashSet};

/// The planner's maps and sets: keyed by paths and ids, hashed with a fast, randomly seeded
/// hash.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
type FastSet<T> = HashSet<T, foldhash::fast::RandomState>;

use crate::entry::{Entry, EntryKind};
use crate::error::{Error, Result};
use crate::hash::Digest;
use crate::path::RelPath;
use crate::sync::manifests::ManifestLookup;
use crate::sync::plan::{Action, Collision, Conflict, Plan};
use crate::sync::policy::{conflict_author, conflict_copy_name, Direction, Side, SyncOptions};
use crate::sync::{Causality, ChangeSet, ReplicaId, VersionVector};

/// How many paths [`reconcile`] looks up at once through [`LocalView::visit_entries_at`].
pub const LOOKUP_BATCH: usize = 4096;

/// Read-only access to a replica's current state, as reconciliation needs it.
///
/// The SQLite index implements this for real replicas; [`MemoryView`](crate::sync::MemoryView)
/// implements it in memory. Implementations report what the index last recorded (including
/// tombstones); they never scan the disk from these methods.
pub trait LocalView {
    /// The local replica's id (its counter is bumped for changes the plan makes on its own
    /// behalf, such as mirror deletions).
    fn replica_id(&self) -> ReplicaId;

    /// The recorded entry at `path`, tombstones included; `None` if the path was never seen.
    fn entry(&self, path: &RelPath) -> Result<Option<Entry>>;

    /// Calls `f(i, entry)` with the recorded entry at `paths[i]` (as [`entry`](Self::entry)
    /// finds it), for every `i` in increasing order; stops at the first error.
    ///
    /// A batch of lookups that lends each entry instead of returning it, so finding nothing to
    /// do allocates nothing. Planning asks in batches of up to [`LOOKUP_BATCH`] paths, sorted
    /// as the change set is (usually by path); the index and [`MemoryView`] override this
    /// with an ordered walk.
    ///
    /// [`MemoryView`]: crate::sync::MemoryView
    fn visit_entries_at(
        &self,
        paths: &[&RelPath],
        f: &mut dyn FnMut(usize, Option<&Entry>) -> Result<()>,
    ) -> Result<()> {
        for (i, path) in paths.iter().enumerate() {
            f(i, self.entry(path)?.as_ref())?;
        }
        Ok(())
    }

    /// Whether the bytes of chunk `id` are available locally (in a local file or store), so a
    /// plan need not fetch them.
    fn has_chunk(&self, id: &Digest) -> Result<bool>;

    /// How many live (not deleted) entries the replica has; the delete guard's denominator.
    fn live_entry_count(&self) -> Result<u64>;

    /// The live paths strictly inside directory `dir` (any depth). Only asked when a plan
    /// would remove `dir`, to keep directories that still hold something.
    fn live_under(&self, dir: &RelPath) -> Result<Vec<RelPath>>;

    /// The live paths other than `path` whose [`RelPath::case_fold_key`] equals `path`'s.
    fn case_fold_matches(&self, path: &RelPath) -> Result<Vec<RelPath>>;

    /// Calls `f` with every recorded entry, tombstones included, in any order. Only used when
    /// mirroring from a complete change set (to find local paths the peer does not have).
    fn for_each_entry(&self, f: &mut dyn FnMut(&Entry) -> Result<()>) -> Result<()>;
}

impl<T: LocalView + ?Sized> LocalView for &T {
    fn replica_id(&self) -> ReplicaId {
        (**self).replica_id()
    }
    fn entry(&self, path: &RelPath) -> Result<Option<Entry>> {
        (**self).entry(path)
    }
    fn visit_entries_at(
        &self,
        paths: &[&RelPath],
        f: &mut dyn FnMut(usize, Option<&Entry>) -> Result<()>,
    ) -> Result<()> {
        (**self).visit_entries_at(paths, f)
    }
    fn has_chunk(&self, id: &Digest) -> Result<bool> {
        (**self).has_chunk(id)
    }
    fn live_entry_count(&self) -> Result<u64> {
        (**self).live_entry_count()
    }
    fn live_under(&self, dir: &RelPath) -> Result<Vec<RelPath>> {
        (**self).live_under(dir)
    }
    fn case_fold_matches(&self, path: &RelPath) -> Result<Vec<RelPath>> {
        (**self).case_fold_matches(path)
    }
    fn for_each_entry(&self, f: &mut dyn FnMut(&Entry) -> Result<()>) -> Result<()> {
        (**self).for_each_entry(f)
    }
}

/// Plans what the local replica must do to take in `changes` under `options`.
///
/// Per path: remote dominates → take it; local dominates or equal → nothing; concurrent →
/// identical content merges the vectors silently (an index-only [`Action::Record`]),
/// otherwise a conflict resolved by the policy (edit beats delete by default). The
/// [`Direction`] restricts which way changes flow. Fails with
/// [`ErrorKind::Conflict`](crate::ErrorKind::Conflict) if the plan would delete more than
/// [`SyncOptions::max_delete_ratio`] of the live tree without
/// [`SyncOptions::confirm_mass_delete`], and with `Corrupt` if the change set is invalid.
pub fn reconcile(
    local: &impl LocalView,
    changes: &ChangeSet,
    options: &SyncOptions,
) -> Result<Plan> {
    let manifests = ManifestLookup::new(&changes.manifests);
    changes.validate_with(&manifests)?;
    reconcile_checked(local, changes, &manifests, options)
}

/// Decodes a peer's change set (which validates it) and plans it: [`reconcile`] without
/// validating the same change set twice.
pub fn reconcile_encoded(
    local: &impl LocalView,
    bytes: &[u8],
    options: &SyncOptions,
) -> Result<Plan> {
    let changes = ChangeSet::decode_unvalidated(bytes)?;
    let manifests = ManifestLookup::new(&changes.manifests);
    changes.validate_with(&manifests)?;
    reconcile_checked(local, &changes, &manifests, options)
}

fn reconcile_checked(
    local: &impl LocalView,
    changes: &ChangeSet,
    manifests: &ManifestLookup<'_>,
    options: &SyncOptions,
) -> Result<Plan> {
    let mut planner = Planner {
        local,
        options,
        local_id: local.replica_id(),
        manifests,
        plan: Plan {
            source: changes.source,
            since: changes.since,
            cursor: changes.cursor,
            // About one action per entry (a conflict copy adds one, a mirror its deletions).
            actions: Vec::with_capacity(changes.entries.len()),
            ..Plan::default()
        },
        created_keys: FastMap::default(),
    };
    for batch in changes.entries.chunks(LOOKUP_BATCH) {
        let paths: Vec<&RelPath> = batch.iter().map(|e| &e.path).collect();
        let mut visited = 0;
        local.visit_entries_at(&paths, &mut |i, current| {
            if i != visited {
                return Err(Error::invalid(format!(
                    "LocalView::visit_entries_at visited path {i} where {visited} was due"
                )));
            }
            visited += 1;
            planner.path(current, &batch[i])
        })?;
        if visited != batch.len() {
            return Err(Error::invalid(format!(
                "LocalView::visit_entries_at visited {visited} of {} paths",
                batch.len()
            )));
        }
    }
    if options.direction == Direction::MirrorFromRemote && changes.is_complete() {
        let mentioned: FastSet<&RelPath> = changes.entries.iter().map(|e| &e.path).collect();
        let mut extra = Vec::new();
        local.for_each_entry(&mut |e| {
            if !e.deleted && !mentioned.contains(&e.path) {
                extra.push(e.clone());
            }
            Ok(())
        })?;
        for entry in extra {
            let mut tombstone = tombstone_of(&entry);
            tombstone.version.bump(planner.local_id);
            planner.push_delete(tombstone, entry);
        }
    }
    let local_id = planner.local_id;
    let mut plan = planner.plan;
    detect_moves(&mut plan);
    plan.sort();
    keep_nonempty_dirs(&mut plan, local, local_id)?;
    guard_mass_delete(&plan, local, options)?;
    plan.verbatim = records_only_sent_versions(&plan, changes);
    Ok(plan)
}

/// True if every version `plan` records is the version `changes` sent for its path.
fn records_only_sent_versions(plan: &Plan, changes: &ChangeSet) -> bool {
    if plan.actions.is_empty() {
        return true;
    }
    let entries = &changes.entries;
    let sorted = entries.windows(2).all(|w| w[0].path < w[1].path);
    let by_path: FastMap<&RelPath, &Entry> = if sorted {
        FastMap::default()
    } else {
        entries.iter().map(|e| (&e.path, e)).collect()
    };
    // Actions come in path order within each phase, so the entry after the last one found is
    // usually the next one wanted.
    let mut next = 0;
    let mut sent = |path: &RelPath| -> Option<&Entry> {
        if !sorted {
            return by_path.get(path).copied();
        }
        let i = match entries.get(next) {
            Some(e) if e.path == *path => next,
            _ => entries.binary_search_by(|e| e.path.cmp(path)).ok()?,
        };
        next = i + 1;
        Some(&entries[i])
    };
    plan.actions.iter().flat_map(Action::recorded).all(|entry| {
        sent(&entry.path)
            .is_some_and(|sent| sent.version == entry.version && sent.deleted == entry.deleted)
    })
}

struct Planner<'a, V: LocalView> {
    local: &'a V,
    options: &'a SyncOptions,
    local_id: ReplicaId,
    manifests: &'a ManifestLookup<'a>,
    plan: Plan,
    /// Case-fold keys of paths this plan creates, for remote-versus-remote collisions.
    created_keys: FastMap<String, RelPath>,
}

impl<V: LocalView> Planner<'_, V> {
    fn path(&mut self, current: Option<&Entry>, remote: &Entry) -> Result<()> {
        let direction = self.options.direction;
        let Some(local) = current else {
            if direction == Direction::MirrorToRemote && !remote.deleted {
                return Ok(());
            }
            return self.take(remote.clone(), None);
        };
        check_sizes_agree(local, remote)?;
        let causality = remote.version.compare(&local.version);
        let same = local.same_content(remote);
        if same {
            // Identical content: at most bookkeeping.
            if matches!(causality, Causality::Equal | Causality::DominatedBy) {
                return Ok(());
            }
            let mut entry = if causality == Causality::Dominates {
                remote.clone()
            } else {
                local.clone()
            };
            entry.version = merged(&local.version, &remote.version);
            if direction != Direction::MirrorToRemote && metadata_differs(local, &entry) {
                self.plan.actions.push(Action::UpdateMetadata {
                    entry,
                    expected: local.clone(),
                });
            } else {
                entry.mtime_ns = local.mtime_ns;
                entry.executable = local.executable;
                self.plan.actions.push(Action::Record {
                    entry,
                    requires: None,
                });
            }
            return Ok(());
        }
        let same_bytes = local.kind == EntryKind::File
            && remote.kind == EntryKind::File
            && !local.deleted
            && !remote.deleted
            && local.content_id == remote.content_id;
        if same_bytes && causality == Causality::Dominates && direction != Direction::MirrorToRemote
        {
            // Only the executable bit changed: no need to rewrite the bytes.
            self.plan.actions.push(Action::UpdateMetadata {
                entry: remote.clone(),
                expected: local.clone(),
            });
            return Ok(());
        }
        match direction {
            Direction::MirrorToRemote => Ok(()),
            Direction::MirrorFromRemote => {
                let mut entry = remote.clone();
                entry.version = self.result_version(local, remote, Side::Remote);
                self.take(entry, Some(local.clone()))
            }
            Direction::TwoWay => match causality {
                Causality::DominatedBy => Ok(()),
                Causality::Dominates => self.take(remote.clone(), Some(local.clone())),
                Causality::Equal | Causality::Concurrent => self.conflict(local.clone(), remote),
            },
        }
    }

    /// The version to record for a result taken from `winner`: the merge of both vectors,
    /// bumped by the local replica when the merge equals the loser's vector (so no vector ever
    /// names two different contents).
    fn result_version(&self, local: &Entry, remote: &Entry, winner: Side) -> VersionVector {
        let mut version = merged(&local.version, &remote.version);
        let loser = match winner {
            Side::Local => &remote.version,
            Side::Remote => &local.version,
        };
        if &version == loser {
            version.bump(self.local_id);
        }
        version
    }

    fn conflict(&mut self, local: Entry, remote: &Entry) -> Result<()> {
        let options = self.options;
        let winner = if options.edit_beats_delete && local.deleted != remote.deleted {
            if local.deleted {
                Side::Remote
            } else {
                Side::Local
            }
        } else {
            options.policy.pick(&local, remote)
        };
        let (loser, loser_side) = match winner {
            Side::Local => (remote, Side::Remote),
            Side::Remote => (&local, Side::Local),
        };
        let keep_copy = options.policy.keeps_loser()
            && loser.kind == EntryKind::File
            && !loser.deleted
            && (loser_side == Side::Local || self.manifests.get(&content(loser)?).is_some());
        let winner_entry = match winner {
            Side::Local => &local,
            Side::Remote => remote,
        };
        let copy = if keep_copy {
            let author = conflict_author(&loser.version, &winner_entry.version);
            Some(self.free_copy_name(loser, author)?)
        } else {
            None
        };
        self.plan.conflicts.push(Conflict {
            path: local.path.clone(),
            local: local.clone(),
            remote: remote.clone(),
            winner,
            copy: copy.clone(),
        });
        let version = self.result_version(&local, remote, winner);
        match winner {
            Side::Local => {
                let mut requires = None;
                let existing = match &copy {
                    Some(copy) => self.local.entry(copy)?.filter(|e| !e.deleted),
                    None => None,
                };
                if existing.is_some() {
                    // The copy is already here (an earlier, interrupted resolution).
                } else if let Some(copy) = copy {
                    let mut entry = remote.clone();
                    entry.path = copy.clone();
                    entry.version = self.copy_version(&entry.path, &remote.version)?;
                    let before = self.plan.actions.len();
                    self.take(entry, None)?;
                    if self.plan.actions.len() == before {
                        // The copy could not be planned (a case collision): do not let the
                        // local version supersede the remote one yet.
                        return Ok(());
                    }
                    requires = Some(copy);
                }
                let mut entry = local;
                entry.version = version;
                self.plan.actions.push(Action::Record { entry, requires });
                Ok(())
            }
            Side::Remote => {
                let mut entry = remote.clone();
                entry.version = version;
                let copy_exists = match &copy {
                    Some(copy) => self.local.entry(copy)?.is_some_and(|e| !e.deleted),
                    None => false,
                };
                match copy {
                    // The loser was already copied (an earlier, interrupted resolution).
                    Some(_) if copy_exists => self.take(entry, Some(local)),
                    Some(copy) => {
                        let mut to = local.clone();
                        to.path = copy;
                        to.version = self.copy_version(&to.path, &local.version)?;
                        self.plan.actions.push(Action::Rename {
                            from: local,
                            to,
                            tombstone: None,
                        });
                        self.take(entry, None)
                    }
                    None => self.take(entry, Some(local)),
                }
            }
        }
    }

    /// The conflict-copy name for `loser`: the standard name, or, if a different file already
    /// lives there, the same name with `-2`, `-3`, ... after the replica id.
    fn free_copy_name(&self, loser: &Entry, author: ReplicaId) -> Result<RelPath> {
        let base = conflict_copy_name(&loser.path, loser.mtime_ns, author)?;
        let usable = |path: &RelPath| -> Result<bool> {
            Ok(match self.local.entry(path)? {
                Some(e) if !e.deleted => e.kind == loser.kind && e.content_id == loser.content_id,
                _ => true,
            })
        };
        if usable(&base)? {
            return Ok(base);
        }
        let name = base.file_name();
        let tag = author.short();
        for n in 2..1000u32 {
            let renamed = name.replacen(&tag, &format!("{tag}-{n}"), 1);
            let candidate = match base.parent() {
                Some(parent) => parent.join(&renamed)?,
                None => RelPath::new(&renamed)?,
            };
            if usable(&candidate)? {
                return Ok(candidate);
            }
        }
        Err(Error::Conflict(format!(
            "{}: no free conflict-copy name",
            loser.path
        )))
    }

    /// A conflict copy carries the loser's vector, so the replicas that make the same copy
    /// independently agree on it; a recorded entry at the copy path is dominated too.
    fn copy_version(&self, copy: &RelPath, loser: &VersionVector) -> Result<VersionVector> {
        let mut version = loser.clone();
        if let Some(existing) = self.local.entry(copy)? {
            version.merge(&existing.version);
            version.bump(self.local_id);
        }
        Ok(version)
    }

    /// Plans making `entry` the local state at its path, where `current` is recorded now.
    fn take(&mut self, entry: Entry, current: Option<Entry>) -> Result<()> {
        let expected = current.filter(|c| !c.deleted);
        if entry.deleted {
            match expected {
                Some(live) => self.push_delete(entry, live),
                None => self.plan.actions.push(Action::Record {
                    entry,
                    requires: None,
                }),
            }
            return Ok(());
        }
        if expected.is_none() && self.collides(&entry.path)? {
            return Ok(());
        }
        let action = match entry.kind {
            EntryKind::File => {
                let id = content(&entry)?;
                let manifest = self
                    .manifests
                    .get(&id)
                    .ok_or_else(|| {
                        Error::corrupt(format!("change set: no manifest for {}", entry.path))
                    })?
                    .clone();
                let mut seen = FastSet::default();
                let mut missing_chunks = Vec::new();
                for chunk in manifest.chunks() {
                    let first_time = manifest.chunks().len() == 1 || seen.insert(chunk.id);
                    if first_time && !self.local.has_chunk(&chunk.id)? {
                        missing_chunks.push(chunk.id);
                    }
                }
                Action::WriteFile {
                    entry,
                    manifest,
                    missing_chunks,
                    expected,
                }
            }
            EntryKind::Dir => {
                if expected.as_ref().is_some_and(|e| e.kind == EntryKind::Dir) {
                    Action::Record {
                        entry,
                        requires: None,
                    }
                } else {
                    Action::MakeDir { entry, expected }
                }
            }
            EntryKind::Symlink => Action::MakeSymlink { entry, expected },
        };
        self.plan.actions.push(action);
        Ok(())
    }

    fn push_delete(&mut self, tombstone: Entry, expected: Entry) {
        self.plan.actions.push(if expected.kind == EntryKind::Dir {
            Action::RemoveDir {
                tombstone,
                expected,
            }
        } else {
            Action::Delete {
                tombstone,
                expected,
            }
        });
    }

    /// Records case-insensitive collisions of a path about to be created; true if the
    /// creation must be skipped.
    fn collides(&mut self, path: &RelPath) -> Result<bool> {
        let key = path.case_fold_key();
        let mut hits: Vec<(RelPath, bool)> = self
            .local
            .case_fold_matches(path)?
            .into_iter()
            .map(|p| (p, true))
            .collect();
        match self.created_keys.get(&key) {
            Some(other) if other != path => hits.push((other.clone(), false)),
            Some(_) => {}
            None => {
                self.created_keys.insert(key, path.clone());
            }
        }
        let skipped = self.options.case_insensitive && !hits.is_empty();
        for (other, other_is_local) in hits {
            self.plan.collisions.push(Collision {
                path: path.clone(),
                other,
                other_is_local,
                skipped,
            });
        }
        Ok(skipped)
    }
}

fn merged(a: &VersionVector, b: &VersionVector) -> VersionVector {
    let mut v = a.clone();
    v.merge(b);
    v
}

fn metadata_differs(a: &Entry, b: &Entry) -> bool {
    a.kind == EntryKind::File
        && !a.deleted
        && !b.deleted
        && (a.mtime_ns != b.mtime_ns || a.executable != b.executable)
}

fn content(entry: &Entry) -> Result<Digest> {
    entry
        .content_id
        .ok_or_else(|| Error::corrupt(format!("{}: file entry without content id", entry.path)))
}

/// The tombstone for deleting `entry` (same version; the caller bumps it).
pub(crate) fn tombstone_of(entry: &Entry) -> Entry {
    Entry {
        deleted: true,
        content_id: None,
        symlink_target: None,
        size: 0,
        executable: false,
        ..entry.clone()
    }
}

/// A remote file naming the content the local file at its path holds must have its size: a
/// content id fixes the bytes (a one-chunk file's names only its chunk, whose bytes fix the
/// length), so a different size is a change set that lies, refused before it is recorded.
fn check_sizes_agree(local: &Entry, remote: &Entry) -> Result<()> {
    let both_files = local.kind == EntryKind::File && remote.kind == EntryKind::File;
    let same_id = local.content_id.is_some() && local.content_id == remote.content_id;
    if both_files && !local.deleted && !remote.deleted && same_id && local.size != remote.size {
        return Err(Error::corrupt(format!(
            "change set: {} names the content held here with size {}, but says {} bytes",
            remote.path, local.size, remote.size
        )));
    }
    Ok(())
}

/// Turns a delete of a local file plus a create of the same content elsewhere into a rename.
fn detect_moves(plan: &mut Plan) {
    let mut deletes: FastMap<Digest, Vec<usize>> = FastMap::default();
    for (i, action) in plan.actions.iter().enumerate() {
        if let Action::Delete { expected, .. } = action {
            if let (EntryKind::File, Some(id)) = (expected.kind, expected.content_id) {
                deletes.entry(id).or_default().push(i);
            }
        }
    }
    if deletes.is_empty() {
        return;
    }
    let mut removed = FastSet::default();
    let mut replacements = Vec::new();
    for (i, action) in plan.actions.iter().enumerate() {
        let Action::WriteFile {
            entry,
            expected: None,
            ..
        } = action
        else {
            continue;
        };
        let Some(candidates) = entry.content_id.and_then(|id| deletes.get_mut(&id)) else {
            continue;
        };
        let Some(d) = candidates.pop() else { continue };
        if let Action::Delete {
            tombstone,
            expected,
        } = &plan.actions[d]
        {
            replacements.push((
                i,
                Action::Rename {
                    from: expected.clone(),
                    to: entry.clone(),
                    tombstone: Some(tombstone.clone()),
                },
            ));
            removed.insert(d);
        }
    }
    for (i, action) in replacements {
        plan.actions[i] = action;
    }
    let mut index = 0;
    plan.actions.retain(|_| {
        let keep = !removed.contains(&index);
        index += 1;
        keep
    });
}

/// Edit beats delete for directories: a directory the plan would remove but that still holds
/// live entries the plan does not delete is kept, with a version that supersedes the remote
/// tombstone (so the peer recreates it instead of looping on a removal that cannot happen).
fn keep_nonempty_dirs(plan: &mut Plan, local: &impl LocalView, local_id: ReplicaId) -> Result<()> {
    if !plan
        .actions
        .iter()
        .any(|a| matches!(a, Action::RemoveDir { .. }))
    {
        return Ok(());
    }
    let mut leaving: FastSet<RelPath> = plan
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Delete { tombstone, .. } | Action::RemoveDir { tombstone, .. } => {
                Some(tombstone.path.clone())
            }
            Action::Rename {
                tombstone: Some(t), ..
            } => Some(t.path.clone()),
            _ => None,
        })
        .collect();
    let mut changed = false;
    // Actions are sorted, so directory removals come deepest first.
    for action in plan.actions.iter_mut() {
        let Action::RemoveDir {
            tombstone,
            expected,
        } = action
        else {
            continue;
        };
        let survivors = local
            .live_under(&expected.path)?
            .into_iter()
            .any(|p| !leaving.contains(&p));
        if survivors {
            leaving.remove(&expected.path);
            let mut entry = expected.clone();
            entry.version = merged(&expected.version, &tombstone.version);
            entry.version.bump(local_id);
            *action = Action::Record {
                entry,
                requires: None,
            };
            changed = true;
        }
    }
    if changed {
        plan.sort();
    }
    Ok(())
}

fn guard_mass_delete(plan: &Plan, local: &impl LocalView, options: &SyncOptions) -> Result<()> {
    if options.confirm_mass_delete {
        return Ok(());
    }
    let deletions = plan.deletions() as u64;
    if deletions == 0 {
        return Ok(());
    }
    let live = local.live_entry_count()?;
    if live <= options.delete_guard_min_entries {
        return Ok(());
    }
    let ratio = deletions as f64 / live as f64;
    if ratio > options.max_delete_ratio {
        return Err(Error::Conflict(format!(
            "mass delete refused: the plan deletes {deletions} of {live} live entries \
             ({:.0}% > {:.0}%); if the peer's tree is really meant to be gone (not an \
             unmounted disk), set confirm_mass_delete",
            ratio * 100.0,
            options.max_delete_ratio * 100.0
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::{Chunk, Chunker, ChunkerConfig};
    use crate::hash::HashAlgo;
    use crate::manifest::FileManifest;
    use crate::sync::{ConflictPolicy, MemoryView};
    use crate::ErrorKind;

    fn view(n: u8) -> MemoryView {
        MemoryView::new(ReplicaId::from_bytes([n; 16]))
    }

    fn write(v: &mut MemoryView, path: &str, data: &[u8], mtime: i64) {
        let chunker = Chunker::new(ChunkerConfig::fixed(4), HashAlgo::Blake3).unwrap();
        let manifest = FileManifest::of_slice(&chunker, data);
        v.local_write(&RelPath::new(path).unwrap(), manifest, mtime, false);
    }

    #[test]
    fn a_plan_is_verbatim_only_when_it_records_the_versions_sent() {
        let (mut a, mut b) = (view(1), view(2));
        for (i, path) in ["d/x", "a", "c", "b"].iter().enumerate() {
            write(&mut a, path, path.as_bytes(), i as i64);
        }
        let opts = SyncOptions::new(ConflictPolicy::KeepBoth, Direction::TwoWay);
        let changes = a.changes_since(0);
        let plan = reconcile(&b, &changes, &opts).unwrap();
        assert!(plan.verbatim, "{plan:#?}");
        // The same entries out of path order give the same answer.
        let mut shuffled = changes.clone();
        shuffled.entries.reverse();
        assert!(reconcile(&b, &shuffled, &opts).unwrap().verbatim);
        // A concurrent edit is recorded with a merged, bumped vector and a conflict copy.
        b.apply_plan(&plan);
        write(&mut a, "a", b"edited on a", 10);
        write(&mut b, "a", b"edited on b", 11);
        let cursor = changes.cursor;
        let plan = reconcile(&b, &a.changes_since(cursor), &opts).unwrap();
        assert_eq!(plan.conflicts.len(), 1);
        assert!(!plan.verbatim, "{plan:#?}");
    }

    #[test]
    fn equal_vectors_with_different_content_are_a_conflict_and_the_result_is_bumped() {
        let mut a = view(1);
        let mut b = view(2);
        write(&mut a, "f", b"one", 5);
        // Same vector {1:1}, different content: only a bug or a hostile peer does this.
        let mut forged = a.changes_since(0);
        let chunker = Chunker::new(ChunkerConfig::fixed(4), HashAlgo::Blake3).unwrap();
        let other = FileManifest::of_slice(&chunker, b"two");
        forged.entries[0].content_id = Some(other.content_id());
        forged.entries[0].mtime_ns = 9;
        forged.manifests = vec![other];
        let opts = SyncOptions::new(ConflictPolicy::NewestWins, Direction::TwoWay);
        let plan = reconcile(&a, &forged, &opts).unwrap();
        assert_eq!(plan.conflicts.len(), 1);
        let Action::WriteFile { entry, .. } = &plan.actions[0] else {
            panic!("{plan:#?}")
        };
        // The result must not reuse a vector that already names other content.
        assert_eq!(
            entry
                .version
                .compare(&a.entries().values().next().unwrap().version),
            Causality::Dominates
        );
        b.apply_plan(&plan);
    }

    #[test]
    fn a_change_set_giving_held_content_another_size_is_corrupt() {
        let (mut a, mut b) = (view(1), view(2));
        write(&mut a, "f", b"abc", 5);
        let opts = SyncOptions::new(ConflictPolicy::NewestWins, Direction::TwoWay);
        b.apply_plan(&reconcile(&b, &a.changes_since(0), &opts).unwrap());
        // A one-chunk content id names only its chunk: a peer can claim another length for it.
        let mut forged = a.changes_since(0);
        let chunk = forged.manifests[0].chunks()[0];
        let lying = FileManifest::from_chunks(HashAlgo::Blake3, vec![Chunk { len: 5, ..chunk }]);
        let lying = lying.unwrap();
        assert_eq!(lying.content_id(), forged.manifests[0].content_id());
        forged.entries[0].size = 5;
        forged.entries[0]
            .version
            .bump(ReplicaId::from_bytes([1; 16]));
        forged.manifests = vec![lying];
        let err = reconcile(&b, &forged, &opts).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    }

    #[test]
    fn mirror_from_remote_deletes_local_only_paths_only_for_complete_change_sets() {
        let mut local = view(1);
        let mut remote = view(2);
        write(&mut local, "mine", b"local only", 1);
        write(&mut remote, "theirs", b"remote", 1);
        let opts = SyncOptions::new(ConflictPolicy::NewestWins, Direction::MirrorFromRemote);
        let full = reconcile(&local, &remote.changes_since(0), &opts).unwrap();
        assert_eq!(full.deletions(), 1);
        let Some(Action::Delete { tombstone, .. }) = full
            .actions
            .iter()
            .find(|a| matches!(a, Action::Delete { .. }))
        else {
            panic!("{full:#?}")
        };
        assert_eq!(tombstone.version.get(&local.replica_id()), 2);
        let mut partial = remote.changes_since(0);
        partial.since = 1;
        let plan = reconcile(&local, &partial, &opts).unwrap();
        assert_eq!(plan.deletions(), 0);
    }

    #[test]
    fn a_removed_directory_that_still_holds_local_files_is_kept() {
        let mut a = view(1);
        let mut b = view(2);
        let d = RelPath::new("d").unwrap();
        a.local_mkdir(&d, 1);
        write(&mut a, "d/shared", b"x", 1);
        let opts = SyncOptions::default();
        let plan = reconcile(&b, &a.changes_since(0), &opts).unwrap();
        b.apply_plan(&plan);
        // b adds a file inside d while a deletes d and everything it knew in it.
        write(&mut b, "d/new", b"b's new file", 2);
        write(&mut b, "d-sibling", b"not inside d", 2);
        let cursor = a.seq();
        a.local_delete(&RelPath::new("d/shared").unwrap(), 3)
            .unwrap();
        a.local_delete(&d, 3).unwrap();
        let plan = reconcile(&b, &a.changes_since(cursor), &opts).unwrap();
        assert_eq!(plan.deletions(), 1, "{plan:#?}");
        let kept = plan
            .actions
            .iter()
            .find_map(|x| match x {
                Action::Record { entry, .. } if entry.path == d => Some(entry.clone()),
                _ => None,
            })
            .unwrap();
        assert!(!kept.deleted);
        b.apply_plan(&plan);
        // a takes the directory back along with b's file; both converge.
        let plan = reconcile(&a, &b.changes_since(0), &opts).unwrap();
        a.apply_plan(&plan);
        let live = |v: &MemoryView| v.live().map(|e| e.path.to_string()).collect::<Vec<_>>();
        assert_eq!(live(&a), ["d", "d-sibling", "d/new"]);
        assert_eq!(b.live_under(&d).unwrap(), [RelPath::new("d/new").unwrap()]);
        assert_eq!(live(&a), live(&b));
        assert!(reconcile(&b, &a.changes_since(0), &opts)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn conflict_copies_never_overwrite_another_file() {
        let mut a = view(1);
        let mut b = view(2);
        write(&mut a, "f.txt", b"from a", 10);
        write(&mut b, "f.txt", b"from b", 20);
        let opts = SyncOptions::default();
        let first = reconcile(&b, &a.changes_since(0), &opts).unwrap();
        let copy = first.conflicts[0].copy.clone().unwrap();
        // Something else already sits at the copy's name: a numbered name is used instead.
        write(&mut b, copy.as_str(), b"unrelated", 5);
        let plan = reconcile(&b, &a.changes_since(0), &opts).unwrap();
        let other = plan.conflicts[0].copy.clone().unwrap();
        assert_ne!(other, copy);
        assert!(other.as_str().contains("-01010101-2"), "{other}");
        // The copy already exists with the loser's content: it is not written again.
        let mut c = view(3);
        write(&mut c, "f.txt", b"from c", 20);
        let plan = reconcile(&c, &a.changes_since(0), &opts).unwrap();
        let copy = plan.conflicts[0].copy.clone().unwrap();
        write(&mut c, copy.as_str(), b"from a", 10);
        let plan = reconcile(&c, &a.changes_since(0), &opts).unwrap();
        assert!(
            plan.actions
                .iter()
                .all(|x| !matches!(x, Action::WriteFile { .. })),
            "{plan:#?}"
        );
    }

    #[test]
    fn an_executable_bit_change_is_a_metadata_update() {
        let mut a = view(1);
        let mut b = view(2);
        write(&mut a, "tool", b"#!/bin/sh", 1);
        let opts = SyncOptions::default();
        b.apply_plan(&reconcile(&b, &a.changes_since(0), &opts).unwrap());
        let chunker = Chunker::new(ChunkerConfig::fixed(4), HashAlgo::Blake3).unwrap();
        let manifest = FileManifest::of_slice(&chunker, b"#!/bin/sh");
        a.local_write(&RelPath::new("tool").unwrap(), manifest, 2, true);
        let plan = reconcile(&b, &a.changes_since(0), &opts).unwrap();
        assert!(
            matches!(plan.actions.as_slice(), [Action::UpdateMetadata { entry, .. }] if entry.executable),
            "{plan:#?}"
        );
    }

    #[test]
    fn mirror_to_remote_never_changes_the_tree() {
        let mut local = view(1);
        let mut remote = view(2);
        write(&mut local, "f", b"local", 1);
        write(&mut remote, "f", b"remote", 9);
        write(&mut remote, "g", b"new", 9);
        let opts = SyncOptions::new(ConflictPolicy::PreferRemote, Direction::MirrorToRemote);
        let plan = reconcile(&local, &remote.changes_since(0), &opts).unwrap();
        assert!(plan.is_empty(), "{plan:#?}");
    }

    #[test]
    fn a_remote_tombstone_guard_counts_only_live_deletions() {
        let mut local = view(1);
        for i in 0..12 {
            write(&mut local, &format!("f{i}"), b"x", 1);
        }
        let mut remote = view(2);
        for i in 0..12 {
            write(&mut remote, &format!("g{i}"), b"y", 1);
            remote
                .local_delete(&RelPath::new(&format!("g{i}")).unwrap(), 2)
                .unwrap();
        }
        // Twelve tombstones for paths the local replica never had delete nothing.
        let plan = reconcile(&local, &remote.changes_since(0), &SyncOptions::default()).unwrap();
        assert_eq!(plan.deletions(), 0);
        assert!(plan.is_index_only());
        let err = {
            let opts = SyncOptions {
                max_delete_ratio: 0.0,
                direction: Direction::MirrorFromRemote,
                ..SyncOptions::default()
            };
            reconcile(&local, &remote.changes_since(0), &opts).unwrap_err()
        };
        assert_eq!(err.kind(), ErrorKind::Conflict);
    }
}
