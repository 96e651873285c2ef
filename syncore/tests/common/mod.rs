//! Test helpers shared by the apply, paging and simulation tests: a minimal scanner over a
//! real directory that records local changes into a `MemoryTarget`, the way the index's scan
//! will, and a check that a panic reaches the caller instead of hanging it.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use syncore::apply::{is_temp_name, DiskStat, MemoryTarget};
use syncore::sync::LocalView;
use syncore::{Chunker, ChunkerConfig, EntryKind, FileManifest, HashAlgo, RelPath};

pub fn chunker() -> Chunker {
    Chunker::new(ChunkerConfig::fixed(8), HashAlgo::Blake3).unwrap()
}

pub fn p(s: &str) -> RelPath {
    RelPath::new(s).unwrap()
}

/// Every file and directory under `root` (temp files skipped), as path → contents
/// (`None` for directories).
pub fn disk_tree(root: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut |rel, path, is_dir| {
        let data = if is_dir {
            None
        } else {
            Some(fs::read(path).unwrap())
        };
        out.insert(rel.to_string(), data);
    });
    out
}

fn walk(root: &Path, dir: &Path, f: &mut dyn FnMut(&RelPath, &Path, bool)) {
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for path in names {
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if is_temp_name(&name) {
            continue;
        }
        let rel = RelPath::from_fs(root, &path).unwrap();
        let meta = fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            f(&rel, &path, true);
            walk(root, &path, f);
        } else if meta.is_file() {
            f(&rel, &path, false);
        }
    }
}

/// Records what changed under `root` since the last scan into `target`, bumping the
/// replica's own counter for each change (a stand-in for `syncore::scan`).
pub fn scan(root: &Path, target: &mut MemoryTarget, now_ns: i64) {
    let chunker = chunker();
    let mut seen = Vec::new();
    walk(root, root, &mut |rel, path, is_dir| {
        seen.push(rel.clone());
        let recorded = target.view.entry(rel).unwrap().filter(|e| !e.deleted);
        let disk = DiskStat::of_path(path).unwrap().unwrap();
        if is_dir {
            if recorded.as_ref().is_none_or(|e| e.kind != EntryKind::Dir) {
                target.view.local_mkdir(rel, disk.mtime_ns);
            }
        } else {
            let unchanged = recorded.as_ref().is_some_and(|e| {
                e.kind == EntryKind::File && target.stat(rel).is_some_and(|s| s.matches(&disk))
            });
            if !unchanged {
                let manifest = FileManifest::of_file(&chunker, path).unwrap();
                let same = recorded.as_ref().is_some_and(|e| {
                    e.content_id == Some(manifest.content_id()) && e.executable == disk.executable
                });
                if !same {
                    target
                        .view
                        .local_write(rel, manifest, disk.mtime_ns, disk.executable);
                }
            }
        }
        target.observe(root, rel).unwrap();
    });
    let gone: Vec<RelPath> = target
        .view
        .live()
        .map(|e| e.path.clone())
        .filter(|path| !seen.contains(path))
        .collect();
    for path in gone {
        target.view.local_delete(&path, now_ns).unwrap();
        target.observe(root, &path).unwrap();
    }
}

/// Runs `work` on a thread of its own and returns whether it panicked; fails the test if it
/// has not returned within a minute (a panic that left threads waiting on each other).
pub fn panics_without_hanging(what: &str, work: impl FnOnce() + Send + 'static) -> bool {
    let (done, outcome) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).is_err();
        let _ = done.send(panicked);
    });
    outcome
        .recv_timeout(std::time::Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{what} hung instead of returning its panic"))
}
