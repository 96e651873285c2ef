//! Reconciliation at plan level: policies, directions, the four modes of the two-host rsync
//! seed, tombstones, edit versus delete, same-content merges, the delete guard, case
//! collisions and hostile change sets. Replicas are `MemoryView`s; no disk is touched.

use std::collections::BTreeMap;

use syncore::sync::{
    reconcile, Action, ChangeSet, ConflictPolicy, Direction, MemoryView, ReplicaId, Side,
    SyncOptions,
};
use syncore::{Chunker, ChunkerConfig, ErrorKind, FileManifest, HashAlgo, RelPath};

const T0: i64 = 1_700_000_000_000_000_000;

fn chunker() -> Chunker {
    Chunker::new(ChunkerConfig::fixed(4), HashAlgo::Blake3).unwrap()
}

fn p(s: &str) -> RelPath {
    RelPath::new(s).unwrap()
}

fn replica(n: u8) -> MemoryView {
    MemoryView::new(ReplicaId::from_bytes([n; 16]))
}

fn write(view: &mut MemoryView, path: &str, data: &str, mtime: i64) {
    let manifest = FileManifest::of_slice(&chunker(), data.as_bytes());
    view.local_write(&p(path), manifest, mtime, false);
}

/// The live tree as path → content id hex (directories as "dir").
fn tree(view: &MemoryView) -> BTreeMap<String, String> {
    view.live()
        .map(|e| {
            let what = e.content_id.map_or("dir".to_owned(), |c| c.to_hex());
            (e.path.to_string(), what)
        })
        .collect()
}

fn content(data: &str) -> String {
    FileManifest::of_slice(&chunker(), data.as_bytes())
        .content_id()
        .to_hex()
}

/// One sync step: `to` plans `from`'s changes since `cursor` and records the plan.
fn pull(to: &mut MemoryView, from: &MemoryView, cursor: u64, options: &SyncOptions) -> u64 {
    let changes = from.changes_since(cursor);
    let bytes = changes.encode();
    let decoded = ChangeSet::decode(&bytes).unwrap();
    let plan = reconcile(&*to, &decoded, options).unwrap();
    to.apply_plan(&plan);
    plan.cursor
}

/// The seed's example: server has A, B, X; client has A, C, X* (a newer edit of X).
fn rsync_example() -> (MemoryView, MemoryView) {
    let mut server = replica(1);
    let mut client = replica(2);
    write(&mut server, "A", "same A", T0);
    write(&mut server, "B", "server only", T0);
    write(&mut server, "X", "old X", T0);
    write(&mut client, "A", "same A", T0 + 5);
    write(&mut client, "C", "client only", T0 + 5);
    write(&mut client, "X", "new X*", T0 + 10);
    (server, client)
}

/// Runs one exchange each way (server pulls first) and a second round to settle.
fn exchange(
    server: &mut MemoryView,
    client: &mut MemoryView,
    server_opts: &SyncOptions,
    client_opts: &SyncOptions,
) {
    let (mut server_cursor, mut client_cursor) = (0, 0);
    for _ in 0..2 {
        server_cursor = pull(server, client, server_cursor, server_opts);
        client_cursor = pull(client, server, client_cursor, client_opts);
    }
    // Converged: nothing left to plan either way.
    let plan = reconcile(&*server, &client.changes_since(0), server_opts).unwrap();
    assert!(plan.is_empty(), "server still has work: {plan:#?}");
    let plan = reconcile(&*client, &server.changes_since(0), client_opts).unwrap();
    assert!(plan.is_empty(), "client still has work: {plan:#?}");
}

fn names(view: &MemoryView) -> Vec<(String, String)> {
    tree(view).into_iter().collect()
}

fn expect(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(path, data)| (path.to_string(), content(data)))
        .collect()
}

#[test]
fn rsync_mode_0_union_client_wins() {
    let abcx_star = expect(&[
        ("A", "same A"),
        ("B", "server only"),
        ("C", "client only"),
        ("X", "new X*"),
    ]);
    // Expressed with complementary preferences...
    let (mut server, mut client) = rsync_example();
    exchange(
        &mut server,
        &mut client,
        &SyncOptions::new(ConflictPolicy::PreferRemote, Direction::TwoWay),
        &SyncOptions::new(ConflictPolicy::PreferLocal, Direction::TwoWay),
    );
    assert_eq!(names(&server), abcx_star);
    assert_eq!(names(&client), abcx_star);
    // ...and, since X* is the newer edit, by newest-wins on both sides.
    let (mut server, mut client) = rsync_example();
    let newest = SyncOptions::new(ConflictPolicy::NewestWins, Direction::TwoWay);
    exchange(&mut server, &mut client, &newest, &newest);
    assert_eq!(names(&server), abcx_star);
    assert_eq!(names(&client), abcx_star);
}

#[test]
fn rsync_mode_1_union_server_wins() {
    let (mut server, mut client) = rsync_example();
    exchange(
        &mut server,
        &mut client,
        &SyncOptions::new(ConflictPolicy::PreferLocal, Direction::TwoWay),
        &SyncOptions::new(ConflictPolicy::PreferRemote, Direction::TwoWay),
    );
    let abcx = expect(&[
        ("A", "same A"),
        ("B", "server only"),
        ("C", "client only"),
        ("X", "old X"),
    ]);
    assert_eq!(names(&server), abcx);
    assert_eq!(names(&client), abcx);
}

#[test]
fn rsync_mode_2_client_overwrites_server() {
    let (mut server, mut client) = rsync_example();
    let policy = ConflictPolicy::NewestWins;
    exchange(
        &mut server,
        &mut client,
        &SyncOptions::new(policy, Direction::MirrorFromRemote),
        &SyncOptions::new(policy, Direction::MirrorToRemote),
    );
    let acx_star = expect(&[("A", "same A"), ("C", "client only"), ("X", "new X*")]);
    assert_eq!(names(&server), acx_star);
    assert_eq!(names(&client), acx_star);
}

#[test]
fn rsync_mode_3_server_overwrites_client() {
    let (mut server, mut client) = rsync_example();
    let policy = ConflictPolicy::NewestWins;
    exchange(
        &mut server,
        &mut client,
        &SyncOptions::new(policy, Direction::MirrorToRemote),
        &SyncOptions::new(policy, Direction::MirrorFromRemote),
    );
    let abx = expect(&[("A", "same A"), ("B", "server only"), ("X", "old X")]);
    assert_eq!(names(&server), abx);
    assert_eq!(names(&client), abx);
}

#[test]
fn dominating_remote_is_taken_and_dominated_is_ignored() {
    let mut a = replica(1);
    let mut b = replica(2);
    write(&mut a, "f", "v1", T0);
    let opts = SyncOptions::default();
    pull(&mut b, &a, 0, &opts);
    write(&mut a, "f", "v2", T0 + 1);
    let plan = reconcile(&b, &a.changes_since(0), &opts).unwrap();
    assert!(plan.conflicts.is_empty());
    match plan.actions.as_slice() {
        [Action::WriteFile {
            entry,
            expected: Some(old),
            missing_chunks,
            ..
        }] => {
            assert_eq!(entry.content_id.unwrap().to_hex(), content("v2"));
            assert_eq!(old.content_id.unwrap().to_hex(), content("v1"));
            assert!(!missing_chunks.is_empty());
        }
        other => panic!("unexpected plan {other:#?}"),
    }
    // The other way round, a's newer version dominates b's: nothing to do.
    let plan = reconcile(&a, &b.changes_since(0), &opts).unwrap();
    assert!(plan.is_empty(), "{plan:#?}");
}

#[test]
fn identical_concurrent_content_merges_silently() {
    let mut a = replica(1);
    let mut b = replica(2);
    write(&mut a, "f", "same", T0);
    write(&mut b, "f", "same", T0 + 99);
    let plan = reconcile(&a, &b.changes_since(0), &SyncOptions::default()).unwrap();
    assert!(plan.conflicts.is_empty());
    assert!(plan.is_index_only() && !plan.is_empty(), "{plan:#?}");
    assert!(plan.missing_chunks().is_empty());
}

#[test]
fn keep_both_names_the_loser_and_both_sides_agree() {
    let mut a = replica(1);
    let mut b = replica(2);
    write(&mut a, "docs/report.txt", "from a", T0 + 10);
    write(&mut b, "docs/report.txt", "from b", T0 + 20);
    let opts = SyncOptions::new(ConflictPolicy::KeepBoth, Direction::TwoWay);
    let plan = reconcile(&a, &b.changes_since(0), &opts).unwrap();
    assert_eq!(plan.conflicts.len(), 1);
    let conflict = &plan.conflicts[0];
    assert_eq!(conflict.winner, Side::Remote);
    let copy = conflict.copy.clone().unwrap();
    assert!(
        copy.as_str()
            .starts_with("docs/report.sync-conflict-20231114-221320-01010101"),
        "{copy}"
    );
    assert!(copy.as_str().ends_with(".txt"));
    // The local loser is renamed before the winner is written.
    assert!(
        matches!(plan.actions[0], Action::Rename { .. }),
        "{plan:#?}"
    );
    exchange(&mut a, &mut b, &opts, &opts);
    let both = tree(&a);
    assert_eq!(both, tree(&b));
    assert_eq!(both["docs/report.txt"], content("from b"));
    assert_eq!(both[copy.as_str()], content("from a"));
    assert_eq!(both.len(), 2);
}

#[test]
fn newest_wins_ties_break_deterministically() {
    let mut a = replica(1);
    let mut b = replica(2);
    write(&mut a, "f", "from a", T0);
    write(&mut b, "f", "from b", T0);
    let opts = SyncOptions::new(ConflictPolicy::NewestWins, Direction::TwoWay);
    let at_a = reconcile(&a, &b.changes_since(0), &opts).unwrap();
    let at_b = reconcile(&b, &a.changes_since(0), &opts).unwrap();
    // Each side sees the other as remote; both must pick the same content.
    let winner_a = match at_a.conflicts[0].winner {
        Side::Local => "from a",
        Side::Remote => "from b",
    };
    let winner_b = match at_b.conflicts[0].winner {
        Side::Local => "from b",
        Side::Remote => "from a",
    };
    assert_eq!(winner_a, winner_b);
    exchange(&mut a, &mut b, &opts, &opts);
    assert_eq!(tree(&a), tree(&b));
    assert_eq!(tree(&a).len(), 1);
}

#[test]
fn edit_beats_concurrent_delete_on_both_sides() {
    let mut a = replica(1);
    let mut b = replica(2);
    write(&mut a, "f", "v1", T0);
    let opts = SyncOptions::new(ConflictPolicy::NewestWins, Direction::TwoWay);
    pull(&mut b, &a, 0, &opts);
    // b deletes later than a edits: newest-wins alone would pick the delete.
    write(&mut a, "f", "v2 edit", T0 + 1);
    b.local_delete(&p("f"), T0 + 50).unwrap();
    exchange(&mut a, &mut b, &opts, &opts);
    assert_eq!(tree(&a)["f"], content("v2 edit"));
    assert_eq!(tree(&a), tree(&b));
    // With edit_beats_delete off, the newer delete wins.
    let mut c = replica(3);
    let mut d = replica(4);
    write(&mut c, "f", "v1", T0);
    pull(&mut d, &c, 0, &opts);
    write(&mut c, "f", "v2 edit", T0 + 1);
    d.local_delete(&p("f"), T0 + 50).unwrap();
    let strict = SyncOptions {
        edit_beats_delete: false,
        ..opts.clone()
    };
    exchange(&mut c, &mut d, &strict, &strict);
    assert!(tree(&c).is_empty() && tree(&d).is_empty());
}

#[test]
fn tombstones_propagate_and_are_recorded_for_unknown_paths() {
    let mut a = replica(1);
    let mut b = replica(2);
    let mut c = replica(3);
    write(&mut a, "f", "v1", T0);
    write(&mut a, "g", "keep", T0);
    let opts = SyncOptions::default();
    pull(&mut b, &a, 0, &opts);
    b.local_delete(&p("f"), T0 + 1).unwrap();
    let plan = reconcile(&a, &b.changes_since(0), &opts).unwrap();
    assert!(matches!(
        plan.actions.as_slice(),
        [Action::Delete { tombstone, expected }] if tombstone.deleted && expected.path == p("f")
    ));
    a.apply_plan(&plan);
    // c never saw f: the tombstone is recorded, not applied to the tree.
    let plan = reconcile(&c, &b.changes_since(0), &opts).unwrap();
    let f = plan.actions.iter().find(|x| x.path() == &p("f")).unwrap();
    assert!(f.is_index_only(), "{f:#?}");
    c.apply_plan(&plan);
    assert!(c.entries()[&p("f")].deleted);
    // An old create of f arriving later is dominated by the recorded tombstone.
    let stale = a.changes_since(0);
    let plan = reconcile(&c, &stale, &opts).unwrap();
    assert!(
        plan.actions.iter().all(|a| a.path() != &p("f")),
        "{plan:#?}"
    );
}

#[test]
fn moves_are_detected() {
    let mut a = replica(1);
    let mut b = replica(2);
    write(&mut a, "old/name.bin", "moved content", T0);
    let opts = SyncOptions::default();
    pull(&mut b, &a, 0, &opts);
    let cursor = a.seq();
    let manifest = FileManifest::of_slice(&chunker(), b"moved content");
    a.local_delete(&p("old/name.bin"), T0 + 1).unwrap();
    a.local_write(&p("new/name.bin"), manifest, T0, false);
    let plan = reconcile(&b, &a.changes_since(cursor), &opts).unwrap();
    match plan.actions.as_slice() {
        [Action::Rename {
            from,
            to,
            tombstone: Some(t),
        }] => {
            assert_eq!(from.path, p("old/name.bin"));
            assert_eq!(to.path, p("new/name.bin"));
            assert_eq!(t.path, p("old/name.bin"));
        }
        other => panic!("expected a rename, got {other:#?}"),
    }
    assert!(plan.missing_chunks().is_empty());
}

#[test]
fn missing_chunks_are_the_deduplicated_union() {
    let mut a = replica(1);
    let b = replica(2);
    write(&mut a, "x", "aaaabbbbcccc", T0);
    write(&mut a, "y", "bbbbccccdddd", T0);
    let plan = reconcile(&b, &a.changes_since(0), &SyncOptions::default()).unwrap();
    let missing = plan.missing_chunks();
    let chunk = |s: &str| HashAlgo::Blake3.digest(s.as_bytes());
    assert_eq!(
        missing,
        vec![chunk("aaaa"), chunk("bbbb"), chunk("cccc"), chunk("dddd")]
    );
    assert_eq!(plan.missing_bytes(), 16);
    let summary = plan.summary();
    assert_eq!(summary.files_written, 2);
    assert_eq!(summary.bytes_written, 24);
    assert_eq!(summary.missing_chunks, 4);
    assert_eq!(summary.missing_bytes, 16);
    // Chunks already held locally are not fetched again.
    let mut c = replica(3);
    c.add_chunks([chunk("bbbb"), chunk("cccc")]);
    let plan = reconcile(&c, &a.changes_since(0), &SyncOptions::default()).unwrap();
    assert_eq!(plan.missing_chunks(), vec![chunk("aaaa"), chunk("dddd")]);
}

#[test]
fn mass_delete_is_refused_unless_confirmed() {
    let mut a = replica(1);
    let mut b = replica(2);
    for i in 0..20 {
        write(&mut a, &format!("f{i}"), &format!("content {i}"), T0);
    }
    let opts = SyncOptions::default();
    pull(&mut b, &a, 0, &opts);
    let cursor = a.seq();
    for i in 0..15 {
        a.local_delete(&p(&format!("f{i}")), T0 + 1).unwrap();
    }
    let err = reconcile(&b, &a.changes_since(cursor), &opts).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.to_string().contains("15 of 20"), "{err}");
    let confirmed = SyncOptions {
        confirm_mass_delete: true,
        ..opts.clone()
    };
    assert_eq!(
        reconcile(&b, &a.changes_since(cursor), &confirmed)
            .unwrap()
            .deletions(),
        15
    );
    // A few deletions in a big tree are fine; and small trees are not guarded.
    let few = SyncOptions {
        max_delete_ratio: 0.8,
        ..opts
    };
    assert!(reconcile(&b, &a.changes_since(cursor), &few).is_ok());
}

#[test]
fn case_collisions_are_reported() {
    let mut a = replica(1);
    let mut b = replica(2);
    write(&mut a, "Readme.md", "one", T0);
    write(&mut a, "README.md", "two", T0);
    write(&mut b, "readme.MD", "local", T0);
    let insensitive = SyncOptions {
        case_insensitive: true,
        ..SyncOptions::default()
    };
    let plan = reconcile(&b, &a.changes_since(0), &insensitive).unwrap();
    assert!(plan.collisions.len() >= 2, "{:#?}", plan.collisions);
    assert!(plan.collisions.iter().all(|c| c.skipped));
    assert!(plan.collisions.iter().any(|c| c.other_is_local));
    assert!(plan.is_empty(), "colliding creations must be skipped");
    let sensitive = SyncOptions {
        case_insensitive: false,
        ..SyncOptions::default()
    };
    let plan = reconcile(&b, &a.changes_since(0), &sensitive).unwrap();
    assert!(!plan.collisions.is_empty());
    assert_eq!(plan.actions.len(), 2);
}

#[test]
fn hostile_change_sets_are_rejected() {
    let mut a = replica(1);
    write(&mut a, "f", "data", T0);
    let mut changes = a.changes_since(0);
    // A file entry whose manifest is missing is refused by the planner, not trusted.
    changes.manifests.clear();
    let err = reconcile(&replica(2), &changes, &SyncOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    // Garbage, truncation and bit flips never decode.
    let bytes = a.changes_since(0).encode();
    assert!(ChangeSet::decode(b"SYNC").is_err());
    assert!(ChangeSet::decode(&bytes[..bytes.len() - 1]).is_err());
    let mut flipped = bytes.clone();
    flipped[40] ^= 1;
    assert_eq!(
        ChangeSet::decode(&flipped).unwrap_err().kind(),
        ErrorKind::Corrupt
    );
}

#[test]
fn directories_are_created_before_files_and_removed_deepest_first() {
    let mut a = replica(1);
    let mut b = replica(2);
    a.local_mkdir(&p("d"), T0);
    a.local_mkdir(&p("d/e"), T0);
    write(&mut a, "d/e/f", "x", T0);
    let opts = SyncOptions::default();
    let plan = reconcile(&b, &a.changes_since(0), &opts).unwrap();
    let order: Vec<_> = plan.actions.iter().map(|x| x.path().to_string()).collect();
    assert_eq!(order, ["d", "d/e", "d/e/f"]);
    b.apply_plan(&plan);
    let cursor = a.seq();
    a.local_delete(&p("d/e/f"), T0 + 1).unwrap();
    a.local_delete(&p("d/e"), T0 + 1).unwrap();
    a.local_delete(&p("d"), T0 + 1).unwrap();
    let plan = reconcile(&b, &a.changes_since(cursor), &opts).unwrap();
    let order: Vec<_> = plan.actions.iter().map(|x| x.path().to_string()).collect();
    assert_eq!(order, ["d/e/f", "d/e", "d"]);
}
