//! Replays recorded watcher event sequences through the `EventCoalescer`.
//!
//! Each recording is a table of `(ms, kind, path)` rows in the shape the named backend emits
//! them (inotify with rename cookies, ReadDirectoryChangesW with cookieless back-to-back rename
//! halves and no directory flag, FSEvents with directionless renames). The harness runs the
//! loop an application would: before each event it polls at every deadline the coalescer
//! announced, and after the last event it polls until idle. The expected output is the exact
//! list of `(poll time, settled changes)`.
//!
//! Kinds: `create`, `mkdir`, `modify`, `remove`, `rmdir`, `from:N` / `to:N` (inotify rename
//! halves of a file, cookie N), `from_dir:N` / `to_dir:N` (the same for a directory), `from` /
//! `to` (cookieless halves, file type unknown), `rename` / `rename_dir` (path `a -> b`),
//! `any` / `any_file`, `rescan`, `overflow` (path ignored), `own` (the application calls
//! `expect_own_write` for the path).

use std::time::Duration;

use syncore::scan::{CoalescerConfig, EventCoalescer, SettledChange, WatchEvent, WatchEventKind};
use syncore::RelPath;

type Row<'a> = (u64, &'a str, &'a str);

fn ms(t: u64) -> Duration {
    Duration::from_millis(t)
}

fn p(s: &str) -> RelPath {
    RelPath::new(s).unwrap()
}

fn config() -> CoalescerConfig {
    CoalescerConfig {
        quiet_period: ms(1000),
        max_delay: ms(10_000),
        own_write_window: ms(3000),
        ..CoalescerConfig::default()
    }
}

fn event(t: u64, kind: &str, path: &str) -> WatchEvent {
    let at = ms(t);
    let cookie = |k: &str| k.split_once(':').map(|(_, c)| c.parse::<u64>().unwrap());
    match kind.split(':').next().unwrap() {
        "create" => WatchEvent::new(at, WatchEventKind::Create, p(path)).with_is_dir(false),
        "mkdir" => WatchEvent::new(at, WatchEventKind::Create, p(path)).with_is_dir(true),
        "modify" => WatchEvent::new(at, WatchEventKind::Modify, p(path)).with_is_dir(false),
        "remove" => WatchEvent::new(at, WatchEventKind::Remove, p(path)).with_is_dir(false),
        "rmdir" => WatchEvent::new(at, WatchEventKind::Remove, p(path)).with_is_dir(true),
        // inotify halves carry a cookie and the directory flag; ReadDirectoryChangesW halves
        // carry neither.
        "from" | "from_dir" => {
            let kind_of = WatchEventKind::RenameFrom {
                cookie: cookie(kind),
            };
            with_flag(WatchEvent::new(at, kind_of, p(path)), kind)
        }
        "to" | "to_dir" => {
            let kind_of = WatchEventKind::RenameTo {
                cookie: cookie(kind),
            };
            with_flag(WatchEvent::new(at, kind_of, p(path)), kind)
        }
        "rename" | "rename_dir" => {
            let (from, to) = path.split_once(" -> ").unwrap();
            let e = WatchEvent::new(at, WatchEventKind::Rename { from: p(from) }, p(to));
            e.with_is_dir(kind == "rename_dir")
        }
        "any" => WatchEvent::new(at, WatchEventKind::Any, p(path)),
        "any_file" => WatchEvent::new(at, WatchEventKind::Any, p(path)).with_is_dir(false),
        "rescan" => WatchEvent::new(at, WatchEventKind::RescanNeeded, p(path)),
        "overflow" => WatchEvent::root(at, WatchEventKind::RescanNeeded),
        other => panic!("unknown kind {other}"),
    }
}

fn with_flag(event: WatchEvent, kind: &str) -> WatchEvent {
    match (kind.contains(':'), kind.contains("_dir")) {
        (false, _) => event,
        (true, is_dir) => event.with_is_dir(is_dir),
    }
}

fn show(change: &SettledChange) -> String {
    match change {
        SettledChange::FullRescan => "full".into(),
        SettledChange::Rescan(p) => format!("rescan {p}"),
        SettledChange::RescanTree(p) => format!("tree {p}"),
        SettledChange::Removed(p) => format!("removed {p}"),
    }
}

fn replay_with(config: CoalescerConfig, rows: &[Row<'_>]) -> Vec<(u64, Vec<String>)> {
    let mut c = EventCoalescer::new(config);
    let mut out = Vec::new();
    let mut poll = |c: &mut EventCoalescer, now: Duration| {
        let settled = c.poll(now);
        if !settled.is_empty() {
            out.push((
                now.as_millis() as u64,
                settled.iter().map(show).collect::<Vec<_>>(),
            ));
        }
    };
    for &(t, kind, path) in rows {
        while let Some(deadline) = c.next_deadline().filter(|d| *d <= ms(t)) {
            poll(&mut c, deadline);
        }
        if kind == "own" {
            c.expect_own_write(p(path), ms(t));
        } else {
            c.push(event(t, kind, path));
        }
    }
    while let Some(deadline) = c.next_deadline() {
        poll(&mut c, deadline);
    }
    assert!(c.is_idle());
    out
}

fn replay(rows: &[Row<'_>]) -> Vec<(u64, Vec<String>)> {
    replay_with(config(), rows)
}

fn expect(rows: &[(u64, &[&str])]) -> Vec<(u64, Vec<String>)> {
    rows.iter()
        .map(|(t, changes)| (*t, changes.iter().map(|s| s.to_string()).collect()))
        .collect()
}

#[test]
fn one_write_many_modify_events() {
    // `cp big.bin docs/` on Linux: a create, a modify per write(2), a close-write.
    let mut rows: Vec<Row<'_>> = vec![(0, "create", "docs/big.bin")];
    for t in (5..=800).step_by(5) {
        rows.push((t, "modify", "docs/big.bin"));
    }
    assert_eq!(replay(&rows), expect(&[(1800, &["rescan docs/big.bin"])]));
}

#[test]
fn vim_save_with_backup_rename() {
    // vim (backupcopy=auto) on Linux, inotify: swap file while editing, writability probe
    // `4913`, original renamed to `notes.txt~`, new file written, backup deleted.
    let rows = [
        (0, "create", ".notes.txt.swp"),
        (10, "modify", ".notes.txt.swp"),
        (4000, "modify", ".notes.txt.swp"),
        (5000, "create", "4913"),
        (5001, "remove", "4913"),
        (5002, "from:77", "notes.txt"),
        (5002, "to:77", "notes.txt~"),
        (5003, "create", "notes.txt"),
        (5004, "modify", "notes.txt"),
        (5005, "modify", "notes.txt"),
        (5006, "remove", "notes.txt~"),
        (5007, "modify", ".notes.txt.swp"),
        (9000, "remove", ".notes.txt.swp"),
    ];
    assert_eq!(replay(&rows), expect(&[(6005, &["rescan notes.txt"])]));
}

#[test]
fn gedit_save_via_output_stream_temp() {
    let rows = [
        (0, "create", "src/.goutputstream-4X2Q7Z"),
        (1, "modify", "src/.goutputstream-4X2Q7Z"),
        (2, "modify", "src/.goutputstream-4X2Q7Z"),
        (3, "from:9", "src/.goutputstream-4X2Q7Z"),
        (3, "to:9", "src/main.rs"),
    ];
    assert_eq!(replay(&rows), expect(&[(1003, &["rescan src/main.rs"])]));
}

#[test]
fn save_via_unlisted_temp_name_renamed_over_target() {
    // A temp name no pattern knows: created, written and renamed away within the window, so
    // it never existed as far as the index is concerned.
    let rows = [
        (0, "create", "report.txt.tmp123"),
        (1, "modify", "report.txt.tmp123"),
        (300, "modify", "report.txt.tmp123"),
        (301, "rename", "report.txt.tmp123 -> report.txt"),
    ];
    assert_eq!(replay(&rows), expect(&[(1301, &["rescan report.txt"])]));
}

#[test]
fn word_save_on_windows() {
    // Microsoft Word, ReadDirectoryChangesW: no directory flag, cookieless rename halves back
    // to back; owner file `~$`, temp `~WRD0000.tmp`, old version parked as `~WRL0001.tmp`.
    let rows = [
        (0, "create", "~$Plan.docx"),
        (8000, "create", "~WRD0000.tmp"),
        (8001, "modify", "~WRD0000.tmp"),
        (8050, "from", "Plan.docx"),
        (8050, "to", "~WRL0001.tmp"),
        (8051, "from", "~WRD0000.tmp"),
        (8051, "to", "Plan.docx"),
        (8052, "remove", "~WRL0001.tmp"),
        (9500, "remove", "~$Plan.docx"),
    ];
    assert_eq!(replay(&rows), expect(&[(9051, &["tree Plan.docx"])]));
}

#[test]
fn libreoffice_lock_file_is_invisible() {
    let rows = [
        (0, "create", "sheets/.~lock.budget.ods#"),
        (1, "modify", "sheets/.~lock.budget.ods#"),
        (60_000, "remove", "sheets/.~lock.budget.ods#"),
    ];
    assert_eq!(replay(&rows), expect(&[]));
}

#[test]
fn move_to_trash_inside_the_root() {
    // A Linux file manager trashing onto a volume whose trash is under the synced root.
    let rows = [
        (0, "mkdir", ".Trash-1000/files"),
        (1, "create", ".Trash-1000/info/photo.jpg.trashinfo"),
        (2, "from:5", "pics/photo.jpg"),
        (2, "to:5", ".Trash-1000/files/photo.jpg"),
    ];
    assert_eq!(
        replay(&rows),
        expect(&[(1002, &["removed pics/photo.jpg"])])
    );
}

#[test]
fn move_to_trash_outside_the_root() {
    // inotify: the IN_MOVED_TO lands in a directory nobody watches, so only the first half
    // arrives; it becomes a removal once the pairing window (the quiet period) is over.
    let rows = [
        (0, "modify", "a.txt"),
        (500, "from:31", "a.txt"),
        (700, "modify", "b.txt"),
    ];
    assert_eq!(
        replay(&rows),
        expect(&[(1500, &["removed a.txt"]), (1700, &["rescan b.txt"])])
    );
}

#[test]
fn trash_on_macos_and_windows() {
    // FSEvents reports a rename without direction: the scanner finds the path gone.
    assert_eq!(
        replay(&[(0, "any_file", "a.txt")]),
        expect(&[(1000, &["rescan a.txt"])])
    );
    // The Recycle Bin lives on the volume root, outside the synced root: a plain removal.
    assert_eq!(
        replay(&[(0, "remove", "a.txt")]),
        expect(&[(1000, &["removed a.txt"])])
    );
    // A Recycle Bin inside the root (the root is a whole volume).
    assert_eq!(
        replay(&[
            (0, "from", "a.txt"),
            (0, "to", "$RECYCLE.BIN/S-1-5-21/$RX1.txt"),
            (1, "create", "$RECYCLE.BIN/S-1-5-21/$IX1.txt"),
        ]),
        expect(&[(1000, &["removed a.txt"])])
    );
}

#[test]
fn restore_from_trash_is_an_arrival() {
    let rows = [
        (0, "from:3", ".Trash-1000/files/photo.jpg"),
        (0, "to:3", "pics/photo.jpg"),
        (1, "remove", ".Trash-1000/info/photo.jpg.trashinfo"),
    ];
    assert_eq!(replay(&rows), expect(&[(1000, &["rescan pics/photo.jpg"])]));
}

#[test]
fn directory_rename_moves_pending_events_with_it() {
    let rows = [
        (0, "modify", "photos/2024/a.jpg"),
        (100, "create", "photos/b.jpg"),
        (200, "modify", "photos-old.txt"),
        (300, "from_dir:12", "photos"),
        (300, "to_dir:12", "pictures"),
        (400, "modify", "pictures/2024/a.jpg"),
        (500, "create", "pictures/c.jpg"),
    ];
    assert_eq!(
        replay(&rows),
        expect(&[
            (1200, &["rescan photos-old.txt"]),
            (1300, &["removed photos"]),
            (1500, &["tree pictures"]),
        ])
    );
}

#[test]
fn directory_rename_with_both_halves_known() {
    let rows = [
        (0, "modify", "a/x"),
        (10, "rename_dir", "a -> b/a"),
        (20, "rename_dir", "b/a -> c"),
    ];
    // `b/a` arrived and left within the window; it still gets a (harmless) removal because a
    // rename target may have replaced something that existed.
    assert_eq!(
        replay(&rows),
        expect(&[(1010, &["removed a"]), (1020, &["removed b/a", "tree c"])])
    );
}

#[test]
fn new_directory_populated_quickly_is_one_tree_rescan() {
    // `mkdir d && cp -r ...`: inotify may miss entries created before the new directory's
    // watch exists, so the directory is walked rather than trusted per file.
    let rows = [
        (0, "mkdir", "d"),
        (1, "create", "d/1.txt"),
        (2, "mkdir", "d/sub"),
        (3, "create", "d/sub/2.txt"),
        (4, "modify", "d/sub/2.txt"),
    ];
    assert_eq!(replay(&rows), expect(&[(1004, &["tree d"])]));
}

#[test]
fn recursive_delete_is_one_removal() {
    let rows = [
        (0, "remove", "d/sub/2.txt"),
        (1, "rmdir", "d/sub"),
        (2, "remove", "d/1.txt"),
        (3, "rmdir", "d"),
    ];
    assert_eq!(replay(&rows), expect(&[(1003, &["removed d"])]));
}

#[test]
fn directory_created_and_deleted_within_the_window_is_nothing() {
    let rows = [
        (0, "mkdir", "build"),
        (1, "create", "build/out.o"),
        (2, "remove", "build/out.o"),
        (3, "rmdir", "build"),
    ];
    assert_eq!(replay(&rows), expect(&[]));
}

#[test]
fn overflow_means_full_rescan() {
    let rows = [
        (0, "modify", "a"),
        (10, "create", "b"),
        (20, "overflow", ""),
        (30, "modify", "c"),
    ];
    assert_eq!(replay(&rows), expect(&[(1030, &["full"])]));
}

#[test]
fn lost_events_under_a_subtree() {
    // FSEvents `MustScanSubDirs` for one directory.
    let rows = [(0, "modify", "x/y"), (5, "rescan", "x"), (6, "modify", "z")];
    assert_eq!(
        replay(&rows),
        expect(&[(1005, &["tree x"]), (1006, &["rescan z"])])
    );
}

#[test]
fn big_file_still_being_written_is_held_then_capped() {
    // A download writing for 25 s: reported every max_delay while it lasts, then once quiet.
    let mut rows: Vec<Row<'_>> = vec![(0, "create", "iso/big.iso")];
    for t in (250..=25_000).step_by(250) {
        rows.push((t, "modify", "iso/big.iso"));
    }
    assert_eq!(
        replay(&rows),
        expect(&[
            (10_000, &["rescan iso/big.iso"]),
            (20_000, &["rescan iso/big.iso"]),
            (26_000, &["rescan iso/big.iso"]),
        ])
    );
}

#[test]
fn own_apply_is_suppressed_but_user_edits_are_not() {
    // syncore applying a remote version: temp file beside the target, renamed over it.
    let rows = [
        (0, "own", "docs/a.txt"),
        (1, "create", "docs/.syncore-tmp-a.txt.4242.0"),
        (2, "modify", "docs/.syncore-tmp-a.txt.4242.0"),
        (3, "from:40", "docs/.syncore-tmp-a.txt.4242.0"),
        (3, "to:40", "docs/a.txt"),
        (4, "own", "docs/old.txt"),
        (5, "remove", "docs/old.txt"),
        // The user edits the file after the apply's window.
        (5000, "modify", "docs/a.txt"),
    ];
    assert_eq!(replay(&rows), expect(&[(6000, &["rescan docs/a.txt"])]));
}

#[test]
fn state_directory_is_invisible() {
    let rows = [
        (0, "modify", ".syncore/index.db-wal"),
        (1, "create", ".syncore/index.db-shm"),
        (2, "modify", "a.txt"),
    ];
    assert_eq!(replay(&rows), expect(&[(1002, &["rescan a.txt"])]));
}

#[test]
fn output_is_sorted_and_deterministic() {
    let rows = [
        (0, "create", "zeta"),
        (0, "remove", "alpha"),
        (0, "mkdir", "mid"),
        (0, "modify", "Beta"),
    ];
    let want = expect(&[(
        1000,
        &["rescan Beta", "removed alpha", "tree mid", "rescan zeta"],
    )]);
    assert_eq!(replay(&rows), want);
    assert_eq!(replay_with(config(), &rows), want);
}
