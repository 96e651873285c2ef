//! syncore's C API.
//!
//! A thin layer over the `syncore` core crate: every function here converts arguments, calls
//! the core and converts the result, and nothing else. The header `include/syncore.h` is
//! generated from this crate by cbindgen (`syncore-ffi/cbindgen.toml`) and is the reference
//! for C callers; the conventions below are repeated at its top.
//!
//! Conventions (modelled on rustls-ffi):
//! - objects are opaque handles made by `syncore_<object>_new`/`_open` and released by a
//!   NULL-safe `syncore_<object>_free`;
//! - fallible functions return a [`status::syncore_status`], write their out-parameters only
//!   when they return `SYNCORE_STATUS_OK`, and leave a message for
//!   [`error::syncore_last_error_message`];
//! - every exported function runs behind a panic boundary ([`boundary`]): a panic becomes
//!   `SYNCORE_STATUS_PANIC`, never an unwind into C.
//!
//! One module per core area: [`hash`], [`chunk`], [`manifest`], [`store`], [`coalescer`],
//! [`delta`], [`sync`] (policies, change sets), [`plan`], [`memory_replica`], the persistent
//! [`replica`] and [`hub`] (whose shared side of the exchange lives in `exchange`), and the
//! [`chunk_source`]s they apply plans from; the shared machinery lives in [`boundary`],
//! [`status`], [`error`] and [`buffers`].

#![allow(non_camel_case_types)]
// Exported functions take raw pointers from C and check them (NULL, lengths) before use,
// like rustls-ffi: marking every one `unsafe` would add nothing for C callers.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

pub mod boundary;
pub mod buffers;
pub mod chunk;
pub mod chunk_source;
pub mod coalescer;
pub mod delta;
pub mod error;
mod exchange;
pub mod hash;
pub mod hub;
pub mod manifest;
pub mod memory_replica;
pub mod plan;
pub mod replica;
pub mod status;
pub mod store;
pub mod sync;
pub mod version;
