//! Chunk sources: where applying a plan reads the chunks the receiver lacks. A source is an
//! ordered list of layers — chunk stores (any `syncore_store`, including stores implemented by
//! the application) and other replicas' working trees — tried in order, as the core's
//! `Layered` source does. It only reads; it never writes to what it borrows.

use std::sync::Arc;

use syncore_core::apply::{ChunkSource, Layered};
use syncore_core::{ChunkStore, Error};

use crate::boundary::{
    arg_mut, arg_ref, boundary, boundary_value, free_handle, into_handle, out_ptr, FfiResult,
};
use crate::replica::syncore_replica;
use crate::status::syncore_status;
use crate::store::syncore_store;

/// One layer of a chunk source.
enum Layer {
    /// A store, shared with the handle it came from.
    Store(Arc<dyn ChunkStore>),
    /// A replica's own files, borrowed: the caller keeps it alive (see
    /// `syncore_chunk_source_add_replica`).
    Replica(*const syncore_replica),
}

/// Where `syncore_replica_apply` and `syncore_hub_apply` read the chunks a plan needs: an
/// ordered list of layers (stores and replicas' files), tried in the order they were added;
/// the first layer that has a chunk serves it, and every chunk is verified against its id
/// whichever layer served it. Made empty by `syncore_chunk_source_new`; released with
/// `syncore_chunk_source_free`. Not for concurrent use.
pub struct syncore_chunk_source {
    layers: Vec<(Layer, bool)>,
}

impl syncore_chunk_source {
    /// Runs `f` with the core source these layers make. `exclude` is the replica being
    /// written to, which must not also be read through this source.
    pub(crate) fn with<T>(
        &self,
        exclude: *const syncore_replica,
        f: impl FnOnce(&dyn ChunkSource) -> FfiResult<T>,
    ) -> FfiResult<T> {
        let mut built: Vec<Box<dyn ChunkSource + '_>> = Vec::with_capacity(self.layers.len());
        for (layer, _) in &self.layers {
            built.push(match layer {
                Layer::Store(store) => Box::new(Arc::clone(store)),
                Layer::Replica(ptr) => {
                    if std::ptr::eq(*ptr, exclude) {
                        return Err(Error::InvalidInput(
                            "source: a replica cannot be a chunk source for itself (its own \
                             files are always used first)"
                                .into(),
                        )
                        .into());
                    }
                    // SAFETY: `syncore_chunk_source_add_replica` documents that the replica
                    // stays alive and is not modified while the source is used.
                    let replica = unsafe { arg_ref(*ptr, "source replica") }?;
                    Box::new(replica.inner.chunk_source())
                }
            });
        }
        let mut layered = Layered::new();
        for (source, (_, local)) in built.iter().zip(&self.layers) {
            layered = if *local {
                layered.local(&**source)
            } else {
                layered.remote(&**source)
            };
        }
        f(&layered)
    }
}

/// Makes an empty chunk source and writes it to `*out` (owned by the caller, released with
/// `syncore_chunk_source_free`; written only on success). Add layers with
/// `syncore_chunk_source_add_store` and `syncore_chunk_source_add_replica`; an empty source
/// serves nothing, which suffices for plans that need no chunks.
#[no_mangle]
pub extern "C" fn syncore_chunk_source_new(out: *mut *mut syncore_chunk_source) -> syncore_status {
    boundary(|| {
        out_ptr(out, "out")?.write(into_handle(syncore_chunk_source { layers: Vec::new() }));
        Ok(())
    })
}

/// Adds `store` (any store: in-memory, directory, replicated, or the application's
/// callbacks) as the next layer of `source`. The source takes its own reference to the store,
/// so the caller may free the `store` handle at any time. Bytes it serves count as reused
/// locally in apply reports when `local` is true, and as transferred otherwise.
#[no_mangle]
pub extern "C" fn syncore_chunk_source_add_store(
    source: *mut syncore_chunk_source,
    store: *const syncore_store,
    local: bool,
) -> syncore_status {
    boundary(|| {
        // SAFETY: NULL or a live source not used concurrently.
        let source = unsafe { arg_mut(source, "source") }?;
        // SAFETY: NULL or a live store.
        let store = unsafe { arg_ref(store, "store") }?;
        source
            .layers
            .push((Layer::Store(Arc::clone(store.as_chunk_store())), local));
        Ok(())
    })
}

/// Adds the working tree of `replica` as the next layer of `source`: chunks are read out of
/// its indexed files, each verified against its id (a file that changed since its last scan
/// simply fails verification). `source` only borrows `replica`: the replica must stay alive,
/// and no call may modify it, until `source` is freed (or no longer used). A replica cannot
/// serve a plan applied to itself. Bytes it serves count as reused locally when `local` is
/// true, and as transferred otherwise (the usual case: a peer's files).
#[no_mangle]
pub extern "C" fn syncore_chunk_source_add_replica(
    source: *mut syncore_chunk_source,
    replica: *const syncore_replica,
    local: bool,
) -> syncore_status {
    boundary(|| {
        // SAFETY: NULL or a live source not used concurrently.
        let source = unsafe { arg_mut(source, "source") }?;
        // SAFETY: NULL or a live replica (checked here only for NULL).
        unsafe { arg_ref(replica, "replica") }?;
        source.layers.push((Layer::Replica(replica), local));
        Ok(())
    })
}

/// The number of layers in `source` (0 if NULL).
#[no_mangle]
pub extern "C" fn syncore_chunk_source_len(source: *const syncore_chunk_source) -> usize {
    boundary_value(0, || {
        // SAFETY: NULL or a live source.
        unsafe { source.as_ref() }.map_or(0, |s| s.layers.len())
    })
}

/// Releases `source` and its references to stores (the stores live on while other handles
/// hold them). Replicas it borrowed are not affected. NULL is a no-op.
#[no_mangle]
pub extern "C" fn syncore_chunk_source_free(source: *mut syncore_chunk_source) {
    // SAFETY: NULL or a handle made by this library and not yet freed.
    boundary_value((), || unsafe { free_handle(source) })
}
