//! An order-statistic set: a treap whose nodes carry their subtree size, so that the rank of a
//! key and the key at a rank both cost O(log n) expected.
//!
//! Why a treap rather than a Fenwick tree over rating buckets: at the start of a season every
//! player sits at exactly 1500, so one bucket would hold everyone and the tie-break by user id
//! inside it would be a linear scan. The treap orders by the full key, ties included.
//!
//! Nodes live in one `Vec` (indices instead of boxes): fewer allocations, and freed slots are
//! reused. Priorities come from a fixed-seed xorshift, so the shape is deterministic.

use std::cmp::Ordering;

const NIL: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct Node<K> {
    key: K,
    prio: u32,
    size: u32,
    left: u32,
    right: u32,
}

/// An ordered set of distinct keys with O(log n) `rank`, `select`, `insert` and `remove`.
#[derive(Debug, Clone)]
pub struct RankIndex<K> {
    nodes: Vec<Node<K>>,
    free: Vec<u32>,
    root: u32,
    rng: u64,
}

impl<K: Ord> Default for RankIndex<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Ord> RankIndex<K> {
    /// An empty set.
    pub fn new() -> Self {
        Self {
            nodes: Vec::new(),
            free: Vec::new(),
            root: NIL,
            rng: 0x9E37_79B9_7F4A_7C15,
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.size(self.root) as usize
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.root == NIL
    }

    fn size(&self, t: u32) -> u32 {
        if t == NIL {
            0
        } else {
            self.nodes[t as usize].size
        }
    }

    fn fix(&mut self, t: u32) {
        let n = &self.nodes[t as usize];
        let s = 1 + self.size(n.left) + self.size(n.right);
        self.nodes[t as usize].size = s;
    }

    fn next_prio(&mut self) -> u32 {
        // xorshift64: cheap, and good enough to keep the expected depth logarithmic.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        (x >> 32) as u32
    }

    /// Joins two treaps where every key of `a` is below every key of `b`.
    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.nodes[a as usize].prio > self.nodes[b as usize].prio {
            let r = self.merge(self.nodes[a as usize].right, b);
            self.nodes[a as usize].right = r;
            self.fix(a);
            a
        } else {
            let l = self.merge(a, self.nodes[b as usize].left);
            self.nodes[b as usize].left = l;
            self.fix(b);
            b
        }
    }

    /// Inserts `key`; returns false (and changes nothing) when it is already present.
    pub fn insert(&mut self, key: K) -> bool {
        if self.contains(&key) {
            return false;
        }
        let prio = self.next_prio();
        let node = Node {
            key,
            prio,
            size: 1,
            left: NIL,
            right: NIL,
        };
        let id = match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        // Split by the new node's own key, read through its index: a `&K` into `nodes` could
        // not be held across the `&mut self` calls of the split.
        let (l, r) = self.split_at_node(self.root, id);
        let m = self.merge(l, id);
        self.root = self.merge(m, r);
        true
    }

    /// Splits `t` into (keys < key of node `id`, keys >= it); `id` itself is not in `t`.
    fn split_at_node(&mut self, t: u32, id: u32) -> (u32, u32) {
        if t == NIL {
            return (NIL, NIL);
        }
        if self.nodes[t as usize].key < self.nodes[id as usize].key {
            let (l, r) = self.split_at_node(self.nodes[t as usize].right, id);
            self.nodes[t as usize].right = l;
            self.fix(t);
            (t, r)
        } else {
            let (l, r) = self.split_at_node(self.nodes[t as usize].left, id);
            self.nodes[t as usize].left = r;
            self.fix(t);
            (l, t)
        }
    }

    /// Removes `key`; returns whether it was present.
    pub fn remove(&mut self, key: &K) -> bool {
        let (root, removed) = self.erase(self.root, key);
        self.root = root;
        removed
    }

    fn erase(&mut self, t: u32, key: &K) -> (u32, bool) {
        if t == NIL {
            return (NIL, false);
        }
        match key.cmp(&self.nodes[t as usize].key) {
            Ordering::Less => {
                let (l, hit) = self.erase(self.nodes[t as usize].left, key);
                self.nodes[t as usize].left = l;
                self.fix(t);
                (t, hit)
            }
            Ordering::Greater => {
                let (r, hit) = self.erase(self.nodes[t as usize].right, key);
                self.nodes[t as usize].right = r;
                self.fix(t);
                (t, hit)
            }
            Ordering::Equal => {
                let n = &self.nodes[t as usize];
                let (l, r) = (n.left, n.right);
                self.free.push(t);
                (self.merge(l, r), true)
            }
        }
    }

    /// True when `key` is present.
    pub fn contains(&self, key: &K) -> bool {
        let mut t = self.root;
        while t != NIL {
            let n = &self.nodes[t as usize];
            match key.cmp(&n.key) {
                Ordering::Less => t = n.left,
                Ordering::Greater => t = n.right,
                Ordering::Equal => return true,
            }
        }
        false
    }

    /// Number of keys strictly below `key` (the 0-based position `key` has or would have).
    pub fn rank(&self, key: &K) -> usize {
        let mut t = self.root;
        let mut below = 0u32;
        while t != NIL {
            let n = &self.nodes[t as usize];
            if n.key < *key {
                below += 1 + self.size(n.left);
                t = n.right;
            } else {
                t = n.left;
            }
        }
        below as usize
    }

    /// The key at 0-based position `k`, if `k < len`.
    pub fn select(&self, mut k: usize) -> Option<&K> {
        let mut t = self.root;
        while t != NIL {
            let n = &self.nodes[t as usize];
            let left = self.size(n.left) as usize;
            match k.cmp(&left) {
                Ordering::Less => t = n.left,
                Ordering::Equal => return Some(&n.key),
                Ordering::Greater => {
                    k -= left + 1;
                    t = n.right;
                }
            }
        }
        None
    }

    /// Nodes visited to find `key` (tests: the cost figure behind O(log n)).
    #[cfg(test)]
    pub(crate) fn depth(&self, key: &K) -> usize {
        let (mut t, mut d) = (self.root, 0);
        while t != NIL {
            d += 1;
            let n = &self.nodes[t as usize];
            match key.cmp(&n.key) {
                Ordering::Less => t = n.left,
                Ordering::Greater => t = n.right,
                Ordering::Equal => break,
            }
        }
        d
    }

    /// Up to `n` keys from position `from`, in order.
    pub(crate) fn range(&self, from: usize, n: usize) -> Vec<&K> {
        (from..from.saturating_add(n))
            .map_while(|i| self.select(i))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16),
        Remove(u16),
        Rank(u16),
        Select(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        // A small key space forces duplicates and removals of present keys.
        prop_oneof![
            3 => (0u16..300).prop_map(Op::Insert),
            2 => (0u16..300).prop_map(Op::Remove),
            1 => (0u16..300).prop_map(Op::Rank),
            1 => (0u16..320).prop_map(Op::Select),
        ]
    }

    proptest! {
        #[test]
        fn agrees_with_a_sorted_vec(ops in proptest::collection::vec(op(), 1..600)) {
            let mut t = RankIndex::new();
            let mut v: Vec<u16> = Vec::new();
            for o in ops {
                match o {
                    Op::Insert(k) => {
                        let fresh = v.binary_search(&k).map_err(|i| v.insert(i, k)).is_err();
                        prop_assert_eq!(t.insert(k), fresh);
                    }
                    Op::Remove(k) => {
                        let hit = v.binary_search(&k).map(|i| v.remove(i)).is_ok();
                        prop_assert_eq!(t.remove(&k), hit);
                    }
                    Op::Rank(k) => {
                        let want = v.partition_point(|x| *x < k);
                        prop_assert_eq!(t.rank(&k), want);
                    }
                    Op::Select(i) => prop_assert_eq!(t.select(i as usize), v.get(i as usize)),
                }
                prop_assert_eq!(t.len(), v.len());
            }
            let all: Vec<u16> = t.range(0, usize::MAX).into_iter().copied().collect();
            prop_assert_eq!(all, v);
        }
    }

    #[test]
    fn empty_and_range() {
        let mut t = RankIndex::new();
        assert!(t.is_empty());
        assert_eq!(t.select(0), None);
        for k in [5, 1, 3] {
            t.insert(k);
        }
        assert_eq!(t.range(1, 10), vec![&3, &5]);
        assert_eq!(t.rank(&4), 2);
        assert!(!t.insert(3));
    }
}
