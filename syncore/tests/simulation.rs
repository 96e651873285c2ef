//! Deterministic multi-replica simulation: three real [`Replica`]s (working tree, SQLite
//! index, real scanner) and a [`Hub`] that keeps its content in a chunk store, random edits
//! (unscanned for a while, sometimes), random exchange order through the hub and directly
//! between peers (each change set leaving out the receiver's own versions, as
//! `changes_for` does), injected faults (unavailable chunk, corrupt chunk, crash before and after
//! rename, the index reopened after a crash, temp files cleaned on restart), then checks:
//! convergence, identical trees, empty plans once converged, no unscanned user write
//! destroyed by an apply, no version lost (under keep-both) unless superseded.
//!
//! Every run is seeded; a failing seed is printed and can be replayed with
//! `SYNCORE_SIM_SEED=<seed>` (`SYNCORE_SIM_TRACE=1` prints every plan).
//! `SYNCORE_SIM_SEEDS=<n>` sets how many seeds run (default 1000) for a long soak; seeds run
//! on every core.

mod common;

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use common::disk_tree;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use syncore::apply::{ApplyOptions, ChunkSource, Durability, Fault};
use syncore::index::IndexOptions;
use syncore::sync::{
    Action, Causality, ChangeSet, ConflictPolicy, Direction, LocalView, SyncOptions, VersionVector,
};
use syncore::{
    ChunkerConfig, Digest, HashAlgo, Hub, MemStore, RelPath, Replica, ReplicaOptions, Result,
};

const FILES: &[&str] = &["a", "b.txt", "D/e", "D/f.txt", "G/h/i.md", "G/j"];
const DIRS: &[&str] = &["D", "G", "G/h"];
const T0: i64 = 1_700_000_000_000_000_000;

struct Client {
    dir: tempfile::TempDir,
    state: tempfile::TempDir,
    /// `None` only while the replica is being reopened.
    replica: Option<Replica>,
}

impl Client {
    fn open(dir: tempfile::TempDir, state: tempfile::TempDir) -> Client {
        let replica = open_replica(dir.path(), state.path());
        Client {
            dir,
            state,
            replica: Some(replica),
        }
    }

    fn r(&self) -> &Replica {
        self.replica.as_ref().expect("replica open")
    }

    fn r_mut(&mut self) -> &mut Replica {
        self.replica.as_mut().expect("replica open")
    }

    /// Drops the open index and opens it again, as a restarted process would.
    fn reopen(&mut self) {
        self.replica = None;
        self.replica = Some(open_replica(self.dir.path(), self.state.path()));
    }
}

fn open_replica(root: &Path, state: &Path) -> Replica {
    Replica::open(
        root,
        ReplicaOptions {
            chunker: ChunkerConfig::fixed(8),
            state_dir: Some(state.to_path_buf()),
            threads: Some(1),
            check_integrity: false,
            ..ReplicaOptions::default()
        },
    )
    .unwrap()
}

struct Sim {
    rng: ChaCha8Rng,
    clock: i64,
    clients: Vec<Client>,
    hub: Hub<MemStore>,
    _hub_state: tempfile::TempDir,
    options: SyncOptions,
    /// Every local version any scan recorded: (path, version, content id of a live file).
    history: Vec<(RelPath, VersionVector, Option<Digest>)>,
    /// User writes not yet scanned: (client, path, bytes). Apply must never destroy them.
    pending: Vec<(usize, String, Vec<u8>)>,
    /// Conflict copies recorded anywhere: (path, version, content id).
    copies: Vec<(RelPath, VersionVector, Digest)>,
    /// Contents a user deliberately dropped at a path (deleted, overwrote, moved away).
    dropped: HashSet<(String, Digest)>,
}

/// A source that fails or corrupts one chosen chunk once, as a flaky network would.
struct Flaky<'a> {
    inner: &'a dyn ChunkSource,
    victim: Option<Digest>,
    corrupt: bool,
    fired: Cell<bool>,
}

impl ChunkSource for Flaky<'_> {
    fn read_chunk(&self, id: &Digest) -> Result<Vec<u8>> {
        self.read_chunk_from(id).map(|(b, _)| b)
    }
    fn read_chunk_from(&self, id: &Digest) -> Result<(Vec<u8>, syncore::apply::ChunkOrigin)> {
        if self.victim == Some(*id) && !self.fired.get() {
            self.fired.set(true);
            if !self.corrupt {
                return Err(syncore::Error::NotFound(format!("chunk {id} (injected)")));
            }
            let (mut bytes, origin) = self.inner.read_chunk_from(id)?;
            bytes.push(b'!');
            return Ok((bytes, origin));
        }
        self.inner.read_chunk_from(id)
    }
}

/// Encodes and decodes a change set, as the wire would.
fn wire(changes: &ChangeSet) -> ChangeSet {
    ChangeSet::decode(&changes.encode()).unwrap()
}

/// Every recorded entry of a view, by path.
fn entries_of(view: &impl LocalView) -> BTreeMap<RelPath, syncore::Entry> {
    let mut out = BTreeMap::new();
    view.for_each_entry(&mut |e| {
        out.insert(e.path.clone(), e.clone());
        Ok(())
    })
    .unwrap();
    out
}

impl Sim {
    fn new(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let policy = match rng.gen_range(0..3) {
            0 => ConflictPolicy::NewestWins,
            _ => ConflictPolicy::KeepBoth,
        };
        let clients = (0..3)
            .map(|_| Client::open(tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()))
            .collect();
        let hub_state = tempfile::tempdir().unwrap();
        let hub = Hub::open(
            hub_state.path(),
            MemStore::new(HashAlgo::Blake3),
            IndexOptions {
                check_integrity: false,
                ..IndexOptions::default()
            },
        )
        .unwrap();
        Sim {
            rng,
            clock: T0,
            clients,
            hub,
            _hub_state: hub_state,
            options: SyncOptions {
                policy,
                direction: Direction::TwoWay,
                confirm_mass_delete: true,
                case_insensitive: false,
                ..SyncOptions::default()
            },
            history: Vec::new(),
            pending: Vec::new(),
            copies: Vec::new(),
            dropped: HashSet::new(),
        }
    }

    fn tick(&mut self) -> i64 {
        self.clock += self.rng.gen_range(1..3) * 1_000_000_000;
        self.clock
    }

    fn write(&mut self, c: usize, rel: &str) {
        let len = self.rng.gen_range(0..40);
        let data: Vec<u8> = (0..len).map(|_| self.rng.gen_range(b'a'..b'e')).collect();
        let path = self.clients[c].dir.path().join(rel);
        if fs::create_dir_all(path.parent().unwrap()).is_err() {
            return; // a file stands where a directory would go
        }
        if fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            return;
        }
        self.forget_pending(c, rel);
        fs::write(&path, &data).unwrap();
        self.pending.push((c, rel.to_owned(), data.clone()));
        let when = syncore_time(self.tick());
        fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(when)
            .unwrap();
    }

    /// The user touched `rel` (or everything under it) again: earlier writes are superseded,
    /// and whatever content was there was dropped deliberately.
    fn forget_pending(&mut self, c: usize, rel: &str) {
        let root = self.clients[c].dir.path().to_path_buf();
        for (path, data) in disk_tree(&root) {
            if path == rel || path.starts_with(&format!("{rel}/")) {
                if let Some(data) = data {
                    let id =
                        syncore::FileManifest::of_slice(&common::chunker(), &data).content_id();
                    self.dropped.insert((path, id));
                }
            }
        }
        let prefix = format!("{rel}/");
        self.pending
            .retain(|(pc, path, _)| !(*pc == c && (path == rel || path.starts_with(&prefix))));
    }

    /// Scans client `c` with the real scanner, first checking that every unscanned user write
    /// is still on disk.
    fn scan_client(&mut self, c: usize) {
        let root = self.clients[c].dir.path().to_path_buf();
        for (pc, path, data) in &self.pending {
            if *pc == c {
                let on_disk = fs::read(root.join(path)).ok();
                assert_eq!(
                    on_disk.as_deref(),
                    Some(&data[..]),
                    "an unscanned user write to {path} was destroyed"
                );
            }
        }
        self.pending.retain(|(pc, _, _)| *pc != c);
        let replica = self.clients[c].r_mut();
        let before = replica.index().last_seq().unwrap();
        replica.scan().unwrap();
        for entry in replica.changes_since(before).unwrap().entries {
            if std::env::var_os("SYNCORE_SIM_TRACE").is_some() {
                let content = entry.content_id.map(|c| c.to_hex()[..8].to_owned());
                eprintln!(
                    "scan {c}: {} {:?} {content:?} del={}",
                    entry.path, entry.version, entry.deleted
                );
            }
            self.history
                .push((entry.path.clone(), entry.version.clone(), entry.content_id));
        }
    }

    fn note_copies(&mut self, plan: &syncore::sync::Plan, view_of: Option<usize>) {
        for conflict in &plan.conflicts {
            let Some(copy) = &conflict.copy else { continue };
            let entry = match view_of {
                Some(c) => LocalView::entry(self.clients[c].r().index(), copy),
                None => LocalView::entry(self.hub.index(), copy),
            };
            if let Some(entry) = entry.unwrap().filter(|e| !e.deleted) {
                if let Some(id) = entry.content_id {
                    self.copies.push((copy.clone(), entry.version.clone(), id));
                }
            }
        }
    }

    fn local_op(&mut self, c: usize) {
        let root = self.clients[c].dir.path().to_path_buf();
        let existing: Vec<String> = disk_tree(&root)
            .into_iter()
            .filter(|(_, v)| v.is_some())
            .map(|(k, _)| k)
            .collect();
        match self.rng.gen_range(0..10) {
            0..=4 => {
                let rel = FILES[self.rng.gen_range(0..FILES.len())];
                self.write(c, rel);
            }
            5 | 6 if !existing.is_empty() => {
                let victim = existing[self.rng.gen_range(0..existing.len())].clone();
                self.forget_pending(c, &victim);
                fs::remove_file(root.join(&victim)).unwrap();
            }
            7 if !existing.is_empty() => {
                let from = existing[self.rng.gen_range(0..existing.len())].clone();
                let to = FILES[self.rng.gen_range(0..FILES.len())];
                let to_path = root.join(to);
                if !to_path.exists()
                    && fs::create_dir_all(to_path.parent().unwrap()).is_ok()
                    && fs::rename(root.join(&from), to_path).is_ok()
                {
                    if let Ok(data) = fs::read(root.join(to)) {
                        let id =
                            syncore::FileManifest::of_slice(&common::chunker(), &data).content_id();
                        self.dropped.insert((from.clone(), id));
                    }
                    // The moved bytes are the user's write, now at the new path.
                    for pending in &mut self.pending {
                        if pending.0 == c && pending.1 == from {
                            pending.1 = to.to_owned();
                        }
                    }
                }
            }
            8 => {
                let dir = DIRS[self.rng.gen_range(0..DIRS.len())];
                self.forget_pending(c, dir);
                let _ = fs::remove_dir_all(root.join(dir));
            }
            _ => {
                let dir = DIRS[self.rng.gen_range(0..DIRS.len())];
                let _ = fs::create_dir_all(root.join(dir));
            }
        }
        // Sometimes the user's change is not scanned before the next exchange.
        if self.rng.gen_bool(0.6) {
            self.scan_client(c);
        }
    }

    /// Client `c` sends its changes to the hub, which stores their chunks and records them.
    fn upload(&mut self, c: usize) {
        let client = self.clients[c].r();
        let cursor = self.hub.synced_cursor(client.replica_id()).unwrap();
        let changes = wire(&client.changes_for(self.hub.replica_id(), cursor).unwrap());
        let plan = self.hub.plan(&changes, &self.options).unwrap();
        trace(&format!("hub <- client {c}"), &plan);
        let source = client.chunk_source();
        // Incomplete (the client's file changed since its scan): the cursor stays, and the
        // next upload after its next scan retries.
        self.hub.apply(&plan, &source).unwrap();
        self.note_copies(&plan, None);
    }

    /// Client `c` takes in the hub's changes, possibly with an injected fault.
    fn download(&mut self, c: usize, faults: bool) {
        let hub_id = self.hub.replica_id();
        let cursor = self.clients[c].r().synced_cursor(hub_id).unwrap();
        let client_id = self.clients[c].r().replica_id();
        let changes = wire(&self.hub.changes_for(client_id, cursor).unwrap());
        let plan = self.clients[c].r().plan(&changes, &self.options).unwrap();
        trace(&format!("client {c} <- hub"), &plan);
        let writes: Vec<&Action> = plan
            .actions
            .iter()
            .filter(|a| matches!(a, Action::WriteFile { .. }))
            .collect();
        let mut fault = None;
        let mut victim = None;
        let mut corrupt = false;
        if faults && !writes.is_empty() {
            match self.rng.gen_range(0..8) {
                0 => fault = Some(Fault::CrashBeforeRename(writes[0].path().clone())),
                3 => fault = Some(Fault::CrashAfterRename(writes[0].path().clone())),
                1 | 2 => {
                    let missing = plan.missing_chunks();
                    if !missing.is_empty() {
                        victim = Some(missing[self.rng.gen_range(0..missing.len())]);
                        corrupt = self.rng.gen_bool(0.5);
                    }
                }
                _ => {}
            }
        }
        let durability = match self.rng.gen_range(0..3) {
            0 => Durability::PerFile,
            1 => Durability::Batched,
            _ => Durability::None,
        };
        let source = Flaky {
            inner: self.hub.store(),
            victim,
            corrupt,
            fired: Cell::new(false),
        };
        let injected = fault.is_some();
        let options = ApplyOptions {
            durability,
            fault,
            ..ApplyOptions::default()
        };
        let client = &mut self.clients[c];
        match client.r_mut().apply(&plan, &source, &options) {
            Ok(report) if report.is_complete() => {
                // Kept losers must be recorded right after a complete apply.
                for conflict in &plan.conflicts {
                    if let Some(copy) = &conflict.copy {
                        assert!(
                            LocalView::entry(client.r().index(), copy)
                                .unwrap()
                                .is_some(),
                            "conflict copy {copy} was not recorded"
                        );
                    }
                }
            }
            // Incomplete: the cursor stays; the next round re-plans the rest.
            Ok(_) => {}
            Err(ref e) => {
                assert!(injected, "apply failed without a fault: {e}");
                // "Restart" after the crash: sometimes reopen the index, sometimes clean
                // leftovers, as a restarted application would.
                if self.rng.gen_bool(0.5) {
                    client.reopen();
                }
                if self.rng.gen_bool(0.5) {
                    client.r().remove_stale_temp_files().unwrap();
                }
            }
        }
        self.note_copies(&plan, Some(c));
    }

    /// Client `c` pulls directly from client `d` (peer to peer, no hub), reading the chunks
    /// it lacks out of `d`'s files.
    fn direct(&mut self, c: usize, d: usize) {
        if c == d {
            return;
        }
        let (receiver, sender) = if c < d {
            let (lo, hi) = self.clients.split_at_mut(d);
            (&mut lo[c], &hi[0])
        } else {
            let (lo, hi) = self.clients.split_at_mut(c);
            (&mut hi[0], &lo[d])
        };
        let cursor = receiver.r().synced_cursor(sender.r().replica_id()).unwrap();
        let receiver_id = receiver.r().replica_id();
        let changes = wire(&sender.r().changes_for(receiver_id, cursor).unwrap());
        let plan = receiver.r().plan(&changes, &self.options).unwrap();
        trace(&format!("client {c} <- client {d}"), &plan);
        let source = sender.r().chunk_source();
        receiver
            .r_mut()
            .apply(&plan, &source, &ApplyOptions::default())
            .unwrap();
        self.note_copies(&plan, Some(c));
    }

    fn converge(&mut self) -> usize {
        for round in 0..30 {
            for c in 0..self.clients.len() {
                self.scan_client(c);
                self.upload(c);
            }
            for c in 0..self.clients.len() {
                self.download(c, false);
            }
            if self.is_quiet() {
                return round;
            }
        }
        let hub_all = self.hub.change_set(0).unwrap();
        for (c, client) in self.clients.iter().enumerate() {
            let plan = client.r().plan(&hub_all, &self.options);
            eprintln!("client {c} pending: {plan:#?}");
            eprintln!(
                "client {c} disk: {:?}",
                disk_tree(client.dir.path()).keys().collect::<Vec<_>>()
            );
        }
        panic!("did not converge in 30 rounds");
    }

    /// True when no replica has anything left to do: every plan between converged replicas
    /// is empty.
    fn is_quiet(&mut self) -> bool {
        let hub_all = self.hub.change_set(0).unwrap();
        self.clients.iter().all(|client| {
            let to_client = client.r().plan(&hub_all, &self.options).unwrap();
            let to_hub = self
                .hub
                .plan(&client.r().change_set(0).unwrap(), &self.options)
                .unwrap();
            to_client.is_empty() && to_hub.is_empty()
        })
    }

    fn check(&self) {
        let first = disk_tree(self.clients[0].dir.path());
        for client in &self.clients[1..] {
            assert_eq!(disk_tree(client.dir.path()), first, "trees differ");
        }
        // Converged replicas plan nothing for each other, directly either.
        for a in &self.clients {
            for b in &self.clients {
                let plan = a.r().plan(&b.r().change_set(0).unwrap(), &self.options);
                assert!(plan.unwrap().is_empty(), "converged peers still plan work");
            }
        }
        let hub_entries = entries_of(self.hub.index());
        // The hub's live files are exactly the clients' files.
        let hub_files: BTreeMap<String, Digest> = hub_entries
            .values()
            .filter(|e| !e.deleted)
            .filter_map(|e| e.content_id.map(|c| (e.path.to_string(), c)))
            .collect();
        let disk_files: BTreeMap<String, Digest> = first
            .iter()
            .filter_map(|(k, v)| {
                v.as_ref().map(|data| {
                    let m = syncore::FileManifest::of_slice(&common::chunker(), data);
                    (k.clone(), m.content_id())
                })
            })
            .collect();
        assert_eq!(hub_files, disk_files, "hub and clients differ");
        // Every chunk of every live file is in the hub's store.
        for entry in hub_entries.values().filter(|e| !e.deleted) {
            if let Some(id) = entry.content_id {
                let manifest = self.hub.manifest(&id).unwrap().expect("hub manifest");
                for chunk in manifest.chunks() {
                    assert!(syncore::ChunkStore::has(self.hub.store(), &chunk.id).unwrap());
                }
            }
        }
        // No version that was ever the latest somewhere was forgotten: the final version at
        // its path includes it (it was superseded causally, or lost a conflict).
        let finals: HashMap<&RelPath, &VersionVector> =
            hub_entries.iter().map(|(k, e)| (k, &e.version)).collect();
        let includes = |a: &VersionVector, b: &VersionVector| {
            matches!(a.compare(b), Causality::Dominates | Causality::Equal)
        };
        for (path, version, _) in &self.history {
            let fin = finals.get(path).expect("a path the hub never heard of");
            assert!(
                includes(fin, version),
                "{path}: final version does not include {version:?}"
            );
        }
        if !self.options.policy.keeps_loser() {
            return;
        }
        // Keeping losers: every file version a user made is in the final tree, or was
        // superseded by a later change at its path, or survives (or was causally replaced)
        // as a conflict copy.
        let final_contents: HashSet<Digest> = hub_files.values().copied().collect();
        let superseded = |path: &RelPath, version: &VersionVector| {
            self.history
                .iter()
                .any(|(p, v, _)| p == path && v.compare(version) == Causality::Dominates)
        };
        for (path, version, content) in &self.history {
            let Some(content) = content else { continue };
            let kept = final_contents.contains(content)
                || self.dropped.contains(&(path.to_string(), *content))
                || superseded(path, version)
                || self.copies.iter().any(|(q, v, c)| {
                    c == content && (final_contents.contains(c) || superseded(q, v))
                });
            assert!(
                kept,
                "{path}: version {version:?} with content {content} was lost"
            );
        }
    }
}

/// Prints a plan's actions when `SYNCORE_SIM_TRACE` is set (for replaying a failing seed).
fn trace(what: &str, plan: &syncore::sync::Plan) {
    if std::env::var_os("SYNCORE_SIM_TRACE").is_none() || plan.is_empty() {
        return;
    }
    eprintln!("== {what}");
    for action in &plan.actions {
        let (kind, entry) = match action {
            Action::WriteFile { entry, .. } => ("write", entry),
            Action::MakeDir { entry, .. } => ("mkdir", entry),
            Action::MakeSymlink { entry, .. } => ("symlink", entry),
            Action::Delete { tombstone, .. } => ("delete", tombstone),
            Action::RemoveDir { tombstone, .. } => ("rmdir", tombstone),
            Action::Rename { to, .. } => ("rename-to", to),
            Action::UpdateMetadata { entry, .. } => ("meta", entry),
            Action::Record { entry, .. } => ("record", entry),
        };
        let content = entry.content_id.map(|c| c.to_hex()[..8].to_owned());
        eprintln!(
            "   {kind:9} {} {:?} {content:?} del={}",
            entry.path, entry.version, entry.deleted
        );
    }
    for conflict in &plan.conflicts {
        eprintln!(
            "   conflict {} winner={:?} copy={:?} local={:?} remote={:?}",
            conflict.path,
            conflict.winner,
            conflict.copy,
            conflict.local.version,
            conflict.remote.version
        );
    }
}

fn syncore_time(ns: i64) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_nanos(ns as u64)
}

fn run(seed: u64) {
    let mut sim = Sim::new(seed);
    let steps = sim.rng.gen_range(10..40);
    for _ in 0..steps {
        let c = sim.rng.gen_range(0..3);
        match sim.rng.gen_range(0..9) {
            0..=3 => sim.local_op(c),
            4 | 5 => sim.upload(c),
            6 | 7 => sim.download(c, true),
            _ => {
                let d = sim.rng.gen_range(0..3);
                sim.direct(c, d);
            }
        }
    }
    sim.converge();
    sim.check();
}

#[test]
fn random_histories_converge() {
    if let Ok(seed) = std::env::var("SYNCORE_SIM_SEED") {
        run(seed.parse().expect("SYNCORE_SIM_SEED must be a number"));
        return;
    }
    let seeds: u64 = std::env::var("SYNCORE_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = AtomicU64::new(0);
    let failed = Mutex::new(Vec::new());
    let started = std::time::Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= seeds {
                    return;
                }
                if std::panic::catch_unwind(|| run(seed)).is_err() {
                    eprintln!(
                        "simulation failed for seed {seed}; replay with SYNCORE_SIM_SEED={seed}"
                    );
                    failed.lock().unwrap().push(seed);
                }
            });
        }
    });
    let mut failed = failed.into_inner().unwrap();
    failed.sort_unstable();
    eprintln!(
        "simulation: {seeds} seeds on {workers} threads in {:.1?}",
        started.elapsed()
    );
    assert!(
        failed.is_empty(),
        "simulation failed for seeds {failed:?}; replay with SYNCORE_SIM_SEED={}",
        failed[0]
    );
}

#[test]
fn paths_stay_inside_the_roots() {
    // The scanner and applier only ever produce paths under each root.
    let mut sim = Sim::new(7);
    for _ in 0..20 {
        let c = sim.rng.gen_range(0..3);
        sim.local_op(c);
        sim.upload(c);
    }
    sim.converge();
    for client in &sim.clients {
        let root: &Path = client.dir.path();
        for path in disk_tree(root).keys() {
            assert!(root.join(path).starts_with(root));
        }
    }
}
