//! The knobs of reconciliation: conflict policy, direction, guards, conflict-copy names.
//!
//! This module owns the caller-facing choices ([`ConflictPolicy`], [`Direction`],
//! [`SyncOptions`]) and the pure helpers that implement them: which side of a conflict wins
//! ([`ConflictPolicy::pick`]) and what a kept loser is called ([`conflict_copy_name`], with a
//! self-contained UTC calendar conversion). It never looks at a replica's state and never
//! touches the disk.

use std::cmp::Ordering;

use crate::entry::Entry;
use crate::error::Result;
use crate::path::RelPath;
use crate::sync::{ReplicaId, VersionVector};

/// How a conflict between concurrent versions of one path is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ConflictPolicy {
    /// The version with the newer mtime wins; ties are broken deterministically (by the
    /// authoring replica id, then the content id), so every replica picks the same winner. The
    /// loser is discarded.
    NewestWins,
    /// As [`NewestWins`](ConflictPolicy::NewestWins), but the loser is kept next to the winner
    /// as `name.sync-conflict-YYYYMMDD-HHMMSS-<replica>.ext` (the default: never lose an edit).
    #[default]
    KeepBoth,
    /// The local version always wins. The peer must use [`PreferRemote`](Self::PreferRemote)
    /// (or a direction that never takes changes) for the two replicas to converge.
    PreferLocal,
    /// The remote version always wins. The peer must use [`PreferLocal`](Self::PreferLocal).
    PreferRemote,
}

/// Which side of a conflict wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The receiving replica's version.
    Local,
    /// The sending replica's version.
    Remote,
}

impl ConflictPolicy {
    /// The winner between `local` and `remote` under this policy.
    ///
    /// The symmetric policies look only at the two entries (mtime, then deletion state, then
    /// content id, then the encoded version), never at who relayed them, so every replica
    /// that meets the same two versions picks the same winner.
    pub fn pick(self, local: &Entry, remote: &Entry) -> Side {
        match self {
            ConflictPolicy::PreferLocal => Side::Local,
            ConflictPolicy::PreferRemote => Side::Remote,
            ConflictPolicy::NewestWins | ConflictPolicy::KeepBoth => {
                let key = |e: &Entry| (e.mtime_ns, !e.deleted, e.content_id, e.version.encode());
                match key(local).cmp(&key(remote)) {
                    Ordering::Less => Side::Remote,
                    _ => Side::Local,
                }
            }
        }
    }

    /// True if the losing version is kept as a conflict copy.
    pub fn keeps_loser(self) -> bool {
        self == ConflictPolicy::KeepBoth
    }
}

/// Which way changes may flow when this replica reconciles a peer's change set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Both sides' changes propagate; conflicts follow the [`ConflictPolicy`].
    #[default]
    TwoWay,
    /// This replica is authoritative: remote changes are never taken (only version
    /// bookkeeping for identical content happens). The peer runs
    /// [`MirrorFromRemote`](Direction::MirrorFromRemote).
    MirrorToRemote,
    /// The peer is authoritative: local changes are overwritten by the peer's versions, and,
    /// when the change set is complete (`since == 0`), local paths it does not mention are
    /// deleted.
    MirrorFromRemote,
}

/// Everything that shapes a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncOptions {
    /// How concurrent edits are resolved.
    pub policy: ConflictPolicy,
    /// Which way changes flow.
    pub direction: Direction,
    /// When an edit is concurrent with a delete, keep the edit (default `true`). When `false`,
    /// the conflict policy decides, comparing the edit's mtime with the deletion's.
    pub edit_beats_delete: bool,
    /// Largest share (0.0..=1.0) of the live local tree a plan may delete without
    /// [`confirm_mass_delete`](SyncOptions::confirm_mass_delete). Default 0.5.
    pub max_delete_ratio: f64,
    /// The delete guard only applies when the local tree has more live entries than this
    /// (default 10): deleting 3 of 4 files is normal, deleting 9,000 of 10,000 is suspicious.
    pub delete_guard_min_entries: u64,
    /// The caller confirmed that a mass deletion is intended.
    pub confirm_mass_delete: bool,
    /// Treat paths that differ only in case as the same file (the default on macOS and
    /// Windows): colliding remote entries are reported and not applied. When `false`,
    /// collisions are only reported.
    pub case_insensitive: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            policy: ConflictPolicy::default(),
            direction: Direction::default(),
            edit_beats_delete: true,
            max_delete_ratio: 0.5,
            delete_guard_min_entries: 10,
            confirm_mass_delete: false,
            case_insensitive: cfg!(any(windows, target_os = "macos")),
        }
    }
}

impl SyncOptions {
    /// Options with the given policy and direction and defaults otherwise.
    pub fn new(policy: ConflictPolicy, direction: Direction) -> Self {
        SyncOptions {
            policy,
            direction,
            ..SyncOptions::default()
        }
    }
}

/// The name a conflict loser gets: `stem.sync-conflict-YYYYMMDD-HHMMSS-<replica>.ext`, in
/// the same directory, with the date of `mtime_ns` in UTC and the first 8 hex characters of
/// the replica that authored the losing version. Names without an extension (or dotfiles
/// such as `.bashrc`) get the suffix at the end.
pub fn conflict_copy_name(path: &RelPath, mtime_ns: i64, replica: ReplicaId) -> Result<RelPath> {
    let name = path.file_name();
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    let stamp = format_utc(mtime_ns);
    let short = replica.short();
    let suffix = format!(".sync-conflict-{stamp}-{short}{ext}");
    // Keep the component within filesystem limits by shortening the stem if needed.
    let budget = crate::path::MAX_COMPONENT_LEN.saturating_sub(suffix.len());
    let mut cut = stem.len().min(budget);
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    let file = format!("{}{suffix}", &stem[..cut]);
    match path.parent() {
        Some(parent) => parent.join(&file),
        None => RelPath::new(&file),
    }
}

/// `YYYYMMDD-HHMMSS` for a time in nanoseconds since the Unix epoch, in UTC.
pub fn format_utc(mtime_ns: i64) -> String {
    let secs = mtime_ns.div_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// The replica a conflict copy of `loser` is named after: the smallest replica id whose
/// counter in `loser` exceeds the one in `winner` (for concurrent versions there is one), so
/// every replica names the copy the same way. Falls back to the smallest id in `loser`.
pub fn conflict_author(loser: &VersionVector, winner: &VersionVector) -> ReplicaId {
    loser
        .iter()
        .find(|(id, &count)| count > winner.get(id))
        .or_else(|| loser.iter().next())
        .map(|(id, _)| *id)
        .unwrap_or_default()
}

/// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01.
///
/// Works in 400-year eras (146,097 days each), with years starting on March 1st so the leap
/// day falls at the end of the year.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097); // 0..=146096
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(format_utc(0), "19700101-000000");
        assert_eq!(format_utc(-1), "19691231-235959");
        // 2000-02-29 12:34:56 UTC = 951827696
        assert_eq!(format_utc(951_827_696_000_000_000), "20000229-123456");
        // 2024-12-31 23:59:59 UTC = 1735689599
        assert_eq!(format_utc(1_735_689_599_999_999_999), "20241231-235959");
        // 2100-03-01 00:00:00 UTC = 4107542400 (2100 is not a leap year)
        assert_eq!(format_utc(4_107_542_400_000_000_000), "21000301-000000");
        let _ = format_utc(i64::MIN);
        let _ = format_utc(i64::MAX);
    }

    #[test]
    fn days_roundtrip_against_a_naive_calendar() {
        let (mut y, mut m, mut d) = (1970i64, 1u32, 1u32);
        for days in 0..(366 * 500) {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let len = [
                31,
                if leap { 29 } else { 28 },
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ][(m - 1) as usize];
            d += 1;
            if d > len {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }

    #[test]
    fn conflict_names() {
        let r = ReplicaId::from_bytes([0xab; 16]);
        let t = 951_827_696_000_000_000;
        let name = |p: &str| conflict_copy_name(&RelPath::new(p).unwrap(), t, r).unwrap();
        assert_eq!(
            name("docs/report.final.pdf").as_str(),
            "docs/report.final.sync-conflict-20000229-123456-abababab.pdf"
        );
        assert_eq!(
            name("Makefile").as_str(),
            "Makefile.sync-conflict-20000229-123456-abababab"
        );
        assert_eq!(
            name(".bashrc").as_str(),
            ".bashrc.sync-conflict-20000229-123456-abababab"
        );
        let long = name(&"é".repeat(127));
        assert!(long.as_str().len() <= 255);
    }
}
