package io.normstats.exact;

import java.io.Serializable;
import java.math.BigInteger;
import java.util.Arrays;

/**
 * A bank of {@code size} independent exact sums of doubles, each kept in a small superaccumulator
 * (R. M. Neal, "Fast exact summation using small and large superaccumulators", arXiv:1505.05571).
 *
 * <p>Each sum is a fixed-point integer spread over signed 64-bit chunks of 32 bits each: a term
 * {@code m * 2^e} (53-bit mantissa {@code m}) is shifted by the low 5 bits of its exponent and added
 * into the two chunks its high exponent bits select. Carries are propagated only every
 * {@value #CARRY_INTERVAL} additions to a sum, so an addition is a handful of integer operations and
 * allocates nothing. Because the representation is exact, the value of a sum does not depend on the
 * order of the additions or on how the terms were split over several banks and {@link #merge merged}:
 * it is always exactly the mathematical sum of the terms.
 *
 * <p>Two layouts exist:
 * <ul>
 *   <li>{@link #ofValues(int)}: sums of finite doubles; exact for up to 2^63 terms;</li>
 *   <li>{@link #ofSquares(int)}: sums of exact squares {@code x*x} of finite doubles, whose range
 *       (2^-2148 to 2^2048) is wider than a double's. For {@code 2^-400 <= |x| <= 2^500} the square
 *       of x's 53-bit significand, a 106-bit integer ({@link Math#multiplyHigh} and the low 64
 *       bits), is added at its place in one step over five chunks; other values are scaled by
 *       2^600 or 2^-600 first and their square split exactly into two doubles, {@code p = y*y} and
 *       {@code e = Math.fma(y, y, -p)}, added with the inverse power-of-two weight.</li>
 * </ul>
 *
 * <p>Memory: {@value #VALUE_CHUNKS} longs per sum of values and {@value #SQUARE_CHUNKS} per sum of
 * squares. Instances are not thread-safe.
 */
public final class ExactSums implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Chunks of a sum of values: positions 0..2045+31+32 plus headroom for carries. */
  static final int VALUE_CHUNKS = 67;
  /** Chunks of a sum of squares: the value layout widened by 2*1200 bits plus headroom. */
  static final int SQUARE_CHUNKS = 142;
  /** Additions to one sum between carry propagations; each adds at most 2^52 to a chunk. */
  static final int CARRY_INTERVAL = 1024;

  private static final int SQUARE_SCALE = 600;
  private static final double BIG = 0x1p500;
  private static final double SMALL = 0x1p-400;
  private static final long FRACTION_MASK = (1L << 52) - 1;
  private static final long LOW_32 = 0xFFFF_FFFFL;

  private final int size;
  private final int chunksPerSum;
  /** Exponent of bit 0 of chunk 0: every sum equals sum_i chunk[i] * 2^(32 i + lowExponent). */
  private final int lowExponent;
  /** Position offset of a double's lowest mantissa bit: -1074 - lowExponent. */
  private final int offset;
  private final long[] chunks;
  private final int[] addsUntilCarry;

  private ExactSums(int size, int chunksPerSum, int lowExponent) {
    if (size < 0) {
      throw new IllegalArgumentException("size must be >= 0: " + size);
    }
    this.size = size;
    this.chunksPerSum = chunksPerSum;
    this.lowExponent = lowExponent;
    this.offset = -1074 - lowExponent;
    this.chunks = new long[Math.multiplyExact(size, chunksPerSum)];
    this.addsUntilCarry = new int[size];
    Arrays.fill(addsUntilCarry, CARRY_INTERVAL);
  }

  /**
   * Creates {@code size} zero sums for terms that are finite doubles ({@link #add}).
   *
   * @throws IllegalArgumentException if {@code size < 0}
   */
  public static ExactSums ofValues(int size) {
    return new ExactSums(size, VALUE_CHUNKS, -1074);
  }

  /**
   * Creates {@code size} zero sums for terms that are squares of finite doubles ({@link #addSquare});
   * {@link #add} also works on them.
   *
   * @throws IllegalArgumentException if {@code size < 0}
   */
  public static ExactSums ofSquares(int size) {
    return new ExactSums(size, SQUARE_CHUNKS, -1074 - 2 * SQUARE_SCALE);
  }

  /** The number of sums in this bank. */
  public int size() {
    return size;
  }

  /**
   * The exponent of the unit of {@link #toBigInteger}: sum {@code i} equals
   * {@code toBigInteger(i) * 2^lowExponent()} exactly (-1074 for values, -2274 for squares).
   */
  public int lowExponent() {
    return lowExponent;
  }

  /**
   * Adds the finite double {@code x} to sum {@code i} exactly. The caller filters NaN and infinities:
   * they are not detected here, and adding one leaves the sum meaningless.
   */
  public void add(int i, double x) {
    addScaled(i, x, 0);
  }

  /**
   * Adds {@code x*x}, computed exactly, to sum {@code i} of a bank made by {@link #ofSquares}.
   * {@code x} must be finite (see {@link #add}). For {@code 2^-400 <= |x| <= 2^500} (a normal
   * double {@code m * 2^k}) the 106-bit integer {@code m*m} goes to its place in one step
   * ({@link #addProduct}); other values are scaled first, as the class describes.
   */
  public void addSquare(int i, double x) {
    double a = Math.abs(x);
    if (a > BIG) {
      double y = x * 0x1p-600;
      double p = y * y;
      addScaled(i, p, 2 * SQUARE_SCALE);
      addScaled(i, Math.fma(y, y, -p), 2 * SQUARE_SCALE);
    } else if (a < SMALL) {
      double y = x * 0x1p600;
      double p = y * y;
      addScaled(i, p, -2 * SQUARE_SCALE);
      addScaled(i, Math.fma(y, y, -p), -2 * SQUARE_SCALE);
    } else {
      // x = m * 2^(biased - 1075), a normal double: x*x = m*m * 2^(2 * (biased - 1075))
      long bits = Double.doubleToRawLongBits(x);
      int biased = (int) (bits >>> 52) & 0x7FF;
      long m = (bits & FRACTION_MASK) | (1L << 52);
      int position = 2 * (biased - 1075) - lowExponent;
      addProduct(chunks, i * chunksPerSum + (position >>> 5), Math.multiplyHigh(m, m), m * m,
          position & 31);
      if (--addsUntilCarry[i] == 0) {
        propagateCarries(i);
      }
    }
  }

  /**
   * Adds the non-negative integer {@code high * 2^64 + low} (below 2^106: a product of two 53-bit
   * significands), shifted left by {@code shift} (0 to 31) bits, to the chunks {@code at} to
   * {@code at + 4}: at most 2^32 to each, the same carry headroom as any other term.
   */
  static void addProduct(long[] chunks, int at, long high, long low, int shift) {
    // chunk j takes bits [32 j - shift, 32 j - shift + 32) of the product; the double shifts
    // give 0 where a single shift by 64 would leave the value unshifted
    chunks[at] += (low << shift) & LOW_32;
    chunks[at + 1] += (low >>> (32 - shift)) & LOW_32;
    chunks[at + 2] += (((low >>> 1) >>> (63 - shift)) | (high << shift)) & LOW_32;
    chunks[at + 3] += (high >>> (32 - shift)) & LOW_32;
    chunks[at + 4] += (high >>> 32) >>> (32 - shift);
  }

  /** Adds {@code v * 2^scale} exactly; the layout must have room for that range. */
  private void addScaled(int i, double v, int scale) {
    long bits = Double.doubleToRawLongBits(v);
    int biased = (int) (bits >>> 52) & 0x7FF;
    long m = bits & FRACTION_MASK;
    if (biased != 0) {
      m |= 1L << 52;
    } else if (m == 0) {
      return; // +0 or -0
    } else {
      biased = 1; // subnormal: same scale as the smallest normal
    }
    int position = biased - 1 + scale + offset;
    int c = i * chunksPerSum + (position >>> 5);
    int shift = position & 31;
    long sign = bits >> 63; // 0, or -1 to negate: (v ^ -1) + 1 = -v
    chunks[c] += (((m << shift) & LOW_32) ^ sign) - sign;
    chunks[c + 1] += ((m >>> (32 - shift)) ^ sign) - sign;
    if (--addsUntilCarry[i] == 0) {
      propagateCarries(i);
    }
  }

  /** Brings chunks 0..n-2 of sum {@code i} into [0, 2^32), moving the excess upwards. */
  private void propagateCarries(int i) {
    int start = i * chunksPerSum;
    int end = start + chunksPerSum - 1;
    long carry = 0;
    for (int c = start; c < end; c++) {
      long v = chunks[c] + carry;
      carry = v >> 32;
      chunks[c] = v & LOW_32;
    }
    chunks[end] += carry;
    addsUntilCarry[i] = CARRY_INTERVAL;
  }

  /**
   * Adds every sum of {@code other} to the sum with the same index here, exactly. {@code other}'s
   * values are unchanged (its internal carries may be normalized).
   *
   * @throws IllegalArgumentException if the two banks differ in size or layout
   */
  public void merge(ExactSums other) {
    if (other.size != size || other.chunksPerSum != chunksPerSum) {
      throw new IllegalArgumentException(
          "cannot merge banks of different shapes: " + size + "x" + chunksPerSum + " and "
              + other.size + "x" + other.chunksPerSum);
    }
    for (int i = 0; i < size; i++) {
      propagateCarries(i);
      other.propagateCarries(i);
    }
    for (int c = 0; c < chunks.length; c++) {
      chunks[c] += other.chunks[c];
    }
  }

  /** Whether sum {@code i} is exactly zero. */
  public boolean isZero(int i) {
    propagateCarries(i);
    int start = i * chunksPerSum;
    for (int c = start; c < start + chunksPerSum; c++) {
      if (chunks[c] != 0) {
        return false;
      }
    }
    return true;
  }

  /** Sum {@code i} as the exact integer multiple of {@code 2^lowExponent()}. */
  public BigInteger toBigInteger(int i) {
    propagateCarries(i);
    int start = i * chunksPerSum;
    // Big-endian two's complement: the signed top chunk in 8 bytes, then each lower chunk (in
    // [0, 2^32) after the carries) in 4; one linear pass instead of a shift per chunk.
    byte[] bytes = new byte[8 + 4 * (chunksPerSum - 1)];
    long top = chunks[start + chunksPerSum - 1];
    for (int b = 0; b < 8; b++) {
      bytes[b] = (byte) (top >>> (56 - 8 * b));
    }
    for (int c = start + chunksPerSum - 2, at = 8; c >= start; c--, at += 4) {
      long v = chunks[c];
      bytes[at] = (byte) (v >>> 24);
      bytes[at + 1] = (byte) (v >>> 16);
      bytes[at + 2] = (byte) (v >>> 8);
      bytes[at + 3] = (byte) v;
    }
    return new BigInteger(bytes);
  }

  /** Sum {@code i} correctly rounded to the nearest double (ties to even; overflow gives infinity). */
  public double doubleValue(int i) {
    return CorrectRounding.divide(toBigInteger(i), BigInteger.ONE, lowExponent);
  }
}
