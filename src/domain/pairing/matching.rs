//! Exact maximum-weight matching on general graphs (Edmonds' blossom algorithm,
//! O(n^3)), a port of the well-known primal-dual formulation by J. van Rantwijk.
//!
//! Integer weights only: dual variables are stored doubled so every step stays
//! integral and the result is exact. Swiss pairing turns its costs into weights
//! `BIG - cost`, so a maximum-weight matching is a minimum-cost perfect matching
//! whenever a perfect matching exists.

pub(super) const NONE: usize = usize::MAX;

/// Returns `mate[v]` for every vertex (`None` when unmatched) of a maximum-weight
/// matching of the graph with `n` vertices and the given weighted edges.
/// Edges with an endpoint `>= n` or a self loop are ignored.
pub fn max_weight_matching(n: usize, edges: &[(usize, usize, i64)]) -> Vec<Option<usize>> {
    let edges: Vec<(usize, usize, i64)> = edges
        .iter()
        .copied()
        .filter(|&(i, j, _)| i < n && j < n && i != j)
        .collect();
    if n == 0 || edges.is_empty() {
        return vec![None; n];
    }
    let mut m = Matcher::new(n, edges);
    m.solve();
    m.mate
        .iter()
        .map(|&p| if p == NONE { None } else { Some(m.endpoint[p]) })
        .collect()
}

pub(super) struct Matcher {
    pub(super) n: usize,
    pub(super) edges: Vec<(usize, usize, i64)>,
    pub(super) endpoint: Vec<usize>,
    pub(super) neighbend: Vec<Vec<usize>>,
    pub(super) mate: Vec<usize>,
    pub(super) label: Vec<u8>,
    pub(super) labelend: Vec<usize>,
    pub(super) inblossom: Vec<usize>,
    pub(super) blossomparent: Vec<usize>,
    pub(super) blossomchilds: Vec<Vec<usize>>,
    pub(super) blossombase: Vec<usize>,
    pub(super) blossomendps: Vec<Vec<usize>>,
    pub(super) bestedge: Vec<usize>,
    pub(super) blossombestedges: Vec<Option<Vec<usize>>>,
    pub(super) unusedblossoms: Vec<usize>,
    pub(super) dualvar: Vec<i64>,
    pub(super) allowedge: Vec<bool>,
    pub(super) queue: Vec<usize>,
}

pub(super) fn idx(len: usize, j: isize) -> usize {
    j.rem_euclid(len as isize) as usize
}

impl Matcher {
    fn new(n: usize, edges: Vec<(usize, usize, i64)>) -> Self {
        let maxweight = edges.iter().map(|e| e.2).max().unwrap_or(0).max(0);
        let mut endpoint = Vec::with_capacity(2 * edges.len());
        let mut neighbend = vec![Vec::new(); n];
        for (k, &(i, j, _)) in edges.iter().enumerate() {
            endpoint.push(i);
            endpoint.push(j);
            neighbend[i].push(2 * k + 1);
            neighbend[j].push(2 * k);
        }
        let mut blossombase: Vec<usize> = (0..n).collect();
        blossombase.extend(std::iter::repeat_n(NONE, n));
        let mut dualvar = vec![maxweight; n];
        dualvar.extend(std::iter::repeat_n(0, n));
        let ne = edges.len();
        Matcher {
            n,
            edges,
            endpoint,
            neighbend,
            mate: vec![NONE; n],
            label: vec![0; 2 * n],
            labelend: vec![NONE; 2 * n],
            inblossom: (0..n).collect(),
            blossomparent: vec![NONE; 2 * n],
            blossomchilds: vec![Vec::new(); 2 * n],
            blossombase,
            blossomendps: vec![Vec::new(); 2 * n],
            bestedge: vec![NONE; 2 * n],
            blossombestedges: vec![None; 2 * n],
            unusedblossoms: (n..2 * n).rev().collect(),
            dualvar,
            allowedge: vec![false; ne],
            queue: Vec::new(),
        }
    }

    pub(super) fn slack(&self, k: usize) -> i64 {
        let (i, j, w) = self.edges[k];
        self.dualvar[i] + self.dualvar[j] - 2 * w
    }

    pub(super) fn leaves(&self, b: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut stack = vec![b];
        while let Some(t) = stack.pop() {
            if t < self.n {
                out.push(t);
            } else {
                stack.extend(self.blossomchilds[t].iter().rev().copied());
            }
        }
        out
    }

    pub(super) fn assign_label(&mut self, w: usize, t: u8, p: usize) {
        let b = self.inblossom[w];
        self.label[w] = t;
        self.label[b] = t;
        self.labelend[w] = p;
        self.labelend[b] = p;
        self.bestedge[w] = NONE;
        self.bestedge[b] = NONE;
        if t == 1 {
            let l = self.leaves(b);
            self.queue.extend(l);
        } else if t == 2 {
            let base = self.blossombase[b];
            let mb = self.mate[base];
            if mb != NONE {
                self.assign_label(self.endpoint[mb], 1, mb ^ 1);
            }
        }
    }

    fn solve(&mut self) {
        let n = self.n;
        for _ in 0..n {
            self.label.iter_mut().for_each(|l| *l = 0);
            self.bestedge.iter_mut().for_each(|e| *e = NONE);
            for b in n..2 * n {
                self.blossombestedges[b] = None;
            }
            self.allowedge.iter_mut().for_each(|a| *a = false);
            self.queue.clear();
            for v in 0..n {
                if self.mate[v] == NONE && self.label[self.inblossom[v]] == 0 {
                    self.assign_label(v, 1, NONE);
                }
            }
            let mut augmented = false;
            loop {
                while !augmented {
                    let Some(v) = self.queue.pop() else { break };
                    for pi in 0..self.neighbend[v].len() {
                        let p = self.neighbend[v][pi];
                        let k = p / 2;
                        let w = self.endpoint[p];
                        if self.inblossom[v] == self.inblossom[w] {
                            continue;
                        }
                        let mut kslack = 0;
                        if !self.allowedge[k] {
                            kslack = self.slack(k);
                            if kslack <= 0 {
                                self.allowedge[k] = true;
                            }
                        }
                        if self.allowedge[k] {
                            if self.label[self.inblossom[w]] == 0 {
                                self.assign_label(w, 2, p ^ 1);
                            } else if self.label[self.inblossom[w]] == 1 {
                                let base = self.scan_blossom(v, w);
                                if base != NONE {
                                    self.add_blossom(base, k);
                                } else {
                                    self.augment_matching(k);
                                    augmented = true;
                                    break;
                                }
                            } else if self.label[w] == 0 {
                                self.label[w] = 2;
                                self.labelend[w] = p ^ 1;
                            }
                        } else if self.label[self.inblossom[w]] == 1 {
                            let b = self.inblossom[v];
                            if self.bestedge[b] == NONE || kslack < self.slack(self.bestedge[b]) {
                                self.bestedge[b] = k;
                            }
                        } else if self.label[w] == 0
                            && (self.bestedge[w] == NONE || kslack < self.slack(self.bestedge[w]))
                        {
                            self.bestedge[w] = k;
                        }
                    }
                }
                if augmented {
                    break;
                }
                // Dual adjustment: type 1 (vertex dual hits zero) ends the stage.
                let mut deltatype = 1;
                let mut delta = self.dualvar[..n].iter().copied().min().unwrap_or(0);
                let mut deltaedge = NONE;
                let mut deltablossom = NONE;
                for v in 0..n {
                    if self.label[self.inblossom[v]] == 0 && self.bestedge[v] != NONE {
                        let d = self.slack(self.bestedge[v]);
                        if d < delta {
                            delta = d;
                            deltatype = 2;
                            deltaedge = self.bestedge[v];
                        }
                    }
                }
                for b in 0..2 * n {
                    if self.blossomparent[b] == NONE
                        && self.label[b] == 1
                        && self.bestedge[b] != NONE
                    {
                        let d = self.slack(self.bestedge[b]) / 2;
                        if d < delta {
                            delta = d;
                            deltatype = 3;
                            deltaedge = self.bestedge[b];
                        }
                    }
                }
                for b in n..2 * n {
                    if self.blossombase[b] != NONE
                        && self.blossomparent[b] == NONE
                        && self.label[b] == 2
                        && self.dualvar[b] < delta
                    {
                        delta = self.dualvar[b];
                        deltatype = 4;
                        deltablossom = b;
                    }
                }
                for v in 0..n {
                    match self.label[self.inblossom[v]] {
                        1 => self.dualvar[v] -= delta,
                        2 => self.dualvar[v] += delta,
                        _ => {}
                    }
                }
                for b in n..2 * n {
                    if self.blossombase[b] != NONE && self.blossomparent[b] == NONE {
                        match self.label[b] {
                            1 => self.dualvar[b] += delta,
                            2 => self.dualvar[b] -= delta,
                            _ => {}
                        }
                    }
                }
                match deltatype {
                    2 => {
                        self.allowedge[deltaedge] = true;
                        let (mut i, j, _) = self.edges[deltaedge];
                        if self.label[self.inblossom[i]] == 0 {
                            i = j;
                        }
                        self.queue.push(i);
                    }
                    3 => {
                        self.allowedge[deltaedge] = true;
                        let (i, _, _) = self.edges[deltaedge];
                        self.queue.push(i);
                    }
                    4 => self.expand_blossom(deltablossom, false),
                    _ => break,
                }
            }
            if !augmented {
                break;
            }
            for b in n..2 * n {
                if self.blossomparent[b] == NONE
                    && self.blossombase[b] != NONE
                    && self.label[b] == 1
                    && self.dualvar[b] == 0
                {
                    self.expand_blossom(b, true);
                }
            }
        }
    }
}

/// Maximum-weight matching on the complete graph given by `weight` (`None` = no
/// edge), exact but fast for large fields: it first solves the sparse graph of
/// edges between vertices at most `window` apart, then prices every other edge
/// against the optimal duals (vertex and blossom) and re-solves with the edges of
/// negative reduced cost until none remain. By LP duality the final matching is
/// optimal for the whole graph.
pub(crate) fn max_weight_matching_priced<F>(
    n: usize,
    window: usize,
    weight: F,
) -> Vec<Option<usize>>
where
    F: Fn(usize, usize) -> Option<i64>,
{
    let mut in_set = vec![false; n * n];
    let mut edges = Vec::new();
    for i in 0..n {
        for j in i + 1..n.min(i + 1 + window) {
            if let Some(w) = weight(i, j) {
                in_set[i * n + j] = true;
                edges.push((i, j, w));
            }
        }
    }
    loop {
        let mut m = Matcher::new(n, edges.clone());
        if n > 0 && !edges.is_empty() {
            m.solve();
        }
        // Blossom chains, outermost first, to add the duals of shared blossoms.
        let chains: Vec<Vec<usize>> = (0..n)
            .map(|v| {
                let mut c = vec![v];
                let mut t = v;
                while m.blossomparent[t] != NONE {
                    t = m.blossomparent[t];
                    c.push(t);
                }
                c.reverse();
                c
            })
            .collect();
        let mut added = 0;
        for i in 0..n {
            for j in i + 1..n {
                if in_set[i * n + j] {
                    continue;
                }
                let Some(w) = weight(i, j) else { continue };
                let mut s = m.dualvar[i] + m.dualvar[j] - 2 * w;
                for (bi, bj) in chains[i].iter().zip(&chains[j]) {
                    if bi != bj {
                        break;
                    }
                    s += 2 * m.dualvar[*bi];
                }
                if s < 0 {
                    in_set[i * n + j] = true;
                    edges.push((i, j, w));
                    added += 1;
                }
            }
        }
        if added == 0 {
            return m
                .mate
                .iter()
                .map(|&p| if p == NONE { None } else { Some(m.endpoint[p]) })
                .collect();
        }
    }
}
