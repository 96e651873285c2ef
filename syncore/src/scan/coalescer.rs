//! Watcher-event coalescing: from a noisy stream of filesystem events to a short, settled list
//! of paths to rescan.
//!
//! Filesystem watchers (inotify, FSEvents, ReadDirectoryChangesW, or the `notify` crate over
//! them) report what the kernel saw, not what the user did: one save is a dozen modify events,
//! an editor's save is a temp file renamed over the original, a delete from a file manager is a
//! move into a trash folder, a directory rename is one event for a whole subtree, and a full
//! event queue is a single "overflow" that means "you lost everything". The
//! [`EventCoalescer`] absorbs all of that and, once a path has been quiet for
//! [`CoalescerConfig::quiet_period`] (or has kept changing for [`CoalescerConfig::max_delay`]),
//! reports one [`SettledChange`] for it.
//!
//! It is a pure state machine in the sans-IO style: events and the clock are plain values
//! ([`Duration`]s since any epoch the application picks), [`EventCoalescer::poll`] returns
//! values, and [`EventCoalescer::next_deadline`] says when polling again can produce
//! something. It owns no thread, no timer and no watcher, and it never touches the
//! filesystem: its output is a list of hints, and the scanner confirms every one of them
//! against the disk before recording anything. That is also why self-event suppression
//! ([`EventCoalescer::expect_own_write`]) is only an optimization: an own write that slips
//! through is rescanned, found identical to the index, and recorded as nothing.
//!
//! Filtering here covers only names that are never content (editor swap and lock files, OS
//! metadata, trash folders, syncore's own temp files and state directory). User ignore rules
//! (`.syncoreignore`) belong to the scanner, which applies them to every rescan.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::apply::is_temp_name;
use crate::path::RelPath;

/// File names that are never content, matched against every path component.
///
/// Patterns use `*` (any run of characters) and `?` (one character). The list covers editor
/// swap, backup, lock and autosave files (vim, emacs, gedit, LibreOffice, Microsoft Office)
/// and macOS folder metadata. The scanner's default ignore list should be the same, so that
/// a path the coalescer drops is also a path the scanner never indexes.
pub const DEFAULT_IGNORED_NAMES: &[&str] = &[
    "*.swp",
    ".*.sw?",
    "*~",
    "~$*",
    "~*.tmp",
    ".~lock.*#",
    ".#*",
    "#*#",
    ".goutputstream-*",
    ".DS_Store",
];

/// Names of trash folders that file managers move "deleted" files into.
///
/// A move into one of these is reported as a removal of the original path; events inside them
/// are dropped.
pub const DEFAULT_TRASH_NAMES: &[&str] = &[".Trash", ".Trashes", ".Trash-*", "$RECYCLE.BIN"];

/// The state directory's default name inside a replica's root; its subtree is never reported.
pub const DEFAULT_STATE_DIR: &str = ".syncore";

/// Tuning and filtering for an [`EventCoalescer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoalescerConfig {
    /// How long a path must see no events before it is reported (default 2 s).
    pub quiet_period: Duration,
    /// A path that keeps changing is still reported this long after its first pending event
    /// (default 60 s), so a file written for hours is not held back forever.
    pub max_delay: Duration,
    /// How long [`EventCoalescer::expect_own_write`] suppresses a path's events (default 5 s).
    pub own_write_window: Duration,
    /// More pending paths than this collapse into one [`SettledChange::FullRescan`]
    /// (default 100,000), which bounds memory during a huge copy.
    pub max_pending: usize,
    /// Name patterns whose paths (and everything under them) are dropped; see
    /// [`DEFAULT_IGNORED_NAMES`]. syncore's own temp files are always dropped.
    pub ignored_names: Vec<String>,
    /// Trash folder name patterns; see [`DEFAULT_TRASH_NAMES`].
    pub trash_names: Vec<String>,
    /// Subtrees never reported (by default the state directory, [`DEFAULT_STATE_DIR`]).
    pub ignored_subtrees: Vec<RelPath>,
}

impl Default for CoalescerConfig {
    fn default() -> Self {
        CoalescerConfig {
            quiet_period: Duration::from_secs(2),
            max_delay: Duration::from_secs(60),
            own_write_window: Duration::from_secs(5),
            max_pending: 100_000,
            ignored_names: DEFAULT_IGNORED_NAMES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            trash_names: DEFAULT_TRASH_NAMES.iter().map(|s| s.to_string()).collect(),
            ignored_subtrees: RelPath::new(DEFAULT_STATE_DIR).into_iter().collect(),
        }
    }
}

impl CoalescerConfig {
    /// True if events for `path` are dropped: the path, or one of its ancestors, is an ignored
    /// name, a trash folder, one of syncore's temp files, or inside an ignored subtree.
    pub fn is_ignored(&self, path: &RelPath) -> bool {
        if self.ignored_subtrees.iter().any(|s| path.starts_with(s)) {
            return true;
        }
        path.components().any(|name| {
            is_temp_name(name)
                || self.ignored_names.iter().any(|p| glob_match(p, name))
                || self.trash_names.iter().any(|p| glob_match(p, name))
        })
    }
}

/// What a watcher reported about a path.
///
/// Adapters map their backend's events onto these: `notify`'s `Create`, `Modify(Data |
/// Metadata)`, `Remove`, `Modify(Name(Both | From | To))` with its tracker as the cookie,
/// `Any`/`Other`, and its rescan flag; inotify's `IN_CREATE`, `IN_MODIFY`/`IN_ATTRIB`/
/// `IN_CLOSE_WRITE`, `IN_DELETE`, `IN_MOVED_FROM`/`IN_MOVED_TO` with their cookie and
/// `IN_Q_OVERFLOW`; FSEvents' item flags (its renames carry no direction: use
/// [`Any`](WatchEventKind::Any)) and `MustScanSubDirs`; ReadDirectoryChangesW's actions
/// (`RENAMED_OLD_NAME` / `RENAMED_NEW_NAME` arrive back to back without a cookie) and its
/// buffer overflow. Access events (open, close without write) are not changes; drop them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WatchEventKind {
    /// The path was created.
    Create,
    /// The path's content or metadata changed.
    Modify,
    /// The path was removed.
    Remove,
    /// The entry at `from` was renamed to the event's path (both halves known).
    Rename {
        /// The old path.
        from: RelPath,
    },
    /// First half of a rename: the event's path is the old name. Paired with the
    /// [`RenameTo`](WatchEventKind::RenameTo) carrying the same cookie; `None` cookies pair
    /// with the very next event if it is a `RenameTo { cookie: None }`. A half left unpaired
    /// for a quiet period (moved out of the watched root, e.g. to a trash folder elsewhere)
    /// counts as a removal.
    RenameFrom {
        /// The backend's rename cookie or tracker, if it has one.
        cookie: Option<u64>,
    },
    /// Second half of a rename: the event's path is the new name. Unpaired, it counts as
    /// something arriving from outside the root.
    RenameTo {
        /// The backend's rename cookie or tracker, if it has one.
        cookie: Option<u64>,
    },
    /// Something happened at the path, kind unknown (FSEvents renames, `notify`'s `Any`):
    /// it is rescanned, as a subtree unless known to be a file.
    Any,
    /// The watcher lost events at or under the path (queue overflow, `MustScanSubDirs`,
    /// a watch dropped). At the root, this asks for a full rescan.
    RescanNeeded,
}

/// One raw event from a filesystem watcher.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WatchEvent {
    /// The path, relative to the replica's root; `None` is the root itself (overflow events
    /// and events on the watched directory).
    pub path: Option<RelPath>,
    /// What happened.
    pub kind: WatchEventKind,
    /// Whether the path is a directory, if the backend says (inotify and FSEvents do,
    /// ReadDirectoryChangesW does not).
    pub is_dir: Option<bool>,
    /// When the event was seen, on the same clock as [`EventCoalescer::poll`]'s `now`.
    pub at: Duration,
}

impl WatchEvent {
    /// An event for `path` of unknown file type.
    pub fn new(at: Duration, kind: WatchEventKind, path: RelPath) -> Self {
        WatchEvent {
            path: Some(path),
            kind,
            is_dir: None,
            at,
        }
    }

    /// An event for the watched root itself (e.g. an overflow).
    pub fn root(at: Duration, kind: WatchEventKind) -> Self {
        WatchEvent {
            path: None,
            kind,
            is_dir: Some(true),
            at,
        }
    }

    /// The same event, with the backend's directory flag.
    pub fn with_is_dir(mut self, is_dir: bool) -> Self {
        self.is_dir = Some(is_dir);
        self
    }
}

/// A path whose events have settled, and how the scanner should look at it.
///
/// Every variant is a hint to be confirmed against the disk. Lists returned by
/// [`EventCoalescer::poll`] are sorted by path ([`FullRescan`](SettledChange::FullRescan)
/// first) and never hold two changes for one path or a change under a path that is
/// rescanned as a tree or removed in the same list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SettledChange {
    /// The watcher lost track: scan the whole root. Comes alone.
    FullRescan,
    /// Look at this one path: stat it and rehash if changed; if it is gone, record a removal;
    /// if it has become a directory, walk it.
    Rescan(RelPath),
    /// Walk the subtree at this path (a directory appeared, was renamed here, or events under
    /// it were lost); anything indexed under it but absent on disk is removed. On a file this
    /// is the same as [`Rescan`](SettledChange::Rescan).
    RescanTree(RelPath),
    /// The path, and everything under it, is gone as far as the watcher knows (deleted,
    /// renamed away, moved to a trash folder). The scanner confirms it is absent.
    Removed(RelPath),
}

impl SettledChange {
    /// The path the change is about; `None` for a full rescan.
    pub fn path(&self) -> Option<&RelPath> {
        match self {
            SettledChange::FullRescan => None,
            SettledChange::Rescan(p) | SettledChange::RescanTree(p) | SettledChange::Removed(p) => {
                Some(p)
            }
        }
    }
}

/// What a pending path needs once it settles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Rescan the path itself.
    Path,
    /// Rescan the subtree.
    Tree,
    /// The path is gone.
    Removed,
}

/// The coalesced state of one path with events not yet reported.
#[derive(Debug, Clone, Copy)]
struct Pending {
    need: Need,
    /// The path did not exist when its first pending event happened (that event was a plain
    /// create), so its disappearance within the window needs no report.
    new: bool,
    first_at: Duration,
    last_at: Duration,
}

impl Pending {
    fn merge_times(&mut self, first_at: Duration, last_at: Duration) {
        self.first_at = self.first_at.min(first_at);
        self.last_at = self.last_at.max(last_at);
    }
}

/// The first half of a rename, waiting for its second.
#[derive(Debug, Clone)]
struct RenameHalf {
    path: RelPath,
    at: Duration,
}

/// Coalesces raw watcher events into settled changes.
///
/// A sans-IO state machine: [`push`](Self::push) watcher events (time is a value in each
/// event), [`poll`](Self::poll) with the current time to collect paths quiet for
/// [`CoalescerConfig::quiet_period`] (or pending for [`CoalescerConfig::max_delay`]), and
/// poll again at [`next_deadline`](Self::next_deadline). Bursts of modifies collapse into one
/// change; temp files renamed over a target become a change of the target; a move into a
/// trash folder (or out of the root) becomes a removal; a directory rename becomes a removal
/// of the old subtree and a walk of the new one, taking pending events under the old name
/// along; a create undone within the window (first event a plain create) reports nothing;
/// an overflow reports one full rescan. Output is a hint the scanner checks on disk.
///
/// ```
/// use std::time::Duration;
/// use syncore::scan::{CoalescerConfig, EventCoalescer, SettledChange, WatchEvent, WatchEventKind};
/// use syncore::RelPath;
///
/// let ms = Duration::from_millis;
/// let mut c = EventCoalescer::new(CoalescerConfig::default());
/// let doc = RelPath::new("doc.txt")?;
/// for t in [0, 10, 20] {
///     c.push(WatchEvent::new(ms(t), WatchEventKind::Modify, doc.clone()));
/// }
/// assert!(c.poll(ms(1000)).is_empty());
/// assert_eq!(c.next_deadline(), Some(ms(2020)));
/// assert_eq!(c.poll(ms(2020)), vec![SettledChange::Rescan(doc)]);
/// assert_eq!(c.next_deadline(), None);
/// # Ok::<(), syncore::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct EventCoalescer {
    config: CoalescerConfig,
    pending: BTreeMap<RelPath, Pending>,
    /// `(first_at, last_at)` of a pending full rescan; while set, `pending` is empty.
    full_rescan: Option<(Duration, Duration)>,
    /// Unpaired first halves of renames, by cookie.
    halves: BTreeMap<Option<u64>, RenameHalf>,
    /// Paths whose events are dropped up to and including the given time.
    suppressed: BTreeMap<RelPath, Duration>,
}

impl EventCoalescer {
    /// A coalescer with nothing pending.
    pub fn new(config: CoalescerConfig) -> Self {
        EventCoalescer {
            config,
            pending: BTreeMap::new(),
            full_rescan: None,
            halves: BTreeMap::new(),
            suppressed: BTreeMap::new(),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &CoalescerConfig {
        &self.config
    }

    /// Feeds one watcher event.
    pub fn push(&mut self, event: WatchEvent) {
        let WatchEvent {
            path,
            kind,
            is_dir,
            at,
        } = event;
        // A cookieless first half pairs only with the event right after it.
        if kind != (WatchEventKind::RenameTo { cookie: None }) {
            if let Some(half) = self.halves.remove(&None) {
                self.vanish(half.path, half.at);
            }
        }
        let Some(path) = path else {
            // The root: its own metadata changes are not content; anything else about it
            // (overflow, deleted, moved, unknown) means only a full rescan can tell.
            if kind != WatchEventKind::Modify {
                self.request_full_rescan(at, at);
            }
            return;
        };
        match kind {
            WatchEventKind::Create => {
                if !self.filtered(&path, at) {
                    let need = if is_dir == Some(true) {
                        Need::Tree
                    } else {
                        Need::Path
                    };
                    self.touch(path, need, true, at, at);
                }
            }
            WatchEventKind::Modify => {
                // Entry changes inside a directory are reported per entry by every backend;
                // a modify of the directory itself carries nothing to sync.
                if is_dir != Some(true) && !self.filtered(&path, at) {
                    self.touch(path, Need::Path, false, at, at);
                }
            }
            WatchEventKind::Remove => self.vanish(path, at),
            WatchEventKind::Rename { from } => self.rename(from, path, is_dir, at),
            WatchEventKind::RenameFrom { cookie } => {
                // Keep the path's pending events from settling while the half waits for its
                // partner, so an unpaired half ends in one removal, not a rescan and then a
                // removal.
                if !self.filtered(&path, at) {
                    if let Some(pending) = self.pending.get_mut(&path) {
                        pending.merge_times(at, at);
                    }
                }
                let half = RenameHalf { path, at };
                if let Some(older) = self.halves.insert(cookie, half) {
                    self.vanish(older.path, older.at);
                }
            }
            WatchEventKind::RenameTo { cookie } => match self.halves.remove(&cookie) {
                Some(half) => self.rename(half.path, path, is_dir, at),
                None => self.arrive(path, is_dir, at, at),
            },
            WatchEventKind::Any => {
                if !self.filtered(&path, at) {
                    self.touch(path, tree_unless_file(is_dir), false, at, at);
                }
            }
            WatchEventKind::RescanNeeded => {
                if !self.config.is_ignored(&path) {
                    self.touch(path, Need::Tree, false, at, at);
                }
            }
        }
    }

    /// Feeds several watcher events in order.
    pub fn extend(&mut self, events: impl IntoIterator<Item = WatchEvent>) {
        for event in events {
            self.push(event);
        }
    }

    /// Drops events for exactly `path` stamped at or before `until` (self-event suppression:
    /// call it before syncore writes, renames or deletes `path`). Pending events from before
    /// the call are kept, so a user's edit racing an apply is still reported.
    pub fn suppress(&mut self, path: RelPath, until: Duration) {
        let entry = self.suppressed.entry(path).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// [`suppress`](Self::suppress)es `path` for [`CoalescerConfig::own_write_window`] from
    /// `now`: call it just before syncore applies a change to `path`.
    pub fn expect_own_write(&mut self, path: RelPath, now: Duration) {
        let until = now.saturating_add(self.config.own_write_window);
        self.suppress(path, until);
    }

    /// Returns the changes that have settled by `now`, sorted by path, and forgets them.
    ///
    /// A path settles when it has had no event for the quiet period, or when its first
    /// pending event is [`max_delay`](CoalescerConfig::max_delay) old. Rename halves left
    /// unpaired for the quiet period become removals here.
    pub fn poll(&mut self, now: Duration) -> Vec<SettledChange> {
        let quiet = self.config.quiet_period;
        let expired: Vec<Option<u64>> = self
            .halves
            .iter()
            .filter(|(_, half)| half.at.saturating_add(quiet) <= now)
            .map(|(cookie, _)| *cookie)
            .collect();
        for cookie in expired {
            if let Some(half) = self.halves.remove(&cookie) {
                self.vanish(half.path, half.at);
            }
        }
        self.suppressed.retain(|_, until| *until >= now);

        if let Some((first, last)) = self.full_rescan {
            if self.deadline(first, last) <= now {
                self.full_rescan = None;
                return vec![SettledChange::FullRescan];
            }
            return Vec::new();
        }
        let settled: Vec<RelPath> = self
            .pending
            .iter()
            .filter(|(_, p)| self.deadline(p.first_at, p.last_at) <= now)
            .map(|(path, _)| path.clone())
            .collect();
        let mut out: Vec<SettledChange> = settled
            .into_iter()
            .filter_map(|path| {
                let pending = self.pending.remove(&path)?;
                Some(match pending.need {
                    Need::Path => SettledChange::Rescan(path),
                    Need::Tree => SettledChange::RescanTree(path),
                    Need::Removed => SettledChange::Removed(path),
                })
            })
            .collect();
        out.sort_by(|a, b| a.path().cmp(&b.path()));
        out
    }

    /// When [`poll`](Self::poll) can next return something (or turn a rename half into a
    /// removal); `None` when nothing is pending.
    pub fn next_deadline(&self) -> Option<Duration> {
        let quiet = self.config.quiet_period;
        let full = self.full_rescan.map(|(f, l)| self.deadline(f, l));
        let pending = self
            .pending
            .values()
            .map(|p| self.deadline(p.first_at, p.last_at));
        let halves = self.halves.values().map(|h| h.at.saturating_add(quiet));
        full.into_iter().chain(pending).chain(halves).min()
    }

    /// True if nothing is pending (no path, no full rescan, no rename half).
    pub fn is_idle(&self) -> bool {
        self.pending.is_empty() && self.full_rescan.is_none() && self.halves.is_empty()
    }

    /// Number of paths with unreported events.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    fn deadline(&self, first_at: Duration, last_at: Duration) -> Duration {
        let quiet = last_at.saturating_add(self.config.quiet_period);
        let capped = first_at.saturating_add(self.config.max_delay);
        quiet.min(capped)
    }

    fn is_suppressed(&self, path: &RelPath, at: Duration) -> bool {
        self.suppressed.get(path).is_some_and(|until| at <= *until)
    }

    fn filtered(&self, path: &RelPath, at: Duration) -> bool {
        self.config.is_ignored(path) || self.is_suppressed(path, at)
    }

    /// `path` disappeared (removed, or renamed out of sight).
    fn vanish(&mut self, path: RelPath, at: Duration) {
        if !self.filtered(&path, at) {
            self.touch(path, Need::Removed, false, at, at);
        }
    }

    /// Something arrived at `path` by a rename (it may have replaced an existing entry).
    fn arrive(&mut self, path: RelPath, is_dir: Option<bool>, at: Duration, first_at: Duration) {
        if !self.filtered(&path, at) {
            self.touch(path, tree_unless_file(is_dir), false, at, first_at);
        }
    }

    fn rename(&mut self, from: RelPath, to: RelPath, is_dir: Option<bool>, at: Duration) {
        let from_hidden = self.config.is_ignored(&from);
        let to_hidden = self.config.is_ignored(&to);
        match (from_hidden, to_hidden) {
            (true, true) => {}
            // A temp file renamed over its target, or a restore from a trash folder.
            (true, false) => self.arrive(to, is_dir, at, at),
            // A move into a trash folder (or to a temp name): a removal.
            (false, true) => self.vanish(from, at),
            (false, false) => {
                // Pending events under the old name move with it: they are folded into the
                // new name's pending state (and its timing), which the scanner will walk.
                let taken = self.take_subtree(&from);
                let own_new = taken
                    .iter()
                    .find(|(path, _)| *path == from)
                    .is_some_and(|(_, p)| p.new);
                let first_at = taken
                    .iter()
                    .map(|(_, p)| p.first_at)
                    .fold(at, Duration::min);
                if !own_new && !self.is_suppressed(&from, at) {
                    self.touch(from, Need::Removed, false, at, at);
                }
                self.arrive(to, is_dir, at, first_at);
            }
        }
    }

    /// Removes and returns the pending states of `root` and everything under it.
    fn take_subtree(&mut self, root: &RelPath) -> Vec<(RelPath, Pending)> {
        // Keys with `root` as a string prefix are contiguous in the map's byte order; among
        // them, the ones under `root` component-wise are the subtree.
        let keys: Vec<RelPath> = self
            .pending
            .range(root.clone()..)
            .take_while(|(path, _)| path.as_str().starts_with(root.as_str()))
            .filter(|(path, _)| path.starts_with(root))
            .map(|(path, _)| path.clone())
            .collect();
        keys.into_iter()
            .filter_map(|path| self.pending.remove(&path).map(|p| (path, p)))
            .collect()
    }

    /// Records that `path` needs `need`, merging with what is already pending for it, its
    /// ancestors and its descendants. `new_if_absent` says a path with nothing pending did not
    /// exist before this event.
    fn touch(
        &mut self,
        path: RelPath,
        need: Need,
        new_if_absent: bool,
        at: Duration,
        first_at: Duration,
    ) {
        if let Some((first, last)) = &mut self.full_rescan {
            *first = (*first).min(first_at);
            *last = (*last).max(at);
            return;
        }
        // A subtree rescan or removal pending above this path already covers it.
        for ancestor in path.ancestors() {
            if let Some(above) = self.pending.get_mut(&ancestor) {
                match above.need {
                    Need::Path => {}
                    Need::Tree => {
                        above.merge_times(first_at, at);
                        return;
                    }
                    Need::Removed => {
                        // Something exists under a removed directory again: it was
                        // recreated, so walk it instead.
                        if need != Need::Removed {
                            above.need = Need::Tree;
                        }
                        above.merge_times(first_at, at);
                        return;
                    }
                }
            }
        }
        match need {
            Need::Removed | Need::Tree => {
                let taken = self.take_subtree(&path);
                let own = taken.iter().find(|(p, _)| *p == path).map(|(_, p)| *p);
                let mut merged = Pending {
                    need,
                    new: own.map_or(new_if_absent, |p| p.new),
                    first_at,
                    last_at: at,
                };
                for (_, p) in &taken {
                    merged.merge_times(p.first_at, p.last_at);
                }
                if need == Need::Removed {
                    if merged.new {
                        // Created and gone within one window: never seen, nothing to report.
                        return;
                    }
                    merged.new = false;
                }
                self.pending.insert(path, merged);
            }
            Need::Path => match self.pending.get_mut(&path) {
                Some(existing) => {
                    if existing.need == Need::Removed {
                        existing.need = Need::Path;
                    }
                    existing.merge_times(first_at, at);
                }
                None => {
                    self.pending.insert(
                        path,
                        Pending {
                            need,
                            new: new_if_absent,
                            first_at,
                            last_at: at,
                        },
                    );
                }
            },
        }
        if self.pending.len() > self.config.max_pending {
            self.request_full_rescan(first_at, at);
        }
    }

    fn request_full_rescan(&mut self, first_at: Duration, at: Duration) {
        let first = self
            .pending
            .values()
            .map(|p| p.first_at)
            .chain(self.full_rescan.map(|(f, _)| f))
            .fold(first_at, Duration::min);
        let last = self.full_rescan.map_or(at, |(_, l)| l.max(at));
        self.pending.clear();
        self.halves.clear();
        self.full_rescan = Some((first, last));
    }
}

fn tree_unless_file(is_dir: Option<bool>) -> Need {
    if is_dir == Some(false) {
        Need::Path
    } else {
        Need::Tree
    }
}

/// Matches `name` against a pattern where `*` is any run of characters and `?` is one.
fn glob_match(pattern: &str, name: &str) -> bool {
    let pat: Vec<char> = pattern.chars().collect();
    let txt: Vec<char> = name.chars().collect();
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was, and the text position it currently absorbs up to.
    let mut star: Option<(usize, usize)> = None;
    while t < txt.len() {
        match pat.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == txt[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t: u64) -> Duration {
        Duration::from_millis(t)
    }

    fn p(s: &str) -> RelPath {
        RelPath::new(s).unwrap()
    }

    fn config() -> CoalescerConfig {
        CoalescerConfig {
            quiet_period: ms(100),
            max_delay: ms(1000),
            own_write_window: ms(500),
            ..CoalescerConfig::default()
        }
    }

    fn ev(t: u64, kind: WatchEventKind, path: &str) -> WatchEvent {
        WatchEvent::new(ms(t), kind, p(path))
    }

    #[test]
    fn globs() {
        assert!(glob_match("*.swp", ".a.txt.swp"));
        assert!(glob_match(".*.sw?", ".a.txt.swx"));
        assert!(!glob_match(".*.sw?", "a.txt.swx"));
        assert!(glob_match("*~", "notes.txt~"));
        assert!(glob_match("~$*", "~$report.docx"));
        assert!(glob_match(".~lock.*#", ".~lock.sheet.ods#"));
        assert!(!glob_match(".~lock.*#", ".~lock.sheet.ods"));
        assert!(glob_match("#*#", "#notes#"));
        assert!(glob_match(".Trash-*", ".Trash-1000"));
        assert!(glob_match("$RECYCLE.BIN", "$RECYCLE.BIN"));
        assert!(glob_match("a*b*c", "aXbYbZc"));
        assert!(!glob_match("a*b*c", "aXbYbZ"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("?", ""));
        assert!(glob_match("é?", "éé"));
    }

    #[test]
    fn ignored_paths() {
        let c = CoalescerConfig::default();
        for hidden in [
            ".syncore",
            ".syncore/index.db-wal",
            "docs/.notes.txt.swp",
            "docs/notes.txt~",
            "~$report.docx",
            ".DS_Store",
            "a/.DS_Store",
            ".Trash-1000/files/a.txt",
            "$RECYCLE.BIN/S-1-5/x",
            "dir/.syncore-tmp-a.txt.1.2",
        ] {
            assert!(c.is_ignored(&p(hidden)), "{hidden}");
        }
        for shown in ["a.txt", "sub/.syncore", "notes.txt.bak", "Trash/x", "x.tmp"] {
            assert!(!c.is_ignored(&p(shown)), "{shown}");
        }
    }

    #[test]
    fn quiet_period_restarts_on_each_event() {
        let mut c = EventCoalescer::new(config());
        c.push(ev(0, WatchEventKind::Modify, "a"));
        c.push(ev(90, WatchEventKind::Modify, "a"));
        assert_eq!(c.next_deadline(), Some(ms(190)));
        assert!(c.poll(ms(189)).is_empty());
        assert_eq!(c.poll(ms(190)), vec![SettledChange::Rescan(p("a"))]);
        assert!(c.is_idle());
        assert_eq!(c.next_deadline(), None);
    }

    #[test]
    fn max_delay_caps_the_wait() {
        let mut c = EventCoalescer::new(config());
        for t in (0..=1500).step_by(50) {
            c.push(ev(t, WatchEventKind::Modify, "big.iso"));
            let out = c.poll(ms(t));
            if t == 1000 {
                assert_eq!(out, vec![SettledChange::Rescan(p("big.iso"))]);
            } else {
                assert!(out.is_empty(), "at {t}: {out:?}");
            }
        }
        // The writes after the capped report are reported again once quiet.
        assert_eq!(c.next_deadline(), Some(ms(1600)));
        assert_eq!(c.poll(ms(1600)), vec![SettledChange::Rescan(p("big.iso"))]);
    }

    #[test]
    fn create_then_remove_is_nothing_but_modify_then_remove_is_a_removal() {
        let mut c = EventCoalescer::new(config());
        c.push(ev(0, WatchEventKind::Create, "scratch"));
        c.push(ev(10, WatchEventKind::Modify, "scratch"));
        c.push(ev(20, WatchEventKind::Remove, "scratch"));
        c.push(ev(0, WatchEventKind::Modify, "old"));
        c.push(ev(20, WatchEventKind::Remove, "old"));
        assert_eq!(c.poll(ms(500)), vec![SettledChange::Removed(p("old"))]);
        assert!(c.is_idle());
    }

    #[test]
    fn removed_then_recreated_is_a_rescan() {
        let mut c = EventCoalescer::new(config());
        c.push(ev(0, WatchEventKind::Remove, "a"));
        c.push(ev(10, WatchEventKind::Create, "a"));
        // It existed before the window, so removing it again must be reported.
        assert_eq!(c.poll(ms(200)), vec![SettledChange::Rescan(p("a"))]);
        c.push(ev(300, WatchEventKind::Remove, "a"));
        assert_eq!(c.poll(ms(400)), vec![SettledChange::Removed(p("a"))]);
    }

    #[test]
    fn suppression_drops_own_events_only_in_its_window() {
        let mut c = EventCoalescer::new(config());
        c.push(ev(0, WatchEventKind::Modify, "a"));
        c.expect_own_write(p("a"), ms(10));
        c.expect_own_write(p("b"), ms(10));
        c.push(ev(20, WatchEventKind::Modify, "a"));
        c.push(ev(20, WatchEventKind::Create, "b"));
        // The user's edit from before the apply is kept; the apply's own events are not.
        assert_eq!(c.poll(ms(100)), vec![SettledChange::Rescan(p("a"))]);
        assert!(c.is_idle());
        c.push(ev(600, WatchEventKind::Modify, "b"));
        assert_eq!(c.poll(ms(700)), vec![SettledChange::Rescan(p("b"))]);
    }

    #[test]
    fn ancestor_tree_absorbs_descendants() {
        let mut c = EventCoalescer::new(config());
        c.push(ev(0, WatchEventKind::Modify, "d/x"));
        c.push(ev(10, WatchEventKind::Create, "d-sibling"));
        c.push(ev(20, WatchEventKind::RescanNeeded, "d"));
        c.push(ev(50, WatchEventKind::Modify, "d/y/z"));
        assert_eq!(c.pending_len(), 2);
        assert_eq!(
            c.poll(ms(150)),
            vec![
                SettledChange::RescanTree(p("d")),
                SettledChange::Rescan(p("d-sibling")),
            ]
        );
    }

    #[test]
    fn overflow_collapses_everything() {
        let mut c = EventCoalescer::new(config());
        c.push(ev(0, WatchEventKind::Modify, "a"));
        c.push(WatchEvent::root(ms(10), WatchEventKind::RescanNeeded));
        c.push(ev(50, WatchEventKind::Modify, "b"));
        assert_eq!(c.pending_len(), 0);
        assert_eq!(c.next_deadline(), Some(ms(150)));
        assert_eq!(c.poll(ms(150)), vec![SettledChange::FullRescan]);
        assert!(c.is_idle());
        // A modify of the root directory itself is not a change.
        c.push(WatchEvent::root(ms(200), WatchEventKind::Modify));
        assert!(c.is_idle());
    }

    #[test]
    fn too_many_pending_paths_become_a_full_rescan() {
        let mut c = EventCoalescer::new(CoalescerConfig {
            max_pending: 3,
            ..config()
        });
        for (i, name) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            c.push(ev(i as u64, WatchEventKind::Create, name));
        }
        assert_eq!(c.poll(ms(104)), vec![SettledChange::FullRescan]);
    }

    #[test]
    fn unpaired_cookieless_half_is_resolved_by_the_next_event() {
        let mut c = EventCoalescer::new(config());
        c.push(ev(0, WatchEventKind::RenameFrom { cookie: None }, "a"));
        c.push(ev(5, WatchEventKind::Modify, "b"));
        assert_eq!(
            c.poll(ms(105)),
            vec![
                SettledChange::Removed(p("a")),
                SettledChange::Rescan(p("b"))
            ]
        );
    }
}
