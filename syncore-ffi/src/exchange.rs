//! The sync exchange shared by the persistent replica and the hub: their
//! `_changes_since`, `_changes_for`, `_plan`, `_apply` and `_synced_cursor` exports differ
//! only in the handle
//! they take, so each is a thin shell over one function here, generic over [`Peer`].

use syncore_core::apply::{ApplyReport, ChunkSource};
use syncore_core::sync::{ChangeSet, Plan, ReplicaId, SyncOptions};
use syncore_core::Result;

use crate::boundary::{
    arg_bytes, arg_mut, arg_ref, boundary, into_handle, out_ptr, write_opt, Failure, FfiResult,
};
use crate::buffers::{bytes_out, syncore_bytes};
use crate::chunk_source::syncore_chunk_source;
use crate::memory_replica::syncore_apply_report;
use crate::plan::syncore_plan;
use crate::replica::{read_id, syncore_replica};
use crate::status::syncore_status;
use crate::sync::{sync_options, syncore_sync_options};

/// A handle that takes part in the exchange: forwards to the core methods of the same names.
pub(crate) trait Peer {
    /// The handle's parameter name, for NULL-argument messages.
    const NAME: &'static str;
    /// What an apply needs besides the plan and the chunk source.
    type ApplyOptions;

    /// Everything recorded after `cursor`.
    fn change_set(&self, cursor: u64) -> Result<ChangeSet>;
    /// Everything recorded after `cursor` that `peer` did not send as it is.
    fn changes_for(&self, peer: ReplicaId, cursor: u64) -> Result<ChangeSet>;
    /// Decodes a peer's change set and plans it.
    fn plan_encoded(&self, bytes: &[u8], options: &SyncOptions) -> Result<Plan>;
    /// Performs `plan`, reading missing chunks from `source`.
    fn apply(
        &mut self,
        plan: &Plan,
        source: &dyn ChunkSource,
        options: &Self::ApplyOptions,
    ) -> Result<ApplyReport>;
    /// How far this handle has taken in `peer`'s journal.
    fn synced_cursor(&self, peer: ReplicaId) -> Result<u64>;
    /// The replica that the chunk source of an apply to `this` must not read: `this` itself
    /// when it is a replica (it is borrowed mutably while the source reads), NULL otherwise.
    fn exclude(this: *mut Self) -> *const syncore_replica;
}

/// The [`Peer`] methods that only forward to the core methods of the same names on the
/// handle's `inner` (the same for the replica and the hub).
macro_rules! forward_to_inner {
    () => {
        fn change_set(&self, cursor: u64) -> syncore_core::Result<syncore_core::sync::ChangeSet> {
            self.inner.change_set(cursor)
        }
        fn changes_for(
            &self,
            peer: syncore_core::sync::ReplicaId,
            cursor: u64,
        ) -> syncore_core::Result<syncore_core::sync::ChangeSet> {
            self.inner.changes_for(peer, cursor)
        }
        fn plan_encoded(
            &self,
            bytes: &[u8],
            options: &syncore_core::sync::SyncOptions,
        ) -> syncore_core::Result<syncore_core::sync::Plan> {
            self.inner.plan_encoded(bytes, options)
        }
        fn synced_cursor(&self, peer: syncore_core::sync::ReplicaId) -> syncore_core::Result<u64> {
            self.inner.synced_cursor(peer)
        }
    };
}
pub(crate) use forward_to_inner;

/// `_changes_since`: encodes everything `peer` recorded after `cursor` to `*out` and writes
/// the next cursor to `*out_cursor` (may be NULL).
pub(crate) fn changes_since<P: Peer>(
    peer: *const P,
    cursor: u64,
    out: *mut *mut syncore_bytes,
    out_cursor: *mut u64,
) -> syncore_status {
    write_changes(peer, out, out_cursor, |peer| Ok(peer.change_set(cursor)?))
}

/// `_changes_for`: [`changes_since`] for the peer whose id is at `id`, without the versions
/// `handle` took from that peer as it sent them.
pub(crate) fn changes_for<P: Peer>(
    handle: *const P,
    id: *const u8,
    id_name: &'static str,
    cursor: u64,
    out: *mut *mut syncore_bytes,
    out_cursor: *mut u64,
) -> syncore_status {
    write_changes(handle, out, out_cursor, |handle| {
        let id = read_id(id, id_name)?;
        Ok(handle.changes_for(id, cursor)?)
    })
}

/// Encodes the change set `changes` makes of `handle` to `*out`, and its next cursor to
/// `*out_cursor` (may be NULL): both written only on success.
fn write_changes<P: Peer>(
    handle: *const P,
    out: *mut *mut syncore_bytes,
    out_cursor: *mut u64,
    changes: impl FnOnce(&P) -> FfiResult<ChangeSet>,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live handle.
        let handle = unsafe { arg_ref(handle, P::NAME) }?;
        let changes = changes(handle)?;
        write_opt(out_cursor, changes.cursor);
        bytes_out(out, changes.encode())
    })
}

/// `_plan`: decodes the `len` change-set bytes at `data` and writes `peer`'s plan for them
/// under `*options` (NULL for the defaults) to `*out`.
pub(crate) fn plan<P: Peer>(
    peer: *const P,
    data: *const u8,
    len: usize,
    options: *const syncore_sync_options,
    out: *mut *mut syncore_plan,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live handle.
        let peer = unsafe { arg_ref(peer, P::NAME) }?;
        // SAFETY: the caller passes `len` readable bytes at `data`.
        let data = unsafe { arg_bytes(data, len, "data") }?;
        let options = sync_options(options)?;
        let plan = peer.plan_encoded(data, &options)?;
        out.write(into_handle(syncore_plan::new(plan)?));
        Ok(())
    })
}

/// `_apply`: performs `plan` on `peer` with chunks from `source` and the options `options`
/// makes (after the plan and the source are checked), counting what happened in
/// `*out_report` (may be NULL).
pub(crate) fn apply<P: Peer>(
    peer: *mut P,
    plan: *const syncore_plan,
    source: *const syncore_chunk_source,
    options: impl FnOnce() -> FfiResult<P::ApplyOptions>,
    out_report: *mut syncore_apply_report,
) -> syncore_status {
    boundary(|| {
        // SAFETY: NULL or a live plan.
        let plan = unsafe { arg_ref(plan, "plan") }?;
        // SAFETY: NULL or a live source.
        let source = unsafe { arg_ref(source, "source") }?;
        let options = options()?;
        if peer.is_null() {
            return Err(Failure::Null(P::NAME));
        }
        // The source is checked not to borrow the handle before the handle is borrowed
        // mutably.
        let report = source.with(P::exclude(peer), |source| {
            // SAFETY: non-NULL, a live handle not used concurrently, and not borrowed by
            // `source` (checked by `with`).
            let peer = unsafe { arg_mut(peer, P::NAME) }?;
            Ok(peer.apply(&plan.inner, source, &options)?)
        })?;
        write_opt(out_report, (&report).into());
        Ok(())
    })
}

/// `_synced_cursor`: writes how far `peer` has taken in the journal of the replica whose id
/// is the `SYNCORE_REPLICA_ID_LEN` bytes at `id` (the parameter `id_name`) to `*out`.
pub(crate) fn synced_cursor<P: Peer>(
    peer: *const P,
    id: *const u8,
    id_name: &'static str,
    out: *mut u64,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live handle.
        let peer = unsafe { arg_ref(peer, P::NAME) }?;
        let id = read_id(id, id_name)?;
        out.write(peer.synced_cursor(id)?);
        Ok(())
    })
}
