//! The transport half of the sync example: one direction of the sans-IO exchange between two
//! local replicas, with the byte accounting the summary prints. Shared with the benches so
//! they measure exactly the example's path.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;

use syncore::apply::{ApplyOptions, ApplyReport, ChunkLocation, ChunkOrigin, ChunkSource};
use syncore::sync::{Plan, SyncOptions};
use syncore::{Digest, HashAlgo, Replica, Result};

/// A chunk source that counts the distinct chunks (and their bytes) it served: what a network
/// transport would have moved.
pub struct Counting<'a> {
    inner: &'a dyn ChunkSource,
    seen: RefCell<HashSet<Digest>>,
    bytes: Cell<u64>,
}

impl<'a> Counting<'a> {
    /// Wraps `inner`.
    pub fn new(inner: &'a dyn ChunkSource) -> Self {
        Counting {
            inner,
            seen: RefCell::new(HashSet::new()),
            bytes: Cell::new(0),
        }
    }

    fn count(&self, id: &Digest, bytes: Vec<u8>) -> Vec<u8> {
        if self.seen.borrow_mut().insert(*id) {
            self.bytes.set(self.bytes.get() + bytes.len() as u64);
        }
        bytes
    }

    /// Distinct bytes served so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.get()
    }
}

impl ChunkSource for Counting<'_> {
    fn read_chunk(&self, id: &Digest) -> Result<Vec<u8>> {
        self.read_chunk_from(id).map(|(bytes, _)| bytes)
    }

    fn read_chunk_from(&self, id: &Digest) -> Result<(Vec<u8>, ChunkOrigin)> {
        let bytes = self.inner.read_chunk(id)?;
        Ok((self.count(id, bytes), ChunkOrigin::Remote))
    }

    fn read_verified(
        &self,
        id: &Digest,
        algo: HashAlgo,
        hint: Option<&ChunkLocation>,
    ) -> Result<(Vec<u8>, ChunkOrigin)> {
        // The inner source checks (once) what it serves.
        let (bytes, _) = self.inner.read_verified(id, algo, hint)?;
        Ok((self.count(id, bytes), ChunkOrigin::Remote))
    }
}

/// What one direction of a sync did.
#[derive(Debug, Default)]
pub struct OneWay {
    /// The plan the receiver made.
    pub plan: Plan,
    /// What applying it did (`None` for a dry run).
    pub report: Option<ApplyReport>,
    /// Distinct chunk bytes read from the sender (the transfer).
    pub bytes_moved: u64,
}

/// Sends `from`'s changes to `to`: encode since `to`'s cursor of `from`, decode and plan on
/// `to`, then apply, fetching the chunks `to` lacks from `from`'s files.
pub fn push(
    from: &Replica,
    to: &mut Replica,
    sync: &SyncOptions,
    apply: &ApplyOptions,
    dry_run: bool,
) -> Result<OneWay> {
    // What the application ships from `from` to `to`.
    let bytes = from.changes_since_encoded(to.synced_cursor(from.replica_id())?)?;
    let plan = to.plan_encoded(&bytes, sync)?;
    if dry_run || plan.is_empty() {
        return Ok(OneWay {
            plan,
            ..OneWay::default()
        });
    }
    // The sender serves missing chunks out of its own files, verified on read.
    let files = from.chunk_source();
    let source = Counting::new(&files);
    let report = to.apply(&plan, &source, apply)?;
    Ok(OneWay {
        bytes_moved: source.bytes(),
        plan,
        report: Some(report),
    })
}
