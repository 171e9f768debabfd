"""std::mt19937_64 (C++11's 64-bit Mersenne Twister) in pure Python, and the nap engine's
seeded train / held-out split (engines/nap/nap_miner.h SplitInputs) built on it, so that
scripts can re-compute what the engine did on exactly the same inputs.

    rng = MT19937_64(5489)
    first = rng()                                  # 14514284786278117030
    train, held_out = split_inputs(10000, 0.8, seed=1)
"""

MASK64 = (1 << 64) - 1


class MT19937_64:
    N, M = 312, 156
    MATRIX_A = 0xB5026F5AA96619E9
    UPPER, LOWER = 0xFFFFFFFF80000000, 0x7FFFFFFF

    def __init__(self, seed=5489):
        self.mt = [seed & MASK64]
        for i in range(1, self.N):
            prev = self.mt[-1]
            self.mt.append((6364136223846793005 * (prev ^ (prev >> 62)) + i) & MASK64)
        self.index = self.N

    def _twist(self):
        mt, n, m = self.mt, self.N, self.M
        for i in range(n):
            x = (mt[i] & self.UPPER) | (mt[(i + 1) % n] & self.LOWER)
            shifted = x >> 1
            if x & 1:
                shifted ^= self.MATRIX_A
            mt[i] = mt[(i + m) % n] ^ shifted
        self.index = 0

    def __call__(self):
        if self.index >= self.N:
            self._twist()
        x = self.mt[self.index]
        self.index += 1
        x ^= (x >> 29) & 0x5555555555555555
        x ^= (x << 17) & 0x71D67FFFEDA60000
        x ^= (x << 37) & 0xFFF7EEE000000000
        x ^= x >> 43
        return x & MASK64


def round_half_away(x):
    """std::llround: halves round away from zero."""
    return int(x + 0.5) if x >= 0 else -int(-x + 0.5)


def split_inputs(n, train_fraction, seed):
    """(train, held_out) index lists, each ascending, as SplitInputs(n, train_fraction, seed)."""
    order = list(range(n))
    rng = MT19937_64(seed)
    for i in range(n - 1, 0, -1):
        j = rng() % (i + 1)
        order[i], order[j] = order[j], order[i]
    train = min(max(round_half_away(train_fraction * n), 1), n - 1)
    return sorted(order[:train]), sorted(order[train:])
