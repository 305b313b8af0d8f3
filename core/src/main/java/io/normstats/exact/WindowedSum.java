package io.normstats.exact;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * One exact sum of doubles (or of exact squares of doubles) that stores only the 32-bit chunks its
 * terms have reached: the fixed-point layout of {@link ExactSums} (Neal's small superaccumulator,
 * arXiv:1505.05571), kept as a window of chunks that grows when a term falls outside it. Values of
 * similar magnitude need 2 to 4 chunks where {@link ExactSums} keeps 67 (values) or 142 (squares),
 * which is what makes one sum per group of a SQL aggregation affordable; the value is always
 * exactly the mathematical sum of the terms, whatever their order or grouping.
 *
 * <p>Serialized ({@link #write}) as a 2-byte window start, a 2-byte chunk count and 4 bytes per
 * chunk after carry propagation (the top chunk signed): about 12 to 20 bytes for typical data.
 * Not thread-safe.
 */
public final class WindowedSum {
  private static final long LOW_32 = 0xFFFF_FFFFL;
  private static final long FRACTION_MASK = (1L << 52) - 1;
  private static final int SQUARE_SCALE = 600;
  private static final double BIG = 0x1p500;
  private static final double SMALL = 0x1p-400;

  /** Exponent of bit 0 of global chunk 0 (as in {@link ExactSums}). */
  private final int lowExponent;
  /** Position offset of a double's lowest mantissa bit. */
  private final int offset;
  /** Global index of chunks[0]. */
  private int lo;
  /** Chunks in use: chunks[0 .. len) (the array may be longer, zero beyond len). */
  private int len;
  private static final long[] NO_CHUNKS = new long[0];
  private long[] chunks = NO_CHUNKS;
  private int addsUntilCarry = ExactSums.CARRY_INTERVAL;
  /** Whether every chunk but the top one is in [0, 2^32) (no add or merge since the last carry). */
  private boolean normalized = true;

  private WindowedSum(int lowExponent) {
    this.lowExponent = lowExponent;
    this.offset = -1074 - lowExponent;
  }

  /** A zero sum for finite doubles ({@link #add}). */
  public static WindowedSum ofValues() {
    return new WindowedSum(-1074);
  }

  /** A zero sum for exact squares of finite doubles ({@link #addSquare}). */
  public static WindowedSum ofSquares() {
    return new WindowedSum(-1074 - 2 * SQUARE_SCALE);
  }

  /** Adds the finite double {@code x} exactly (the caller filters NaN and infinities). */
  public void add(double x) {
    addScaled(x, 0);
  }

  /**
   * Adds {@code x*x} exactly; {@code x} finite. As {@link ExactSums#addSquare}: for
   * {@code 2^-400 <= |x| <= 2^500} the 106-bit square of the significand, else {@code x} scaled
   * by {@code 2^600} or {@code 2^-600} and split into {@code p = y*y} and
   * {@code e = fma(y, y, -p)}.
   */
  public void addSquare(double x) {
    double a = Math.abs(x);
    if (a > BIG) {
      double y = x * 0x1p-600;
      double p = y * y;
      addScaled(p, 2 * SQUARE_SCALE);
      addScaled(Math.fma(y, y, -p), 2 * SQUARE_SCALE);
    } else if (a < SMALL) {
      double y = x * 0x1p600;
      double p = y * y;
      addScaled(p, -2 * SQUARE_SCALE);
      addScaled(Math.fma(y, y, -p), -2 * SQUARE_SCALE);
    } else {
      // x = m * 2^(biased - 1075), a normal double: x*x = m*m * 2^(2 * (biased - 1075))
      long bits = Double.doubleToRawLongBits(x);
      int biased = (int) (bits >>> 52) & 0x7FF;
      long m = (bits & FRACTION_MASK) | (1L << 52);
      int position = 2 * (biased - 1075) - lowExponent;
      int c = position >>> 5;
      cover(c, c + 5);
      ExactSums.addProduct(chunks, c - lo, Math.multiplyHigh(m, m), m * m, position & 31);
      normalized = false;
      if (--addsUntilCarry == 0) {
        propagateCarries();
      }
    }
  }

  private void addScaled(double v, int scale) {
    long bits = Double.doubleToRawLongBits(v);
    int biased = (int) (bits >>> 52) & 0x7FF;
    long m = bits & FRACTION_MASK;
    if (biased != 0) {
      m |= 1L << 52;
    } else if (m == 0) {
      return; // +0 or -0
    } else {
      biased = 1;
    }
    int position = biased - 1 + scale + offset;
    int c = position >>> 5;
    int shift = position & 31;
    cover(c, c + 2);
    int i = c - lo;
    long sign = bits >> 63; // 0, or -1 to negate: (v ^ -1) + 1 = -v
    chunks[i] += (((m << shift) & LOW_32) ^ sign) - sign;
    chunks[i + 1] += ((m >>> (32 - shift)) ^ sign) - sign;
    normalized = false;
    if (--addsUntilCarry == 0) {
      propagateCarries();
    }
  }

  /** Grows the window to cover global chunks [from, to) plus one chunk of headroom on top. */
  private void cover(int from, int to) {
    if (len > 0 && from >= lo && to + 1 <= lo + len) {
      return;
    }
    int newLo = len == 0 ? from : Math.min(lo, from);
    int newHi = len == 0 ? to + 1 : Math.max(lo + len, to + 1);
    long[] grown = new long[newHi - newLo];
    if (len > 0) {
      System.arraycopy(chunks, 0, grown, lo - newLo, len);
    }
    chunks = grown;
    lo = newLo;
    len = newHi - newLo;
  }

  /** Brings every chunk but the top one into [0, 2^32); keeps the top one below 2^31 in size. */
  private void propagateCarries() {
    if (normalized) {
      return;
    }
    addsUntilCarry = ExactSums.CARRY_INTERVAL;
    normalized = true;
    if (len == 0) {
      return;
    }
    long carry = 0;
    for (int i = 0; i < len - 1; i++) {
      long v = chunks[i] + carry;
      carry = v >> 32;
      chunks[i] = v & LOW_32;
    }
    chunks[len - 1] += carry;
    long top = chunks[len - 1];
    if (top >= (1L << 31) || top < -(1L << 31)) {
      cover(lo + len - 1, lo + len); // one more chunk on top
      normalized = false;
      propagateCarries();
    }
  }

  /** Adds {@code other}'s sum to this one exactly ({@code other} is unchanged in value). */
  public void merge(WindowedSum other) {
    if (other.lowExponent != lowExponent) {
      throw new IllegalArgumentException("cannot merge a sum of squares with a sum of values");
    }
    if (other.len == 0) {
      return;
    }
    other.propagateCarries();
    propagateCarries();
    cover(other.lo, other.lo + other.len);
    for (int i = 0; i < other.len; i++) {
      chunks[other.lo - lo + i] += other.chunks[i];
    }
    normalized = false;
    propagateCarries();
  }

  /** The exponent of the unit of {@link #toBigInteger}: the sum is toBigInteger() * 2^this. */
  public int unitExponent() {
    return lowExponent + 32 * lo;
  }

  /** The sum as an exact integer multiple of {@code 2^unitExponent()}. */
  public BigInteger toBigInteger() {
    propagateCarries();
    if (len == 0) {
      return BigInteger.ZERO;
    }
    byte[] bytes = new byte[4 * len]; // big-endian two's complement, the top chunk signed
    for (int i = 0; i < len; i++) {
      int v = (int) chunks[i];
      int at = 4 * (len - 1 - i);
      bytes[at] = (byte) (v >>> 24);
      bytes[at + 1] = (byte) (v >>> 16);
      bytes[at + 2] = (byte) (v >>> 8);
      bytes[at + 3] = (byte) v;
    }
    return new BigInteger(bytes);
  }

  /**
   * Sets this sum to {@code value} units of {@code 2^lowExponent} (the units of the matching
   * {@link ExactSums} layout: -1074 for values, -2274 for squares).
   */
  void set(BigInteger value) {
    int n = Math.max(1, (value.bitLength() + 32) / 32 + 1);
    lo = 0;
    len = n;
    chunks = new long[n];
    BigInteger rest = value;
    for (int i = 0; i < n - 1; i++) {
      chunks[i] = rest.longValue() & LOW_32;
      rest = rest.shiftRight(32);
    }
    chunks[n - 1] = rest.longValueExact();
    addsUntilCarry = ExactSums.CARRY_INTERVAL;
    normalized = true;
  }

  /** The bytes {@link #write} writes. */
  public int serializedSize() {
    trim();
    return 4 + 4 * len;
  }

  /** Drops zero chunks at both ends (after carry propagation). */
  private void trim() {
    propagateCarries();
    int start = 0;
    while (start < len && chunks[start] == 0) {
      start++;
    }
    int end = len;
    // The top chunk is read back as signed: drop it only where the chunk below, read as signed,
    // keeps the value (0 above a chunk below 2^31; -1 above a chunk of 2^31 or more).
    while (end - start > 1) {
      long top = chunks[end - 1];
      long below = chunks[end - 2];
      if (top == 0 && below < (1L << 31)) {
        end--;
      } else if (top == -1 && below >= (1L << 31)) {
        chunks[end - 2] = below - (1L << 32);
        end--;
      } else {
        break;
      }
    }
    if (end - start == 1 && chunks[start] == 0) {
      start = len;
    }
    if (start == len) {
      chunks = NO_CHUNKS;
      lo = 0;
      len = 0;
    } else if (start > 0 || end < len) {
      if (start > 0) { // in place: the array may stay longer than the window
        System.arraycopy(chunks, start, chunks, 0, end - start);
      }
      Arrays.fill(chunks, end - start, len, 0);
      lo += start;
      len = end - start;
    }
  }

  /**
   * Writes the sum: window start and chunk count as unsigned 16-bit values, then each chunk as 32
   * bits (the top one two's complement). {@code out} needs {@link #serializedSize()} bytes.
   */
  public void write(ByteBuffer out) {
    trim();
    out.putShort((short) lo);
    out.putShort((short) len);
    for (int i = 0; i < len; i++) {
      out.putInt((int) chunks[i]);
    }
  }

  /**
   * Reads a sum {@link #write} wrote into this zero sum.
   *
   * @throws IllegalArgumentException if the bytes cannot be a sum of this kind
   */
  public void read(ByteBuffer in) {
    int start = Short.toUnsignedInt(in.getShort());
    int n = Short.toUnsignedInt(in.getShort());
    int limit = lowExponent == -1074 ? ExactSums.VALUE_CHUNKS : ExactSums.SQUARE_CHUNKS;
    if (start + n > limit + 2 || n > in.remaining() / 4) {
      throw new IllegalArgumentException("not an exact sum: window " + start + "+" + n);
    }
    lo = start;
    len = n;
    chunks = new long[n];
    for (int i = 0; i < n; i++) {
      int v = in.getInt();
      chunks[i] = i == n - 1 ? v : Integer.toUnsignedLong(v);
    }
    addsUntilCarry = ExactSums.CARRY_INTERVAL;
    normalized = true;
  }
}
