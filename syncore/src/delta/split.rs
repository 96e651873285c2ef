//! The delta search on two threads: one buffer cut into two segments searched at once, then
//! stitched into the match list a single search would give, or one very close to it.
//!
//! This file owns [`search_split`]. The helper thread starts a fresh search at the second
//! segment as if the file began there, while the caller's search covers the first segment.
//! The caller's search then goes on into the second segment until it reaches a position
//! where the helper decided about a window (any position between the helper's matches, or a
//! block boundary inside one) in the same state: both just matched and would continue the
//! same basis offset, or neither did. From there both searches make the same decisions, up
//! to which of several identical basis blocks they pick after a literal and their separate
//! false-alarm budgets, so the helper's matches complete the caller's. On ordinary data they
//! meet within a few blocks; if they never meet (highly repetitive data) the caller's search
//! covers everything and the helper's work is dropped. A stitched list is a valid delta
//! whatever the data: no kept match of one search overlaps a kept match of the other. This
//! file never does I/O and never encodes commands.

use super::rollsum::RollingSum;
use super::scan::{Match, Matcher};

/// Searches `data` from `main`'s position on two threads: `main` up to `mid`, `helper` from
/// a fresh start at `mid` as far as `data` (and `eof`) allow, stitched as the module
/// describes. On return `out` holds the matches of the stitched search and `main` its state
/// (the two matchers may have been swapped). `theirs` is scratch space for the helper.
pub(crate) fn search_split<'s, S: RollingSum + Send>(
    main: &mut Matcher<'s, S>,
    helper: &mut Matcher<'s, S>,
    data: &[u8],
    mid: usize,
    eof: bool,
    out: &mut Vec<Match>,
    theirs: &mut Vec<Match>,
) {
    helper.restart_at(mid);
    theirs.clear();
    std::thread::scope(|scope| {
        scope.spawn(|| helper.scan(data, data.len(), eof, theirs));
        main.scan(data, mid, eof, out);
    });
    let b = main.block_len();
    loop {
        let p = main.pos();
        if p < mid || p > helper.pos() {
            // Out of data before the meeting point, or past all the helper did.
            return;
        }
        let next = match helper_at(theirs, p, b) {
            Helper::Decided(cont) if cont == main.continuation() => {
                let from = theirs.partition_point(|m| m.at < p);
                out.extend_from_slice(&theirs[from..]);
                std::mem::swap(main, helper);
                return;
            }
            Helper::Decided(_) => p + 1,
            Helper::Inside { next } => next,
        };
        main.scan(data, next, eof, out);
        if main.pos() == p {
            return;
        }
    }
}

/// What the helper's search did at a position.
#[derive(Debug, PartialEq, Eq)]
enum Helper {
    /// It decided about the window there, continuing this basis offset if it had just
    /// matched.
    Decided(Option<u64>),
    /// It was inside a match; `next` is the next block boundary.
    Inside { next: usize },
}

/// What the search that found `theirs` did at position `p` (at or after its start).
fn helper_at(theirs: &[Match], p: usize, block_len: usize) -> Helper {
    let i = theirs.partition_point(|m| m.at < p);
    let Some(m) = i.checked_sub(1).map(|i| theirs[i]) else {
        return Helper::Decided(None);
    };
    let into = p - m.at;
    if into > m.len {
        Helper::Decided(None)
    } else if into.is_multiple_of(block_len) || into == m.len {
        Helper::Decided(Some(m.basis + into as u64))
    } else {
        Helper::Inside {
            next: (m.at + into.div_ceil(block_len) * block_len).min(m.at + m.len),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_are_gaps_and_block_boundaries() {
        let m = |at, basis, len| Match { at, basis, len };
        let theirs = [m(10, 100, 8), m(18, 500, 4), m(30, 900, 3)];
        let at = |p| helper_at(&theirs, p, 4);
        assert_eq!(at(5), Helper::Decided(None));
        assert_eq!(at(10), Helper::Decided(None));
        assert_eq!(at(11), Helper::Inside { next: 14 });
        assert_eq!(at(14), Helper::Decided(Some(104)));
        assert_eq!(at(17), Helper::Inside { next: 18 });
        assert_eq!(at(18), Helper::Decided(Some(108)));
        assert_eq!(at(19), Helper::Inside { next: 22 });
        assert_eq!(at(22), Helper::Decided(Some(504)));
        assert_eq!(at(25), Helper::Decided(None));
        assert_eq!(at(31), Helper::Inside { next: 33 });
        assert_eq!(at(33), Helper::Decided(Some(903)));
        assert_eq!(at(40), Helper::Decided(None));
    }
}
