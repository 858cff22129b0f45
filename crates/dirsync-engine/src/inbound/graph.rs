//! Graphs over the primary's live users: the order of email changes (a swap is stuck) and the
//! cycles of the manager graph.

use foldhash::{HashMap, HashSet, HashSetExt};

use dirsync_core::{Email, Manager, UserId};

use super::users::{Desired, Live};

/// Orders profile updates so that a user's old email is released before another user takes
/// it. Returns the order and the updates that cannot be made: stuck in a cycle (an email
/// swap), or taking an email that a user who keeps it holds (such as a user who left).
pub(super) fn order_email_changes(
    updates: &[usize],
    live: &[Live<'_>],
    desired: &[Desired<'_>],
    by_email: &HashMap<&Email, UserId>,
) -> (Vec<usize>, Vec<usize>) {
    // `update i` waits for `update j` when i's new email is currently j's.
    let index_of: HashMap<UserId, usize> = updates.iter().map(|&i| (live[i].user, i)).collect();
    let waits_for = |i: usize| -> Option<usize> {
        let new = &desired[i].remote.primary_email;
        let holder = by_email.get(new)?;
        if *holder == live[i].user {
            return None;
        }
        let Some(&j) = index_of.get(holder) else {
            // Held by a user whose email does not change (e.g. one who left and keeps it):
            // this update can never go first, so it stays pending (stuck).
            return Some(usize::MAX);
        };
        (desired[j].remote.primary_email != *new).then_some(j)
    };
    let mut done: HashSet<usize> = HashSet::new();
    let mut order = Vec::with_capacity(updates.len());
    let mut pending: Vec<usize> = updates.to_vec();
    loop {
        let before = pending.len();
        pending.retain(|&i| match waits_for(i) {
            Some(j) if !done.contains(&j) => true,
            _ => {
                done.insert(i);
                order.push(i);
                false
            }
        });
        if pending.is_empty() || pending.len() == before {
            break;
        }
    }
    (order, pending)
}

/// The cycles in the manager graph of the live users, each reported once, as emails.
pub(super) fn manager_cycles(live: &[Live<'_>], desired: &[Desired<'_>]) -> Vec<Vec<Email>> {
    let index: HashMap<UserId, usize> = live.iter().enumerate().map(|(i, l)| (l.user, i)).collect();
    let next = |i: usize| match &desired[i].manager {
        Some(Manager::Resolved(m)) => index.get(m).copied(),
        _ => None,
    };
    // 0 = unvisited, 1 = on the current path, 2 = finished.
    let mut state = vec![0u8; live.len()];
    let mut cycles = Vec::new();
    for start in 0..live.len() {
        let mut path = Vec::new();
        let mut at = Some(start);
        while let Some(i) = at {
            match state[i] {
                0 => {
                    state[i] = 1;
                    path.push(i);
                    at = next(i);
                }
                1 => {
                    if let Some(pos) = path.iter().position(|&p| p == i) {
                        cycles.push(
                            path[pos..]
                                .iter()
                                .map(|&p| desired[p].remote.primary_email.clone())
                                .collect(),
                        );
                    }
                    break;
                }
                _ => break,
            }
        }
        for p in path {
            state[p] = 2;
        }
    }
    cycles
}
