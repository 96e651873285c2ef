"""syncore: an embeddable file-sync engine (Python bindings).

Content-defined chunking and content addressing, file manifests, chunk stores (in memory, on
disk, replicated, or any Python object implementing :class:`StoreProtocol`), a watcher-event
coalescer, version vectors, atomic file writes, and the sync exchange between persistent
replicas (:class:`Replica`) and store-backed hubs (:class:`Hub`), all implemented by the Rust
core.

Threads: every call that hashes, reads, writes or queries releases the GIL, so several
threads can chunk, hash and store in parallel. All objects may be shared between threads
(mutating ones serialize their calls) except the lazy iterators returned by
``Chunker.iter_file`` / ``Chunker.iter_reader``, which one thread at a time should advance.
Mutable buffers (``bytearray``, NumPy arrays) must not be modified while a call reads them.

Example::

    import syncore

    chunker = syncore.Chunker()               # FastCDC 16/64/256 KiB, BLAKE3
    store = syncore.FsStore("chunks")
    with chunker.iter_file("big.iso", with_data=True) as chunks:
        for chunk, data in chunks:
            store.put(chunk.id, data)
    manifest = chunker.manifest_file("big.iso")
    assert store.missing([c.id for c in manifest.chunks]) == []
"""

from __future__ import annotations

from typing import Iterable, Optional, Protocol, Union, runtime_checkable

from ._errors import (
    BusyError,
    ConflictError,
    CorruptError,
    InvalidInputError,
    NotFoundError,
    QuotaExceededError,
    SyncoreError,
    SyncoreFileExistsError,
    SyncoreFileNotFoundError,
    SyncoreIsADirectoryError,
    SyncoreNotADirectoryError,
    SyncoreOSError,
    SyncorePermissionError,
    UnsupportedError,
)
from ._syncore import (
    DEFAULT_IGNORED_NAMES,
    DEFAULT_STATE_DIR,
    DEFAULT_TRASH_NAMES,
    MAX_CHUNK_LEN,
    __version__,
    Action,
    ActionKind,
    ApplyIssue,
    ApplyReport,
    AtomicFile,
    Causality,
    Changes,
    ChangeSet,
    Chunk,
    Chunker,
    ChunkIterator,
    ChunkStore,
    ChunkStream,
    Collision,
    Conflict,
    ConflictPolicy,
    delta,
    delta_file,
    DeltaStats,
    Digest,
    digest,
    Direction,
    Durability,
    Entry,
    EntryKind,
    EventCoalescer,
    FileManifest,
    FsStore,
    GcReport,
    HashAlgo,
    Hasher,
    Hub,
    MemoryReplica,
    MemStore,
    normalize_path,
    patch,
    patch_file,
    Plan,
    PlanSummary,
    PythonStore,
    Replica,
    ReplicaId,
    ReplicatedStore,
    ScanReport,
    ScrubReport,
    SettledChange,
    SettledChangeKind,
    Side,
    Signature,
    signature_file,
    SignatureFormat,
    StoreStats,
    SyncOptions,
    Usage,
    Version,
    VersionVector,
    WatchEventKind,
)


@runtime_checkable
class StoreProtocol(Protocol):
    """What a Python object needs to be used as a chunk store.

    Pass such an object wherever a store is expected (``ReplicatedStore`` back ends, ...) or
    wrap it in :class:`PythonStore` to get the full :class:`ChunkStore` API. Ids arrive as
    :class:`Digest` objects (hashable; ``id.hex()`` makes a good object key). syncore checks
    every id on ``put`` and re-hashes what ``get`` returns, so the object only stores bytes.
    An optional ``algo`` attribute (``"blake3"`` or ``"sha256"``) selects the hash; optional
    ``size(id) -> int`` and ``stats() -> (chunks, bytes)`` methods make those calls cheaper.
    """

    def has(self, id: Digest) -> bool:
        """Whether the chunk is stored."""
        ...

    def get(self, id: Digest) -> Optional[bytes]:
        """The chunk's bytes, or None (or raise ``KeyError``) if absent."""
        ...

    def put(self, id: Digest, data: bytes) -> Optional[bool]:
        """Stores the chunk; returns whether it was new (None counts as True)."""
        ...

    def delete(self, id: Digest) -> bool:
        """Removes the chunk; returns whether it was there."""
        ...

    def ids(self) -> Iterable[Union[Digest, bytes, str]]:
        """Every stored id (as Digest, 32 bytes or hex)."""
        ...



__all__ = [
    "__version__",
    "Action",
    "ActionKind",
    "ApplyIssue",
    "ApplyReport",
    "AtomicFile",
    "BusyError",
    "Causality",
    "Changes",
    "ChangeSet",
    "Chunk",
    "Chunker",
    "ChunkIterator",
    "ChunkStore",
    "ChunkStream",
    "Collision",
    "Conflict",
    "ConflictError",
    "ConflictPolicy",
    "CorruptError",
    "DEFAULT_IGNORED_NAMES",
    "DEFAULT_STATE_DIR",
    "DEFAULT_TRASH_NAMES",
    "delta",
    "delta_file",
    "DeltaStats",
    "Digest",
    "digest",
    "Direction",
    "Durability",
    "Entry",
    "EntryKind",
    "EventCoalescer",
    "FileManifest",
    "FsStore",
    "GcReport",
    "HashAlgo",
    "Hasher",
    "Hub",
    "InvalidInputError",
    "MAX_CHUNK_LEN",
    "MemoryReplica",
    "MemStore",
    "normalize_path",
    "NotFoundError",
    "patch",
    "patch_file",
    "Plan",
    "PlanSummary",
    "PythonStore",
    "QuotaExceededError",
    "Replica",
    "ReplicaId",
    "ReplicatedStore",
    "ScanReport",
    "ScrubReport",
    "SettledChange",
    "SettledChangeKind",
    "Side",
    "Signature",
    "signature_file",
    "SignatureFormat",
    "StoreProtocol",
    "StoreStats",
    "SyncOptions",
    "SyncoreError",
    "SyncoreFileExistsError",
    "SyncoreFileNotFoundError",
    "SyncoreIsADirectoryError",
    "SyncoreNotADirectoryError",
    "SyncoreOSError",
    "SyncorePermissionError",
    "UnsupportedError",
    "Usage",
    "Version",
    "VersionVector",
    "WatchEventKind",
]
