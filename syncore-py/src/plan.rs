//! Reconciliation and applying plans: `ConflictPolicy`, `Direction`, `SyncOptions`,
//! `ChangeSet`, `Plan` with its `Action`s, `ApplyReport`, and `MemoryReplica` (a replica whose
//! index is held in memory, driving the same planner and applier as an indexed one).

use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use syncore::apply::{apply_plan, apply_plan_to_store, ApplyIssue, ApplyReport, MemoryTarget};
use syncore::sync::{
    reconcile, reconcile_encoded, Action, ChangeSet, Collision, Conflict, ConflictPolicy,
    Direction, LocalView, MemoryView, Plan, PlanSummary, Side, SyncOptions,
};
use syncore::{ChunkStore, Hub, RelPath, Replica};

use crate::apply::PyDurability;
use crate::bytes::BytesLike;
use crate::entry::PyEntry;
use crate::errors::IntoPyResult;
use crate::hash::{lock, PyDigest};
use crate::manifest::PyFileManifest;
use crate::store::StoreArg;
use crate::sync::PyReplicaId;

/// How concurrent edits are resolved.
#[pyclass(
    module = "syncore",
    name = "ConflictPolicy",
    eq,
    eq_int,
    hash,
    frozen,
    from_py_object
)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms, non_camel_case_types)] // Python enum-member style
pub enum PyConflictPolicy {
    /// The newer mtime wins (ties broken deterministically); the loser is discarded.
    NEWEST_WINS,
    /// The newer mtime wins and the loser is kept as a `.sync-conflict-…` copy (the default).
    KEEP_BOTH,
    /// The local version always wins.
    PREFER_LOCAL,
    /// The remote version always wins.
    PREFER_REMOTE,
}

impl From<PyConflictPolicy> for ConflictPolicy {
    fn from(p: PyConflictPolicy) -> Self {
        match p {
            PyConflictPolicy::NEWEST_WINS => ConflictPolicy::NewestWins,
            PyConflictPolicy::KEEP_BOTH => ConflictPolicy::KeepBoth,
            PyConflictPolicy::PREFER_LOCAL => ConflictPolicy::PreferLocal,
            PyConflictPolicy::PREFER_REMOTE => ConflictPolicy::PreferRemote,
        }
    }
}

impl From<ConflictPolicy> for PyConflictPolicy {
    fn from(p: ConflictPolicy) -> Self {
        match p {
            ConflictPolicy::NewestWins => PyConflictPolicy::NEWEST_WINS,
            ConflictPolicy::KeepBoth => PyConflictPolicy::KEEP_BOTH,
            ConflictPolicy::PreferLocal => PyConflictPolicy::PREFER_LOCAL,
            ConflictPolicy::PreferRemote => PyConflictPolicy::PREFER_REMOTE,
        }
    }
}

/// Which way changes may flow.
#[pyclass(
    module = "syncore",
    name = "Direction",
    eq,
    eq_int,
    hash,
    frozen,
    from_py_object
)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms, non_camel_case_types)] // Python enum-member style
pub enum PyDirection {
    /// Both sides' changes propagate (the default).
    TWO_WAY,
    /// This replica is authoritative: remote changes are never taken.
    MIRROR_TO_REMOTE,
    /// The peer is authoritative: local changes are overwritten.
    MIRROR_FROM_REMOTE,
}

impl From<PyDirection> for Direction {
    fn from(d: PyDirection) -> Self {
        match d {
            PyDirection::TWO_WAY => Direction::TwoWay,
            PyDirection::MIRROR_TO_REMOTE => Direction::MirrorToRemote,
            PyDirection::MIRROR_FROM_REMOTE => Direction::MirrorFromRemote,
        }
    }
}

impl From<Direction> for PyDirection {
    fn from(d: Direction) -> Self {
        match d {
            Direction::TwoWay => PyDirection::TWO_WAY,
            Direction::MirrorToRemote => PyDirection::MIRROR_TO_REMOTE,
            Direction::MirrorFromRemote => PyDirection::MIRROR_FROM_REMOTE,
        }
    }
}

/// Which side of a conflict won.
#[pyclass(
    module = "syncore",
    name = "Side",
    eq,
    eq_int,
    hash,
    frozen,
    from_py_object
)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms, non_camel_case_types)] // Python enum-member style
pub enum PySide {
    /// This replica's version.
    LOCAL,
    /// The peer's version.
    REMOTE,
}

impl From<Side> for PySide {
    fn from(s: Side) -> Self {
        match s {
            Side::Local => PySide::LOCAL,
            Side::Remote => PySide::REMOTE,
        }
    }
}

/// Everything that shapes a plan. Immutable.
#[pyclass(module = "syncore", name = "SyncOptions", frozen)]
#[derive(Clone)]
pub struct PySyncOptions(pub(crate) SyncOptions);

#[pymethods]
impl PySyncOptions {
    /// Options; `case_insensitive=None` takes the platform default (macOS, Windows: True).
    #[new]
    #[pyo3(signature = (policy = PyConflictPolicy::KEEP_BOTH, direction = PyDirection::TWO_WAY, *, edit_beats_delete = true, max_delete_ratio = 0.5, delete_guard_min_entries = 10, confirm_mass_delete = false, case_insensitive = None))]
    fn new(
        policy: PyConflictPolicy,
        direction: PyDirection,
        edit_beats_delete: bool,
        max_delete_ratio: f64,
        delete_guard_min_entries: u64,
        confirm_mass_delete: bool,
        case_insensitive: Option<bool>,
    ) -> Self {
        let mut o = SyncOptions::new(policy.into(), direction.into());
        o.edit_beats_delete = edit_beats_delete;
        o.max_delete_ratio = max_delete_ratio;
        o.delete_guard_min_entries = delete_guard_min_entries;
        o.confirm_mass_delete = confirm_mass_delete;
        if let Some(ci) = case_insensitive {
            o.case_insensitive = ci;
        }
        PySyncOptions(o)
    }

    /// How concurrent edits are resolved.
    #[getter]
    fn policy(&self) -> PyConflictPolicy {
        self.0.policy.into()
    }

    /// Which way changes flow.
    #[getter]
    fn direction(&self) -> PyDirection {
        self.0.direction.into()
    }

    /// An edit concurrent with a delete keeps the edit.
    #[getter]
    fn edit_beats_delete(&self) -> bool {
        self.0.edit_beats_delete
    }

    /// Largest share of the live tree a plan may delete without confirmation.
    #[getter]
    fn max_delete_ratio(&self) -> f64 {
        self.0.max_delete_ratio
    }

    /// The delete guard applies above this many live entries.
    #[getter]
    fn delete_guard_min_entries(&self) -> u64 {
        self.0.delete_guard_min_entries
    }

    /// A mass deletion was confirmed.
    #[getter]
    fn confirm_mass_delete(&self) -> bool {
        self.0.confirm_mass_delete
    }

    /// Paths differing only in case are the same file.
    #[getter]
    fn case_insensitive(&self) -> bool {
        self.0.case_insensitive
    }
}

/// The changes one replica sends another, as a value (`encode()` to ship it).
#[pyclass(module = "syncore", name = "ChangeSet", frozen)]
pub struct PyChangeSet(pub(crate) ChangeSet);

#[pymethods]
impl PyChangeSet {
    /// Decodes bytes made by `encode()`; raises `CorruptError` on any damage.
    #[staticmethod]
    fn decode(py: Python<'_>, data: BytesLike<'_>) -> PyResult<Self> {
        let bytes = data.as_slice();
        py.detach(|| ChangeSet::decode(bytes))
            .py_err()
            .map(PyChangeSet)
    }

    /// The versioned binary encoding.
    fn encode<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let bytes = py.detach(|| self.0.encode());
        PyBytes::new(py, &bytes)
    }

    fn __bytes__<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        self.encode(py)
    }

    /// The replica that produced it.
    #[getter]
    fn source(&self) -> PyReplicaId {
        PyReplicaId(self.0.source)
    }

    /// The receiver's cursor it starts after (0: a full snapshot).
    #[getter]
    fn since(&self) -> u64 {
        self.0.since
    }

    /// The cursor the receiver should remember once it applied this.
    #[getter]
    fn cursor(&self) -> u64 {
        self.0.cursor
    }

    /// Changed entries, tombstones included.
    #[getter]
    fn entries(&self) -> Vec<PyEntry> {
        self.0.entries.iter().cloned().map(PyEntry).collect()
    }

    /// Manifests of the live files.
    #[getter]
    fn manifests(&self) -> Vec<PyFileManifest> {
        self.0
            .manifests
            .iter()
            .cloned()
            .map(PyFileManifest)
            .collect()
    }

    /// True if it describes the sender's whole tree.
    fn is_complete(&self) -> bool {
        self.0.is_complete()
    }

    fn __len__(&self) -> usize {
        self.0.entries.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "ChangeSet(source='{}', since={}, cursor={}, entries={})",
            self.0.source.short(),
            self.0.since,
            self.0.cursor,
            self.0.entries.len()
        )
    }
}

/// What an action does.
#[pyclass(
    module = "syncore",
    name = "ActionKind",
    eq,
    eq_int,
    hash,
    frozen,
    from_py_object
)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms, non_camel_case_types)] // Python enum-member style
pub enum PyActionKind {
    /// Write a file from chunks (`manifest`, `missing_chunks`).
    WRITE_FILE,
    /// Create a directory.
    MAKE_DIR,
    /// Create a symlink.
    MAKE_SYMLINK,
    /// Delete a file or symlink.
    DELETE,
    /// Remove an empty directory.
    REMOVE_DIR,
    /// Rename `from_entry` to `entry`.
    RENAME,
    /// Change metadata only (mtime, exec bit).
    UPDATE_METADATA,
    /// Index-only bookkeeping.
    RECORD,
}

/// One step of a plan. Immutable; inspect it before applying.
#[pyclass(module = "syncore", name = "Action", frozen)]
pub struct PyAction(Action);

#[pymethods]
impl PyAction {
    /// What the action does.
    #[getter]
    fn kind(&self) -> PyActionKind {
        match self.0 {
            Action::WriteFile { .. } => PyActionKind::WRITE_FILE,
            Action::MakeDir { .. } => PyActionKind::MAKE_DIR,
            Action::MakeSymlink { .. } => PyActionKind::MAKE_SYMLINK,
            Action::Delete { .. } => PyActionKind::DELETE,
            Action::RemoveDir { .. } => PyActionKind::REMOVE_DIR,
            Action::Rename { .. } => PyActionKind::RENAME,
            Action::UpdateMetadata { .. } => PyActionKind::UPDATE_METADATA,
            Action::Record { .. } => PyActionKind::RECORD,
        }
    }

    /// The path it changes (the destination of a rename).
    #[getter]
    fn path(&self) -> &str {
        self.0.path().as_str()
    }

    /// The entry the path will have (a tombstone for deletions).
    #[getter]
    fn entry(&self) -> PyEntry {
        let e = match &self.0 {
            Action::WriteFile { entry, .. }
            | Action::MakeDir { entry, .. }
            | Action::MakeSymlink { entry, .. }
            | Action::UpdateMetadata { entry, .. }
            | Action::Record { entry, .. } => entry,
            Action::Delete { tombstone, .. } | Action::RemoveDir { tombstone, .. } => tombstone,
            Action::Rename { to, .. } => to,
        };
        PyEntry(e.clone())
    }

    /// What the path must still be locally for the action to proceed (None: absent).
    #[getter]
    fn expected(&self) -> Option<PyEntry> {
        match &self.0 {
            Action::WriteFile { expected, .. }
            | Action::MakeDir { expected, .. }
            | Action::MakeSymlink { expected, .. } => expected.clone().map(PyEntry),
            Action::Delete { expected, .. }
            | Action::RemoveDir { expected, .. }
            | Action::UpdateMetadata { expected, .. } => Some(PyEntry(expected.clone())),
            Action::Rename { from, .. } => Some(PyEntry(from.clone())),
            Action::Record { .. } => None,
        }
    }

    /// The source of a rename.
    #[getter(from_entry)]
    fn rename_source(&self) -> Option<PyEntry> {
        match &self.0 {
            Action::Rename { from, .. } => Some(PyEntry(from.clone())),
            _ => None,
        }
    }

    /// The manifest of a file to write.
    #[getter]
    fn manifest(&self) -> Option<PyFileManifest> {
        match &self.0 {
            Action::WriteFile { manifest, .. } => Some(PyFileManifest(manifest.clone())),
            _ => None,
        }
    }

    /// Chunks of a file to write that this replica does not have.
    #[getter]
    fn missing_chunks(&self) -> Vec<PyDigest> {
        match &self.0 {
            Action::WriteFile { missing_chunks, .. } => {
                missing_chunks.iter().copied().map(PyDigest).collect()
            }
            _ => Vec::new(),
        }
    }

    /// True for index-only actions.
    fn is_index_only(&self) -> bool {
        self.0.is_index_only()
    }

    fn __repr__(&self) -> String {
        format!(
            "Action({:?}, {:?})",
            self.kind_name(),
            self.0.path().as_str()
        )
    }
}

impl PyAction {
    fn kind_name(&self) -> &'static str {
        match self.0 {
            Action::WriteFile { .. } => "WRITE_FILE",
            Action::MakeDir { .. } => "MAKE_DIR",
            Action::MakeSymlink { .. } => "MAKE_SYMLINK",
            Action::Delete { .. } => "DELETE",
            Action::RemoveDir { .. } => "REMOVE_DIR",
            Action::Rename { .. } => "RENAME",
            Action::UpdateMetadata { .. } => "UPDATE_METADATA",
            Action::Record { .. } => "RECORD",
        }
    }
}

/// A concurrent edit and how it was resolved.
#[pyclass(module = "syncore", name = "Conflict", frozen)]
pub struct PyConflict(Conflict);

#[pymethods]
impl PyConflict {
    /// The contested path.
    #[getter]
    fn path(&self) -> &str {
        self.0.path.as_str()
    }

    /// This replica's version.
    #[getter]
    fn local(&self) -> PyEntry {
        PyEntry(self.0.local.clone())
    }

    /// The peer's version.
    #[getter]
    fn remote(&self) -> PyEntry {
        PyEntry(self.0.remote.clone())
    }

    /// Which version won.
    #[getter]
    fn winner(&self) -> PySide {
        self.0.winner.into()
    }

    /// Where the loser is kept, if it is.
    #[getter]
    fn copy(&self) -> Option<&str> {
        self.0.copy.as_ref().map(RelPath::as_str)
    }
}

/// Two paths that differ only in case on a case-insensitive replica.
#[pyclass(module = "syncore", name = "Collision", frozen)]
pub struct PyCollision(Collision);

#[pymethods]
impl PyCollision {
    /// The incoming path.
    #[getter]
    fn path(&self) -> &str {
        self.0.path.as_str()
    }

    /// The path it collides with.
    #[getter]
    fn other(&self) -> &str {
        self.0.other.as_str()
    }

    /// The other path is a local one.
    #[getter]
    fn other_is_local(&self) -> bool {
        self.0.other_is_local
    }

    /// The incoming change was not applied.
    #[getter]
    fn skipped(&self) -> bool {
        self.0.skipped
    }
}

/// Counts of what a plan would do.
#[pyclass(module = "syncore", name = "PlanSummary", frozen, get_all)]
pub struct PyPlanSummary {
    files_written: usize,
    bytes_written: u64,
    missing_chunks: usize,
    missing_bytes: u64,
    dirs_created: usize,
    symlinks_created: usize,
    deleted: usize,
    renamed: usize,
    metadata_updated: usize,
    index_only: usize,
    conflicts: usize,
    collisions: usize,
}

impl From<PlanSummary> for PyPlanSummary {
    fn from(s: PlanSummary) -> Self {
        PyPlanSummary {
            files_written: s.files_written,
            bytes_written: s.bytes_written,
            missing_chunks: s.missing_chunks,
            missing_bytes: s.missing_bytes,
            dirs_created: s.dirs_created,
            symlinks_created: s.symlinks_created,
            deleted: s.deleted,
            renamed: s.renamed,
            metadata_updated: s.metadata_updated,
            index_only: s.index_only,
            conflicts: s.conflicts,
            collisions: s.collisions,
        }
    }
}

/// The pure result of reconciling a peer's changes: actions to apply, conflicts, collisions.
#[pyclass(module = "syncore", name = "Plan", frozen)]
pub struct PyPlan(pub(crate) Plan);

#[pymethods]
impl PyPlan {
    /// The replica whose changes were planned.
    #[getter]
    fn source(&self) -> PyReplicaId {
        PyReplicaId(self.0.source)
    }

    /// The cursor to remember for the source once the plan is applied.
    #[getter]
    fn cursor(&self) -> u64 {
        self.0.cursor
    }

    /// The actions, in execution order.
    #[getter]
    fn actions(&self) -> Vec<PyAction> {
        self.0.actions.iter().cloned().map(PyAction).collect()
    }

    /// Concurrent edits and their resolution.
    #[getter]
    fn conflicts(&self) -> Vec<PyConflict> {
        self.0.conflicts.iter().cloned().map(PyConflict).collect()
    }

    /// Case collisions.
    #[getter]
    fn collisions(&self) -> Vec<PyCollision> {
        self.0.collisions.iter().cloned().map(PyCollision).collect()
    }

    /// Every chunk the plan needs that this replica lacks (fetch these before applying).
    fn missing_chunks(&self) -> Vec<PyDigest> {
        self.0.missing_chunks().into_iter().map(PyDigest).collect()
    }

    /// Total size of the missing chunks.
    fn missing_bytes(&self) -> u64 {
        self.0.missing_bytes()
    }

    /// Counts of what the plan would do (a dry run).
    fn summary(&self) -> PyPlanSummary {
        self.0.summary().into()
    }

    /// True if there is nothing to do.
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True if applying only touches the index.
    fn is_index_only(&self) -> bool {
        self.0.is_index_only()
    }

    fn __len__(&self) -> usize {
        self.0.actions.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "Plan(actions={}, conflicts={}, missing_chunks={})",
            self.0.actions.len(),
            self.0.conflicts.len(),
            self.0.missing_chunks().len()
        )
    }
}

/// A path whose action was not performed.
#[pyclass(module = "syncore", name = "ApplyIssue", frozen)]
pub struct PyApplyIssue(ApplyIssue);

#[pymethods]
impl PyApplyIssue {
    /// The action's path.
    #[getter]
    fn path(&self) -> &str {
        self.0.path.as_str()
    }

    /// The error kind (e.g. `"conflict"` for a user change that blocked the action).
    #[getter]
    fn kind(&self) -> &'static str {
        self.0.kind.as_str()
    }

    /// What happened.
    #[getter]
    fn message(&self) -> &str {
        &self.0.message
    }

    fn __repr__(&self) -> String {
        format!(
            "ApplyIssue({:?}, {:?})",
            self.0.path.as_str(),
            self.0.message
        )
    }
}

/// What applying a plan did.
#[pyclass(module = "syncore", name = "ApplyReport", frozen)]
pub struct PyApplyReport(pub(crate) ApplyReport);

#[pymethods]
impl PyApplyReport {
    /// Files written.
    #[getter]
    fn files_written(&self) -> u64 {
        self.0.files_written
    }

    /// Bytes written.
    #[getter]
    fn bytes_written(&self) -> u64 {
        self.0.bytes_written
    }

    /// Bytes taken from local files instead of the chunk source.
    #[getter]
    fn bytes_reused_locally(&self) -> u64 {
        self.0.bytes_reused_locally
    }

    /// Directories created.
    #[getter]
    fn dirs_created(&self) -> u64 {
        self.0.dirs_created
    }

    /// Symlinks created.
    #[getter]
    fn symlinks_created(&self) -> u64 {
        self.0.symlinks_created
    }

    /// Paths deleted.
    #[getter]
    fn deleted(&self) -> u64 {
        self.0.deleted
    }

    /// Paths renamed.
    #[getter]
    fn renamed(&self) -> u64 {
        self.0.renamed
    }

    /// Index-only records.
    #[getter]
    fn recorded(&self) -> u64 {
        self.0.recorded
    }

    /// Actions blocked by a local change made since planning.
    #[getter]
    fn conflicts(&self) -> Vec<PyApplyIssue> {
        self.0.conflicts.iter().cloned().map(PyApplyIssue).collect()
    }

    /// Actions that failed.
    #[getter]
    fn failed(&self) -> Vec<PyApplyIssue> {
        self.0.failed.iter().cloned().map(PyApplyIssue).collect()
    }

    /// True if every action was performed.
    fn is_complete(&self) -> bool {
        self.0.is_complete()
    }

    fn __repr__(&self) -> String {
        format!(
            "ApplyReport(files_written={}, deleted={}, conflicts={}, failed={})",
            self.0.files_written,
            self.0.deleted,
            self.0.conflicts.len(),
            self.0.failed.len()
        )
    }
}

/// A replica whose index lives in memory: record local changes, produce change sets, plan a
/// peer's changes and apply plans to a directory or a chunk store.
///
/// The planner and the applier are the same as for an indexed replica; only the bookkeeping is
/// in memory (nothing is scanned: tell it what changed with `local_write` and friends, or
/// `observe` a path after writing it). Calls are serialized; it may be shared between threads.
#[pyclass(module = "syncore", name = "MemoryReplica", frozen)]
pub struct PyMemoryReplica(Mutex<MemoryTarget>);

fn rel(path: &str) -> PyResult<RelPath> {
    RelPath::new(path).py_err()
}

/// A peer's changes as given to a `plan` method: a `ChangeSet` or its encoded bytes.
pub(crate) enum ChangesArg<'py> {
    /// A decoded (hence already validated) change set.
    Set(Bound<'py, PyChangeSet>),
    /// Encoded bytes, decoded and validated by the core while planning.
    Encoded(BytesLike<'py>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for ChangesArg<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(set) = obj.cast::<PyChangeSet>() {
            return Ok(ChangesArg::Set(set.to_owned()));
        }
        obj.extract::<BytesLike<'py>>()
            .map(ChangesArg::Encoded)
            .map_err(|_| {
                PyTypeError::new_err(format!(
                    "expected a ChangeSet or its encoded bytes, not '{}'",
                    obj.get_type()
                        .name()
                        .map_or_else(|_| "?".to_owned(), |n| n.to_string())
                ))
            })
    }
}

/// The changes of a [`ChangesArg`], borrowed for planning with the GIL released.
enum ChangesRef<'a> {
    /// A change set.
    Set(&'a ChangeSet),
    /// Encoded bytes.
    Encoded(&'a [u8]),
}

/// The options a `plan` method was given: `options` (default `SyncOptions()`), with `policy`
/// and `direction` overriding its fields when given.
fn sync_options(
    options: Option<PyRef<'_, PySyncOptions>>,
    policy: Option<PyConflictPolicy>,
    direction: Option<PyDirection>,
) -> SyncOptions {
    let mut options = options.map_or_else(SyncOptions::default, |o| o.0.clone());
    if let Some(policy) = policy {
        options.policy = policy.into();
    }
    if let Some(direction) = direction {
        options.direction = direction.into();
    }
    options
}

/// What a `plan` method plans against: a replica, a hub or an in-memory view.
pub(crate) trait Planner {
    /// Plans taking in `changes`.
    fn plan(&self, changes: &ChangeSet, options: &SyncOptions) -> syncore::Result<Plan>;
    /// Decodes (and validates) a change set and plans it.
    fn plan_encoded(&self, bytes: &[u8], options: &SyncOptions) -> syncore::Result<Plan>;
}

/// Implements [`Planner`] by the type's own `plan` and `plan_encoded`.
macro_rules! forward_planner {
    (impl<$($g:ident: $bound:path)?> $t:ty) => {
        impl<$($g: $bound)?> Planner for $t {
            fn plan(&self, changes: &ChangeSet, options: &SyncOptions) -> syncore::Result<Plan> {
                <$t>::plan(self, changes, options)
            }
            fn plan_encoded(&self, bytes: &[u8], options: &SyncOptions) -> syncore::Result<Plan> {
                <$t>::plan_encoded(self, bytes, options)
            }
        }
    };
}
forward_planner!(impl<> Replica);
forward_planner!(impl<S: ChunkStore> Hub<S>);

impl Planner for MemoryView {
    fn plan(&self, changes: &ChangeSet, options: &SyncOptions) -> syncore::Result<Plan> {
        reconcile(self, changes, options)
    }
    fn plan_encoded(&self, bytes: &[u8], options: &SyncOptions) -> syncore::Result<Plan> {
        reconcile_encoded(self, bytes, options)
    }
}

/// The arguments of a `plan` method (`changes`, `options`, `policy`, `direction`), in a form
/// that may cross `Python::detach`.
pub(crate) struct PlanRequest<'a> {
    changes: ChangesRef<'a>,
    options: SyncOptions,
}

impl<'a> PlanRequest<'a> {
    /// The changes and the options `options` overridden by `policy` and `direction`.
    pub(crate) fn new(
        changes: &'a ChangesArg<'_>,
        options: Option<PyRef<'_, PySyncOptions>>,
        policy: Option<PyConflictPolicy>,
        direction: Option<PyDirection>,
    ) -> Self {
        let changes = match changes {
            ChangesArg::Set(set) => ChangesRef::Set(&set.get().0),
            ChangesArg::Encoded(bytes) => ChangesRef::Encoded(bytes.as_slice()),
        };
        PlanRequest {
            changes,
            options: sync_options(options, policy, direction),
        }
    }

    /// Plans the changes against `local`.
    pub(crate) fn plan(&self, local: &impl Planner) -> syncore::Result<Plan> {
        match self.changes {
            ChangesRef::Set(set) => local.plan(set, &self.options),
            ChangesRef::Encoded(bytes) => local.plan_encoded(bytes, &self.options),
        }
    }
}

#[pymethods]
impl PyMemoryReplica {
    /// An empty replica with identity `replica_id` (default: a fresh random id).
    #[new]
    #[pyo3(signature = (replica_id = None))]
    fn new(replica_id: Option<PyReplicaId>) -> Self {
        let id = replica_id.map_or_else(syncore::sync::ReplicaId::random, |r| r.0);
        PyMemoryReplica(Mutex::new(MemoryTarget::new(MemoryView::new(id))))
    }

    /// This replica's id.
    #[getter]
    fn replica_id(&self) -> PyReplicaId {
        PyReplicaId(lock(&self.0).view.replica_id())
    }

    /// The last local sequence number.
    #[getter]
    fn seq(&self) -> u64 {
        lock(&self.0).view.seq()
    }

    /// Every recorded entry (tombstones included), by path.
    fn entries(&self) -> Vec<PyEntry> {
        lock(&self.0)
            .view
            .entries()
            .values()
            .cloned()
            .map(PyEntry)
            .collect()
    }

    /// Records a local write of `path` with content `manifest`.
    #[pyo3(signature = (path, manifest, mtime_ns, executable = false))]
    fn local_write(
        &self,
        path: &str,
        manifest: PyRef<'_, PyFileManifest>,
        mtime_ns: i64,
        executable: bool,
    ) -> PyResult<PyEntry> {
        let path = rel(path)?;
        let mut target = lock(&self.0);
        Ok(PyEntry(
            target
                .view
                .local_write(&path, manifest.0.clone(), mtime_ns, executable)
                .clone(),
        ))
    }

    /// Records a local directory creation.
    fn local_mkdir(&self, path: &str, mtime_ns: i64) -> PyResult<PyEntry> {
        let path = rel(path)?;
        Ok(PyEntry(
            lock(&self.0).view.local_mkdir(&path, mtime_ns).clone(),
        ))
    }

    /// Records a local deletion; raises `NotFoundError` if the path is not live.
    fn local_delete(&self, path: &str, mtime_ns: i64) -> PyResult<PyEntry> {
        let path = rel(path)?;
        let mut target = lock(&self.0);
        let entry = target.view.local_delete(&path, mtime_ns).py_err()?;
        Ok(PyEntry(entry.clone()))
    }

    /// Notes that these chunks are available locally (they will not be reported missing).
    fn add_chunks(&self, ids: Vec<PyDigest>) {
        lock(&self.0).view.add_chunks(ids.into_iter().map(|d| d.0));
    }

    /// Records the current disk state of `path` under `root` (as a scan would after indexing
    /// it), so that applying can tell a later user edit from its own write.
    fn observe(&self, py: Python<'_>, root: PathBuf, path: &str) -> PyResult<()> {
        let path = rel(path)?;
        py.detach(|| lock(&self.0).observe(&root, &path)).py_err()
    }

    /// Every change after `since`, tombstones included, as a change set to send to a peer.
    #[pyo3(signature = (since = 0))]
    fn changes_since(&self, py: Python<'_>, since: u64) -> PyChangeSet {
        PyChangeSet(py.detach(|| lock(&self.0).view.changes_since(since)))
    }

    /// Reconciles a peer's change set (a `ChangeSet` or its encoded bytes) into a plan;
    /// `policy` and `direction` override those of `options`. Pure: nothing is changed until
    /// the plan is applied.
    #[pyo3(signature = (changes, options = None, *, policy = None, direction = None))]
    fn plan(
        &self,
        py: Python<'_>,
        changes: ChangesArg<'_>,
        options: Option<PyRef<'_, PySyncOptions>>,
        policy: Option<PyConflictPolicy>,
        direction: Option<PyDirection>,
    ) -> PyResult<PyPlan> {
        let request = PlanRequest::new(&changes, options, policy, direction);
        py.detach(|| request.plan(&lock(&self.0).view))
            .py_err()
            .map(PyPlan)
    }

    /// Applies `plan` to the directory `root`, reading missing chunks from `source` (a store
    /// or store-protocol object), and records what was done. Per-path problems are in the
    /// report; only failures of the replica itself raise.
    #[pyo3(signature = (plan, root, source, *, durability = PyDurability::PER_FILE))]
    fn apply(
        &self,
        py: Python<'_>,
        plan: PyRef<'_, PyPlan>,
        root: PathBuf,
        source: StoreArg,
        durability: PyDurability,
    ) -> PyResult<PyApplyReport> {
        let options = durability.apply_options();
        let plan = &plan.0;
        let store = source.0;
        py.detach(|| {
            let mut target = lock(&self.0);
            apply_plan(&root, plan, &store, &mut *target, &options)
        })
        .py_err()
        .map(PyApplyReport)
    }

    /// Takes `plan` in on a store-backed replica (a hub): chunks `store` lacks are read from
    /// `source` and stored, then each action is recorded.
    fn apply_to_store(
        &self,
        py: Python<'_>,
        plan: PyRef<'_, PyPlan>,
        source: StoreArg,
        store: StoreArg,
    ) -> PyResult<PyApplyReport> {
        let plan = &plan.0;
        let (source, store) = (source.0, store.0);
        py.detach(|| {
            let mut target = lock(&self.0);
            apply_plan_to_store(plan, &source, &store, &mut *target)
        })
        .py_err()
        .map(PyApplyReport)
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyConflictPolicy>()?;
    m.add_class::<PyDirection>()?;
    m.add_class::<PySide>()?;
    m.add_class::<PySyncOptions>()?;
    m.add_class::<PyChangeSet>()?;
    m.add_class::<PyActionKind>()?;
    m.add_class::<PyAction>()?;
    m.add_class::<PyConflict>()?;
    m.add_class::<PyCollision>()?;
    m.add_class::<PyPlanSummary>()?;
    m.add_class::<PyPlan>()?;
    m.add_class::<PyApplyIssue>()?;
    m.add_class::<PyApplyReport>()?;
    m.add_class::<PyMemoryReplica>()?;
    Ok(())
}
