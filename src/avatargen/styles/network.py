"""A discrete tree (forest) Bayesian network over coded attributes, and its exact inference:
chain-rule probabilities, marginals by the law of total probability, conditioning on evidence
(Bayes' rule, by message passing), support size, entropy and the k most probable styles."""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from avatargen.styles.estimate import entropy_bits


@dataclass
class TreeNetwork:
    """Parent pointers (-1 = root) and one conditional table per attribute.

    ``cpts[v]`` has shape (k_parent, k_v) with rows summing to 1 (roots: shape (1, k_v)).
    ``order`` is a topological order (every parent before its children).
    """

    parents: np.ndarray
    cpts: list[np.ndarray]

    def __post_init__(self) -> None:
        k = len(self.cpts)
        order: list[int] = [v for v in range(k) if self.parents[v] < 0]
        children: list[list[int]] = [[] for _ in range(k)]
        for v in range(k):
            if self.parents[v] >= 0:
                children[int(self.parents[v])].append(v)
        i = 0
        while i < len(order):
            order.extend(children[order[i]])
            i += 1
        if len(order) != k:
            raise ValueError("parents do not form a forest")
        self.order = order
        self.children = children

    @property
    def cards(self) -> list[int]:
        """Number of values of each attribute."""
        return [int(c.shape[1]) for c in self.cpts]

    def factor(self, codes: np.ndarray, v: int) -> np.ndarray:
        """P(x_v | x_parent(v)) for every row of (n, k) codes; (n,)."""
        cpt = self.cpts[v]
        p = int(self.parents[v])
        idx = codes[:, v].astype(np.intp)
        if p >= 0:
            idx += codes[:, p].astype(np.intp) * cpt.shape[1]
        return cpt.ravel()[idx]

    def factors(self, codes: np.ndarray) -> np.ndarray:
        """P(x_v | x_parent(v)) for every row and attribute; shape (n, k)."""
        return np.stack([self.factor(codes, v) for v in range(len(self.cpts))], axis=1)

    def probability(self, codes: np.ndarray) -> np.ndarray:
        """Exact probability of each full style (chain rule); codes (n, k) -> (n,)."""
        n = codes.shape[0]
        out = np.ones(n)
        chunk = 1 << 15  # blocks of rows: the buffers stay in the CPU cache
        idx = np.empty(min(n, chunk), dtype=np.intp)
        f = np.empty(min(n, chunk))
        flat = [c.ravel() for c in self.cpts]
        for s in range(0, n, chunk):
            e = min(n, s + chunk)
            idx_, f_, out_ = idx[: e - s], f[: e - s], out[s:e]
            for v in range(len(self.cpts)):
                p = int(self.parents[v])
                if p >= 0:
                    np.multiply(
                        codes[s:e, p], self.cpts[v].shape[1], out=idx_, dtype=np.intp, casting="unsafe"
                    )
                    np.add(idx_, codes[s:e, v], out=idx_, dtype=np.intp, casting="unsafe")
                else:
                    np.copyto(idx_, codes[s:e, v], casting="unsafe")
                np.take(flat[v], idx_, out=f_)
                np.multiply(out_, f_, out=out_)
        return out

    def log2_probability(self, codes: np.ndarray) -> np.ndarray:
        """log2 of each full style's probability; -inf for impossible styles; (n,)."""
        with np.errstate(divide="ignore"):
            return np.log2(self.factors(codes)).sum(axis=1)

    def marginals(self) -> list[np.ndarray]:
        """P(x_v) for every attribute by the law of total probability: sum_p P(v | p) P(p)."""
        out: list[np.ndarray] = [np.empty(0)] * len(self.cpts)
        for v in self.order:
            p = int(self.parents[v])
            out[v] = self.cpts[v][0].copy() if p < 0 else out[p] @ self.cpts[v]
        return out

    def _evidence_vectors(self, evidence: dict[int, int] | None) -> list[np.ndarray]:
        ev = [np.ones(c) for c in self.cards]
        for v, x in (evidence or {}).items():
            ev[v] = np.zeros(self.cards[v])
            ev[v][x] = 1.0
        return ev

    def _upward(
        self, evidence: dict[int, int] | None, semiring: str = "sum", indicator: bool = False
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """lambda_v(x_v) (evidence below v) and messages m_v(x_parent) = sum_x P(x|p) lambda_v(x)."""
        k = len(self.cpts)
        lam = self._evidence_vectors(evidence)
        msg: list[np.ndarray] = [np.empty(0)] * k
        for v in reversed(self.order):
            for c in self.children[v]:
                lam[v] = lam[v] * msg[c]
            table = (self.cpts[v] > 0).astype(np.float64) if indicator else self.cpts[v]
            if semiring == "max":
                msg[v] = (table * lam[v][None, :]).max(axis=1)
            else:
                msg[v] = table @ lam[v]
        return lam, msg

    def evidence_probability(self, evidence: dict[int, int] | None) -> float:
        """P(evidence) by the law of total probability (sum over all other attributes)."""
        _, msg = self._upward(evidence)
        return float(np.prod([msg[v][0] for v in self.order if self.parents[v] < 0]))

    def support_size(self, evidence: dict[int, int] | None = None) -> int:
        """Number of full styles with positive probability (consistent with ``evidence``)."""
        _, msg = self._upward(evidence, indicator=True)
        with np.errstate(over="ignore"):  # beyond float range: counted exactly below
            approx = float(np.prod([msg[v][0] for v in self.order if self.parents[v] < 0]))
        if approx < 2**53:  # exact in float64
            return round(approx)
        return self._support_size_exact(evidence)  # beyond 2**53 (or float overflow): Python integers

    def _support_size_exact(self, evidence: dict[int, int] | None) -> int:
        """``support_size`` with Python integers: exact for any number of styles (e.g. 2**3000)."""
        lam = [np.asarray(x > 0, dtype=np.int64).astype(object) for x in self._evidence_vectors(evidence)]
        msg: list[np.ndarray] = [np.empty(0, dtype=object)] * len(self.cpts)
        for v in reversed(self.order):
            for c in self.children[v]:
                lam[v] = lam[v] * msg[c]
            msg[v] = (self.cpts[v] > 0).astype(np.int64).astype(object) @ lam[v]
        total = 1
        for v in self.order:
            if self.parents[v] < 0:
                total *= int(msg[v][0])
        return total

    def condition(self, evidence: dict[int, int] | None) -> TreeNetwork:
        """The posterior network P(x | evidence): same tree, updated tables (exact, Bayes' rule).

        cpt'_v[p, x] = cpt_v[p, x] lambda_v(x) / m_v(p). Raises ValueError if P(evidence) = 0.
        """
        if not evidence:
            return self
        lam, msg = self._upward(evidence)
        if self.evidence_probability(evidence) <= 0:
            raise ValueError("evidence has probability 0")
        cpts = []
        for v in range(len(self.cpts)):
            w = self.cpts[v] * lam[v][None, :]
            z = msg[v][:, None]
            safe = np.where(z > 0, z, 1.0)
            cpts.append(np.where(z > 0, w / safe, self.cpts[v]))
        return TreeNetwork(self.parents.copy(), cpts)

    def entropy(self) -> float:
        """Entropy of the joint distribution in bits: sum_v sum_p P(p) H(X_v | p)."""
        marg = self.marginals()
        total = 0.0
        for v in range(len(self.cpts)):
            p = int(self.parents[v])
            weights = np.ones(1) if p < 0 else marg[p]
            total += float(sum(w * entropy_bits(row) for w, row in zip(weights, self.cpts[v], strict=True)))
        return total

    def most_probable(self, k: int, evidence: dict[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The k most probable full styles (consistent with evidence), best first.

        Exact best-first (A*) search in topological order with the max-product completion as an
        exact heuristic. Returns (codes (m, n_attr), probabilities (m,)) with m <= k.
        """
        _, best_below = self._upward(evidence, semiring="max")
        ev = self._evidence_vectors(evidence)
        order = self.order
        n_attr = len(order)
        # frontier factor of an unassigned node v with assigned parent: best_below[v][x_parent]
        roots_bound = 1.0
        for v in order:
            if self.parents[v] < 0:
                roots_bound *= best_below[v][0]
        if roots_bound <= 0:
            return np.zeros((0, n_attr), dtype=np.int64), np.zeros(0)
        heap: list[tuple[float, int, float, tuple[int, ...]]] = [(-roots_bound, 0, 1.0, ())]
        counter = 1
        found_codes: list[tuple[int, ...]] = []
        found_p: list[float] = []
        while heap and len(found_codes) < k:
            neg_bound, _, prob, assigned = heapq.heappop(heap)
            depth = len(assigned)
            if depth == n_attr:
                found_codes.append(assigned)
                found_p.append(prob)
                continue
            v = order[depth]
            p = int(self.parents[v])
            xp = 0 if p < 0 else assigned[order.index(p)]
            bound = -neg_bound
            frontier = best_below[v][xp]  # the bound's factor for v, now replaced by exact terms
            below = np.ones(self.cards[v])  # best completion of v's subtrees, per value of v
            for c in self.children[v]:
                below = below * best_below[c]
            for x in np.flatnonzero(self.cpts[v][xp] * ev[v] > 0):
                f = float(self.cpts[v][xp, x])
                new_bound = bound / frontier * f * float(below[x]) if frontier > 0 else 0.0
                if new_bound <= 0:
                    continue
                heapq.heappush(heap, (-new_bound, counter, prob * f, (*assigned, int(x))))
                counter += 1
        codes = np.zeros((len(found_codes), n_attr), dtype=np.int64)
        for i, a in enumerate(found_codes):
            codes[i, order] = a
        return codes, np.asarray(found_p)


def enumerate_support(net: TreeNetwork) -> tuple[np.ndarray, np.ndarray]:
    """Every full style with positive probability and its probability: ((m, k) codes, (m,)).

    Expands the tree in topological order, keeping only positive entries, so the cost is
    proportional to the support size (check ``net.support_size()`` first).
    """
    k = len(net.cpts)
    codes = np.zeros((1, k), dtype=np.int64)
    prob = np.ones(1)
    for v in net.order:
        p = int(net.parents[v])
        rows = net.cpts[v][codes[:, p] if p >= 0 else np.zeros(len(codes), dtype=np.int64)]
        r, x = np.nonzero(rows > 0)
        codes = codes[r]
        codes[:, v] = x
        prob = prob[r] * rows[r, x]
    return codes, prob
