package io.normstats.minibatch;

/**
 * A pseudorandom permutation of {@code [0, n)} chosen by a seed and an epoch number, evaluated one
 * index at a time in O(1) time and memory: the minibatch order of one epoch.
 *
 * <p>Because {@link #apply(long)} needs only the row's own index, every Spark task can place its
 * rows without a shuffle of indices and without knowing how the data is partitioned: the same seed
 * gives the same order on any cluster and any partitioning.
 *
 * <p>Construction: a balanced Feistel network of {@value #ROUNDS} rounds on the smallest even number
 * of bits {@code 2h} with {@code 2^(2h) >= n}, each round function a SplitMix64 finalizer of the
 * half-block xor a round key; indices that land outside {@code [0, n)} are mapped again ("cycle
 * walking", Black and Rogaway, "Ciphers with arbitrary finite domains", CT-RSA 2002), which keeps the
 * map a bijection of {@code [0, n)}. As {@code 2^(2h) < 4n}, an index needs fewer than 4 rounds of
 * walking on average. Round keys come from SplitMix64 seeded with the seed and the epoch (Steele,
 * Lea and Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014).
 *
 * <p>This is not PyTorch's {@code torch.randperm} order (which needs the whole permutation in
 * memory); it is a different uniform-looking shuffle, which is what the statistics of minibatch
 * estimates depend on.
 */
public final class Permutation {
  static final int ROUNDS = 6;

  private final long n;
  private final int halfBits;
  private final long halfMask;
  private final long[] keys = new long[ROUNDS];

  /**
   * The permutation of epoch {@code epoch} under {@code seed}.
   *
   * @param n the number of indices, at least 0
   * @throws IllegalArgumentException if {@code n < 0} or {@code n > 2^62}
   */
  public Permutation(long n, long seed, long epoch) {
    if (n < 0 || n > (1L << 62)) {
      throw new IllegalArgumentException("permutation size out of range: " + n);
    }
    this.n = n;
    int bits = n <= 1 ? 2 : 64 - Long.numberOfLeadingZeros(n - 1); // 2^bits >= n
    bits += bits & 1;
    this.halfBits = Math.max(1, bits / 2);
    this.halfMask = (1L << halfBits) - 1;
    long state = mix(seed) ^ mix(epoch + 0x632be59bd9b4e019L);
    for (int i = 0; i < ROUNDS; i++) {
      state += 0x9e3779b97f4a7c15L;
      keys[i] = mix(state);
    }
  }

  /** The number of indices permuted. */
  public long size() {
    return n;
  }

  /**
   * The position of index {@code i} in this permutation.
   *
   * @throws IndexOutOfBoundsException if {@code i} is not in {@code [0, n)}
   */
  public long apply(long i) {
    if (i < 0 || i >= n) {
      throw new IndexOutOfBoundsException("index " + i + " outside [0, " + n + ")");
    }
    long x = i;
    do {
      x = feistel(x);
    } while (x >= n);
    return x;
  }

  private long feistel(long x) {
    long left = x >>> halfBits;
    long right = x & halfMask;
    for (long key : keys) {
      long f = mix(right ^ key) & halfMask;
      long next = left ^ f;
      left = right;
      right = next;
    }
    return (left << halfBits) | right;
  }

  /** The SplitMix64 output function (a bijection of 64-bit values). */
  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }
}
