//! Two-way sync of two local folders through syncore's sans-IO API; this program plays the
//! transport between the two replicas.
//!
//! ```text
//! cargo run --release -p syncore --example sync -- [A B] [--policy newest|keep-both|prefer-local|prefer-remote]
//!     [--dry-run] [--durability per-file|batched|none]
//! ```
//!
//! With two folders: scans B, then scans A while sending its changes to B page by page (B
//! plans each, fetches the chunks it lacks from A's files and applies it as A's scan goes
//! on), then sends B's changes to A, and prints a summary (files changed, bytes moved,
//! bytes saved by dedup and local reuse, conflicts). `prefer-local` means A wins conflicts.
//! With no folders: sets up two sample folders in a temporary directory and demonstrates an
//! edit, a delete, a rename and a conflict, printing each step.

mod transport;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use syncore::apply::{ApplyOptions, Durability};
use syncore::sync::{ConflictPolicy, SyncOptions};
use syncore::{Replica, ReplicaOptions};
use transport::{push, scan_and_push, OneWay, PAGE};

struct Args {
    folders: Vec<PathBuf>,
    policy: ConflictPolicy,
    dry_run: bool,
    durability: Durability,
}

fn main() {
    if let Err(message) = run() {
        eprintln!("sync: {message}");
        std::process::exit(1);
    }
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        folders: Vec::new(),
        policy: ConflictPolicy::KeepBoth,
        dry_run: false,
        durability: Durability::PerFile,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--policy" => {
                args.policy = match it.next().as_deref() {
                    Some("newest") => ConflictPolicy::NewestWins,
                    Some("keep-both") => ConflictPolicy::KeepBoth,
                    Some("prefer-local") => ConflictPolicy::PreferLocal,
                    Some("prefer-remote") => ConflictPolicy::PreferRemote,
                    other => return Err(format!("unknown --policy {other:?}")),
                }
            }
            "--durability" => {
                args.durability = match it.next().as_deref() {
                    Some("per-file") => Durability::PerFile,
                    Some("batched") => Durability::Batched,
                    Some("none") => Durability::None,
                    other => return Err(format!("unknown --durability {other:?}")),
                }
            }
            "--dry-run" => args.dry_run = true,
            "-h" | "--help" => {
                println!(
                    "usage: sync [A B] [--policy newest|keep-both|prefer-local|prefer-remote] \
                     [--dry-run] [--durability per-file|batched|none]"
                );
                std::process::exit(0);
            }
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            folder => args.folders.push(PathBuf::from(folder)),
        }
    }
    Ok(args)
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    match args.folders.as_slice() {
        [] => demo(&args).map_err(|e| e.to_string()),
        [a, b] => {
            let mut a = open(a)?;
            let mut b = open(b)?;
            let started = Instant::now();
            let summary = sync(&mut a, &mut b, &args).map_err(|e| e.to_string())?;
            summary.print(args.dry_run);
            println!("took {:.2?}", started.elapsed());
            Ok(())
        }
        _ => Err("give two folders, or none for the demo".into()),
    }
}

fn open(root: &Path) -> Result<Replica, String> {
    fs::create_dir_all(root).map_err(|e| format!("{}: {e}", root.display()))?;
    // Opening also removes the temp files a crashed earlier run may have left behind
    // (`ReplicaOptions::remove_stale_temp_files`).
    Replica::open(root, ReplicaOptions::default()).map_err(|e| format!("{}: {e}", root.display()))
}

/// Both directions of one sync.
#[derive(Debug, Default)]
struct Summary {
    to_b: OneWay,
    to_a: OneWay,
}

impl Summary {
    fn print(&self, dry_run: bool) {
        for (name, way) in [("A -> B", &self.to_b), ("B -> A", &self.to_a)] {
            let plan = way.plan.summary();
            let conflicts: Vec<String> = way
                .conflicts
                .iter()
                .map(|c| match &c.copy {
                    Some(copy) => format!("{} (loser kept as {copy})", c.path),
                    None => format!("{} ({:?} wins)", c.path, c.winner),
                })
                .collect();
            match &way.report {
                None if dry_run => println!(
                    "{name}: would write {} files ({} bytes, {} to transfer), delete {}, \
                     rename {}, create {} dirs; conflicts: {}",
                    plan.files_written,
                    plan.bytes_written,
                    plan.missing_bytes,
                    plan.deleted,
                    plan.renamed,
                    plan.dirs_created,
                    list(&conflicts)
                ),
                None => println!("{name}: nothing to do"),
                Some(report) => {
                    let changed = report.files_written + report.deleted + report.renamed;
                    let saved = report.bytes_written.saturating_sub(way.bytes_moved);
                    println!(
                        "{name}: {changed} files changed ({} written, {} deleted, {} renamed, \
                         {} dirs created), {} bytes moved, {} bytes saved by dedup and local \
                         reuse; conflicts: {}{}",
                        report.files_written,
                        report.deleted,
                        report.renamed,
                        report.dirs_created,
                        way.bytes_moved,
                        saved,
                        list(&conflicts),
                        if report.is_complete() {
                            String::new()
                        } else {
                            format!(
                                "; {} left for the next run ({} changed meanwhile, {} failed)",
                                report.conflicts.len() + report.failed.len(),
                                report.conflicts.len(),
                                report.failed.len()
                            )
                        }
                    );
                    if way.pages_streamed > 0 || way.stream_stopped.is_some() {
                        println!(
                            "{name}: {} taken in while A was scanning{}",
                            match way.pages_streamed {
                                1 => "1 page".to_string(),
                                n => format!("{n} pages"),
                            },
                            way.stream_stopped
                                .as_ref()
                                .map(|why| format!(", then the rest after it ({why})"))
                                .unwrap_or_default()
                        );
                    }
                }
            }
        }
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// One two-way sync: scan B, then scan A while streaming its changes to B, then B's to A.
fn sync(a: &mut Replica, b: &mut Replica, args: &Args) -> syncore::Result<Summary> {
    b.scan()?;
    let apply = ApplyOptions {
        durability: args.durability,
        ..ApplyOptions::default()
    };
    // The policy is A's point of view: "prefer-local" means A wins on both sides.
    let (for_b, for_a) = match args.policy {
        ConflictPolicy::PreferLocal => (ConflictPolicy::PreferRemote, ConflictPolicy::PreferLocal),
        ConflictPolicy::PreferRemote => (ConflictPolicy::PreferLocal, ConflictPolicy::PreferRemote),
        same => (same, same),
    };
    let options = |policy| SyncOptions {
        policy,
        ..SyncOptions::default()
    };
    let to_b = if args.dry_run {
        a.scan()?;
        push(a, b, &options(for_b), &apply, true)?
    } else {
        scan_and_push(a, b, PAGE, &options(for_b), &apply)?.1
    };
    let to_a = push(b, a, &options(for_a), &apply, args.dry_run)?;
    Ok(Summary { to_b, to_a })
}

/// The demo: two sample folders, an edit, a delete, a rename and a conflict.
fn demo(args: &Args) -> syncore::Result<()> {
    let io = |e: std::io::Error| syncore::Error::io_stream(e);
    // Removed when dropped, also if a step fails.
    let tmp = tempfile::Builder::new()
        .prefix("syncore-sync-demo-")
        .tempdir()
        .map_err(io)?;
    let (a_root, b_root) = (tmp.path().join("A"), tmp.path().join("B"));
    fs::create_dir_all(a_root.join("docs")).map_err(io)?;
    fs::create_dir_all(&b_root).map_err(io)?;
    println!(
        "demo folders: {} and {}",
        a_root.display(),
        b_root.display()
    );
    fs::write(a_root.join("notes.txt"), "shopping: milk\n").map_err(io)?;
    fs::write(a_root.join("docs/report.md"), report_text()).map_err(io)?;
    fs::write(a_root.join("old.txt"), "to be deleted\n").map_err(io)?;
    // Same bytes twice: the second copy moves nothing (dedup).
    fs::write(a_root.join("docs/report-copy.md"), report_text()).map_err(io)?;
    let mut a = Replica::open(&a_root, ReplicaOptions::default())?;
    let mut b = Replica::open(&b_root, ReplicaOptions::default())?;
    let args = Args {
        folders: Vec::new(),
        policy: args.policy,
        dry_run: false,
        durability: args.durability,
    };
    let step = |title: &str, a: &mut Replica, b: &mut Replica| -> syncore::Result<()> {
        println!("\n== {title}");
        sync(a, b, &args)?.print(false);
        show("A", &a_root)?;
        show("B", &b_root)
    };
    step("1. first sync: A's files appear in B", &mut a, &mut b)?;

    fs::write(a_root.join("notes.txt"), "shopping: milk, eggs\n").map_err(io)?;
    step("2. edit notes.txt in A", &mut a, &mut b)?;

    fs::remove_file(b_root.join("old.txt")).map_err(io)?;
    step("3. delete old.txt in B", &mut a, &mut b)?;

    fs::rename(
        a_root.join("docs/report.md"),
        a_root.join("docs/final-report.md"),
    )
    .map_err(io)?;
    step(
        "4. rename docs/report.md in A (a move: no bytes move)",
        &mut a,
        &mut b,
    )?;

    fs::write(
        a_root.join("notes.txt"),
        "shopping: milk, eggs, bread (A)\n",
    )
    .map_err(io)?;
    fs::write(b_root.join("notes.txt"), "shopping: milk, eggs, jam (B)\n").map_err(io)?;
    step(
        &format!("5. both edit notes.txt: a conflict ({:?})", args.policy),
        &mut a,
        &mut b,
    )?;
    drop((a, b));
    tmp.close().map_err(io)
}

fn report_text() -> String {
    (0..2000)
        .map(|i| format!("line {i}: quarterly figures, unchanged between versions\n"))
        .collect()
}

/// Prints a folder's files (the `.syncore` state directory left out).
fn show(name: &str, root: &Path) -> syncore::Result<()> {
    let mut files = Vec::new();
    collect(root, root, &mut files)?;
    files.sort();
    println!("   {name}:");
    for (path, preview) in files {
        println!("     {path:40} {preview}");
    }
    Ok(())
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) -> syncore::Result<()> {
    let io = |e: std::io::Error| syncore::Error::io(dir, e);
    for item in fs::read_dir(dir).map_err(io)? {
        let path = item.map_err(io)?.path();
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        if rel == ".syncore" {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, out)?;
        } else {
            let text = fs::read(&path).map_err(io)?;
            let first = String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or("")
                .to_owned();
            out.push((rel, format!("{} bytes: {first:.40}", text.len())));
        }
    }
    Ok(())
}
