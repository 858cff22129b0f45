//! The pending writes of one apply, by key, in the order their keys were first written.

use foldhash::{HashMap, HashMapExt};
use std::collections::hash_map::Entry;
use std::hash::Hash;

/// A key's pending state.
pub(super) enum Slot<V> {
    /// Written with this value.
    Put(V),
    /// Deleted.
    Deleted,
}

/// The pending writes of one kind of object: the last write to each key wins.
pub(super) struct Staged<K, V> {
    slots: HashMap<K, (usize, Slot<V>)>,
}

impl<K: Hash + Eq, V> Staged<K, V> {
    /// Room for `keys` keys before the map grows (a change set's writes of this kind).
    pub(super) fn with_capacity(keys: usize) -> Self {
        Self {
            slots: HashMap::with_capacity(keys),
        }
    }

    /// The key's pending state, if it was written.
    pub(super) fn get(&self, key: &K) -> Option<&Slot<V>> {
        self.slots.get(key).map(|(_, slot)| slot)
    }

    /// Whether the key exists once the pending writes are done; `stored` says whether it
    /// exists in the store now.
    pub(super) fn exists(&self, key: &K, stored: impl FnOnce() -> bool) -> bool {
        match self.get(key) {
            Some(Slot::Put(_)) => true,
            Some(Slot::Deleted) => false,
            None => stored(),
        }
    }

    /// Records a write of `key`.
    pub(super) fn set(&mut self, key: K, slot: Slot<V>) {
        let next = self.slots.len();
        match self.slots.entry(key) {
            Entry::Occupied(mut entry) => entry.get_mut().1 = slot,
            Entry::Vacant(entry) => {
                entry.insert((next, slot));
            }
        }
    }

    /// Marks every pending put whose key matches `doomed` as deleted.
    pub(super) fn delete_where(&mut self, doomed: impl Fn(&K) -> bool) {
        for (key, (_, slot)) in &mut self.slots {
            if matches!(slot, Slot::Put(_)) && doomed(key) {
                *slot = Slot::Deleted;
            }
        }
    }

    /// The final puts and deletes, each in the order their keys were first written.
    pub(super) fn into_writes(self) -> (Vec<V>, Vec<K>) {
        let mut entries: Vec<(usize, K, Slot<V>)> = self
            .slots
            .into_iter()
            .map(|(key, (seq, slot))| (seq, key, slot))
            .collect();
        entries.sort_unstable_by_key(|(seq, _, _)| *seq);
        let (mut puts, mut deletes) = (Vec::new(), Vec::new());
        for (_, key, slot) in entries {
            match slot {
                Slot::Put(value) => puts.push(value),
                Slot::Deleted => deletes.push(key),
            }
        }
        (puts, deletes)
    }
}
