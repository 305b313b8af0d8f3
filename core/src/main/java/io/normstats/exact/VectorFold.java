package io.normstats.exact;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The SIMD kernel of {@link DenseBlocks}: sums one group of {@link DenseBlocks#LANES} vector
 * positions over the rows of a block, by the extraction levels {@link DenseBlocks} describes, with
 * vectors of {@link Simd#bits()} bits: 8 positions with 512-bit vectors (AVX-512), 4 with 256-bit
 * ones (AVX2). The lanes are independent, so the width decides the speed only.
 *
 * <p>Load this class only after {@link Simd#available()}: when the JVM does not resolve
 * {@code jdk.incubator.vector} it cannot link.
 */
final class VectorFold {
  private static final boolean WIDE = Simd.bits() == 512;
  private static final VectorSpecies<Double> SPECIES =
      WIDE ? DoubleVector.SPECIES_512 : DoubleVector.SPECIES_256;
  private static final VectorSpecies<Long> LONGS =
      WIDE ? LongVector.SPECIES_512 : LongVector.SPECIES_256;
  /** As many floats as {@link #SPECIES} holds doubles, in half the bits. */
  private static final VectorSpecies<Float> FLOATS =
      WIDE ? FloatVector.SPECIES_256 : FloatVector.SPECIES_128;
  private static final int LANES = DenseBlocks.LANES;
  /**
   * The multiplier of the extractions' {@code fma(x, 1, c)}, loaded with {@code fromArray} rather
   * than broadcast: in a JVM that had run other vector code, C2 left the passes' broadcast of 1 (a
   * cold call site before the loop) as a call, which allocated a vector per group.
   */
  private static final double[] ONES = {1, 1, 1, 1, 1, 1, 1, 1};

  private VectorFold() {}

  /** {@code LANES} floats from {@code data[k]}, widened to doubles (exactly; {@code vcvtps2pd}). */
  private static DoubleVector floats(float[] data, int k) {
    return (DoubleVector) FloatVector.fromArray(FLOATS, data, k)
        .convertShape(VectorOperators.F2D, SPECIES, 0);
  }

  /**
   * Adds the block's values of positions g..g+LANES-1 to their partial sums and block minima and maxima.
   *
   * <p>The values and the squares are two passes over the group's rows ({@link #sumValues},
   * {@link #sumSquares}), each in its own method: one loop holding the 6 partial sums, 12 level
   * constants and the checks needs more than the 16 AVX2 registers, and C2 boxes vectors that stay
   * live from one loop to the next. The extractions' {@code x + c} are fused multiply-adds
   * {@code fma(x, 1, c)} (the same correctly rounded sum), so that they run on the multiply
   * pipes beside the additions: 2.1 -> 1.5 ns per value on this machine's Zen 3.
   *
   * @param data the block: the value of position {@code g + lane} in row {@code i} (0 to
   *     {@code rows - 1}) is {@code data[at + i * stride + lane]}
   * @return whether every lane's values fit; if not, {@link DenseBlocks#laneFits} tells which
   *     lanes did not: their partial sums are left as they were before the block, for the caller
   *     to redo exactly
   */
  static boolean sumGroup(DenseBlocks b, int g, double[] data, int at, int stride, int rows) {
    sumValues(b, g, data, at, stride, rows);
    sumSquares(b, g, data, at, stride, rows);
    return settle(b, g, 4);
  }

  /**
   * As {@link #sumGroup}, for a block of floats (float32 values, read from {@code data} and
   * widened to double in registers). A float has a 24-bit significand, so fewer
   * extractions suffice, provided that no non-zero value is tiny against the lane's bound:
   * <ul>
   *   <li>values: {@code x = q1 + r}, q1 on the first level's grid {@code 2^(M-41)}; r is a
   *       multiple of {@code ulp(x)} and {@code |r| <= 2^(M-42)}, so the sum of r over
   *       {@value DenseBlocks#FLUSH_ROWS} rows is exact in a double when
   *       {@code ulp(x) >= 2^(M-85)};</li>
   *   <li>squares: {@code x*x = p} exactly (48 significant bits), split over the first two
   *       square levels ({@code 2^(2M-41)}, {@code 2^(2M-82)}) with the rest
   *       {@code |pr| <= 2^(2M-83)} added as it is: exact when {@code p} is a multiple of
   *       {@code 2^(2M-126)}.</li>
   * </ul>
   * Both hold when every non-zero |x| is at least {@code 2^(M-40)} (then {@code ulp(x) >=
   * 2^(M-63)}, subnormal floats included); the squares' pass checks it as {@code p >=
   * 2^(2M-80)} or {@code p == 0}. A lane with a smaller non-zero value, a NaN or an infinity does
   * not fit and is redone value by value, as in {@link #sumGroup}. The loops take 10 + 14 vector
   * operations per vector of values, where {@link #sumGroup}'s take 15 + 32.
   */
  static boolean sumGroupFloats(DenseBlocks b, int g, float[] data, int at, int stride,
      int rows) {
    sumValuesOfFloats(b, g, data, at, stride, rows);
    sumSquaresOfFloats(b, g, data, at, stride, rows);
    return settle(b, g, 3);
  }

  /**
   * Decides which lanes fit from the two passes' checks and stores their partial sums (the first
   * {@code levels} square levels), minima and maxima: a lane fits when both remainders are zero and
   * its values lie within the bound.
   */
  private static boolean settle(DenseBlocks b, int g, int levels) {
    double[] checks = b.laneChecks;
    double[] sums = b.groupSums;
    DoubleVector dirty = DoubleVector.fromArray(SPECIES, checks, DenseBlocks.VALUE_REMAINDERS)
        .add(DoubleVector.fromArray(SPECIES, checks, DenseBlocks.SQUARE_REMAINDERS));
    DoubleVector lo = DoubleVector.fromArray(SPECIES, checks, DenseBlocks.MINIMA);
    DoubleVector hi = DoubleVector.fromArray(SPECIES, checks, DenseBlocks.MAXIMA);
    DoubleVector bound = DoubleVector.fromArray(SPECIES, b.bound, g);
    // NaN anywhere (a NaN or infinite value, or a lane without levels) fails these comparisons.
    VectorMask<Double> fits = dirty.compare(VectorOperators.EQ, 0.0)
        .and(lo.abs().compare(VectorOperators.LT, bound))
        .and(hi.abs().compare(VectorOperators.LT, bound));
    keep(b.t1, g, sums, DenseBlocks.T1, fits);
    keep(b.t2, g, sums, DenseBlocks.T2, fits);
    keep(b.u1, g, sums, DenseBlocks.U1, fits);
    keep(b.u2, g, sums, DenseBlocks.U2, fits);
    keep(b.u3, g, sums, DenseBlocks.U3, fits);
    if (levels == 4) {
      keep(b.u4, g, sums, DenseBlocks.U4, fits);
    }
    DoubleVector min = DoubleVector.fromArray(SPECIES, b.min, g);
    DoubleVector max = DoubleVector.fromArray(SPECIES, b.max, g);
    min.blend(min.min(lo), fits).intoArray(b.min, g);
    max.blend(max.max(hi), fits).intoArray(b.max, g);
    dirty.intoArray(checks, DenseBlocks.VALUE_REMAINDERS);
    return fits.allTrue();
  }

  /** {@code target[g + lane] = fits ? sums[at + lane] : target[g + lane]} for every lane. */
  private static void keep(double[] target, int g, double[] sums, int at, VectorMask<Double> fits) {
    DoubleVector.fromArray(SPECIES, target, g)
        .blend(DoubleVector.fromArray(SPECIES, sums, at), fits).intoArray(target, g);
  }

  /**
   * The values' pass: {@code x = q1 + q2 + r} over the two value levels, with r = 0 when x is on
   * the second grid; the sums of q1 and q2 go to {@link DenseBlocks#groupSums} (T1, T2), the sum of
   * |r| and the lanes' minima and maxima to {@link DenseBlocks#laneChecks}.
   *
   * <p>Minima and maxima are taken by a comparison and a blend (two instructions, where
   * {@code min}/{@code max} with Java's NaN and signed-zero rules take five): NaN does not matter
   * (its lane fails the remainder check), and a zero extreme is given its sign afterwards by
   * {@link #signZeroExtremes}, so the result is {@code Math.min}/{@code Math.max}'s in any row
   * order.
   */
  private static void sumValues(DenseBlocks b, int g, double[] buffer, int at, int stride,
      int rows) {
    DoubleVector one = DoubleVector.fromArray(SPECIES, ONES, 0);
    DoubleVector c1 = DoubleVector.fromArray(SPECIES, b.c1, g);
    DoubleVector c2 = DoubleVector.fromArray(SPECIES, b.c2, g);
    DoubleVector s1 = DoubleVector.fromArray(SPECIES, b.t1, g);
    DoubleVector s2 = DoubleVector.fromArray(SPECIES, b.t2, g);
    DoubleVector dirty = DoubleVector.zero(SPECIES);
    DoubleVector lo = DoubleVector.broadcast(SPECIES, Double.POSITIVE_INFINITY);
    DoubleVector hi = DoubleVector.broadcast(SPECIES, Double.NEGATIVE_INFINITY);
    for (int i = 0, k = at; i < rows; i++, k += stride) {
      DoubleVector x = DoubleVector.fromArray(SPECIES, buffer, k);
      DoubleVector q1 = x.lanewise(VectorOperators.FMA, one, c1).sub(c1);
      DoubleVector r = x.sub(q1);
      DoubleVector q2 = r.lanewise(VectorOperators.FMA, one, c2).sub(c2);
      r = r.sub(q2);
      s1 = s1.add(q1);
      s2 = s2.add(q2);
      dirty = dirty.add(r.abs());
      lo = lo.blend(x, x.compare(VectorOperators.LT, lo));
      hi = hi.blend(x, x.compare(VectorOperators.GT, hi));
    }
    dirty.intoArray(b.laneChecks, DenseBlocks.VALUE_REMAINDERS);
    lo.intoArray(b.laneChecks, DenseBlocks.MINIMA);
    hi.intoArray(b.laneChecks, DenseBlocks.MAXIMA);
    s1.intoArray(b.groupSums, DenseBlocks.T1);
    s2.intoArray(b.groupSums, DenseBlocks.T2);
    // The padding lanes past the last position hold zeros and need no sign: NaN there.
    DoubleVector padding = DoubleVector.fromArray(SPECIES, b.padding, g);
    if (lo.add(padding).compare(VectorOperators.EQ, 0.0)
        .or(hi.add(padding).compare(VectorOperators.EQ, 0.0)).anyTrue()) {
      signZeroExtremes(b, g, buffer, at, stride, rows);
    }
  }

  /**
   * The values' pass of {@link #sumGroupFloats}: {@code x = q1 + r} over the first value level,
   * the sums of q1 and of r to {@link DenseBlocks#groupSums} (T1, T2), the lanes' minima and maxima
   * as in {@link #sumValues}. No remainder is left to check here (a NaN shows in the squares'
   * pass, an infinity in the maxima).
   */
  private static void sumValuesOfFloats(DenseBlocks b, int g, float[] buffer, int at,
      int stride, int rows) {
    DoubleVector one = DoubleVector.fromArray(SPECIES, ONES, 0);
    DoubleVector c1 = DoubleVector.fromArray(SPECIES, b.c1, g);
    DoubleVector s1 = DoubleVector.fromArray(SPECIES, b.t1, g);
    DoubleVector s2 = DoubleVector.fromArray(SPECIES, b.t2, g);
    DoubleVector lo = DoubleVector.broadcast(SPECIES, Double.POSITIVE_INFINITY);
    DoubleVector hi = DoubleVector.broadcast(SPECIES, Double.NEGATIVE_INFINITY);
    // Two rows per step into two sets of sums and extremes: the chains of additions and of
    // comparisons and blends, not the operations, bound a step of one row.
    DoubleVector s1b = DoubleVector.zero(SPECIES);
    DoubleVector s2b = DoubleVector.zero(SPECIES);
    DoubleVector lob = lo;
    DoubleVector hib = hi;
    int i = 0;
    int k = at;
    for (; i + 1 < rows; i += 2, k += 2 * stride) {
      DoubleVector x = floats(buffer, k);
      DoubleVector y = floats(buffer, k + stride);
      DoubleVector qx = x.lanewise(VectorOperators.FMA, one, c1).sub(c1);
      DoubleVector qy = y.lanewise(VectorOperators.FMA, one, c1).sub(c1);
      s1 = s1.add(qx);
      s1b = s1b.add(qy);
      s2 = s2.add(x.sub(qx));
      s2b = s2b.add(y.sub(qy));
      lo = lo.blend(x, x.compare(VectorOperators.LT, lo));
      lob = lob.blend(y, y.compare(VectorOperators.LT, lob));
      hi = hi.blend(x, x.compare(VectorOperators.GT, hi));
      hib = hib.blend(y, y.compare(VectorOperators.GT, hib));
    }
    if (i < rows) {
      DoubleVector x = floats(buffer, k);
      DoubleVector q1 = x.lanewise(VectorOperators.FMA, one, c1).sub(c1);
      s1 = s1.add(q1);
      s2 = s2.add(x.sub(q1));
      lo = lo.blend(x, x.compare(VectorOperators.LT, lo));
      hi = hi.blend(x, x.compare(VectorOperators.GT, hi));
    }
    // exact: both halves are sums on the level's grid within its headroom
    s1 = s1.add(s1b);
    s2 = s2.add(s2b);
    lo = lo.blend(lob, lob.compare(VectorOperators.LT, lo));
    hi = hi.blend(hib, hib.compare(VectorOperators.GT, hi));
    // The rest is sumValues' ending: a method shared by both, given these vectors or reading them
    // back, made C2 box vectors of the values' passes (BENCHMARKS.md, "a float kernel").
    DoubleVector.zero(SPECIES).intoArray(b.laneChecks, DenseBlocks.VALUE_REMAINDERS);
    lo.intoArray(b.laneChecks, DenseBlocks.MINIMA);
    hi.intoArray(b.laneChecks, DenseBlocks.MAXIMA);
    s1.intoArray(b.groupSums, DenseBlocks.T1);
    s2.intoArray(b.groupSums, DenseBlocks.T2);
    // The padding lanes past the last position hold zeros and need no sign: NaN there.
    DoubleVector padding = DoubleVector.fromArray(SPECIES, b.padding, g);
    if (lo.add(padding).compare(VectorOperators.EQ, 0.0)
        .or(hi.add(padding).compare(VectorOperators.EQ, 0.0)).anyTrue()) {
      signZeroExtremes(b, g, buffer, at, stride, rows);
    }
  }

  /**
   * Gives a zero minimum the sign {@code Math.min} gives it over the block (-0.0 when a -0.0 is
   * among the values) and a zero maximum the sign {@code Math.max} gives it (+0.0 when a +0.0 is),
   * whatever the order of the rows: the comparison-and-blend of {@link #sumValues} keeps the first
   * of equal values. Reads the extremes from {@link DenseBlocks#laneChecks}; called only when one
   * is zero (checking that here instead boxes the values' pass's vectors: Java 17's C2 allocated a
   * vector per call).
   */
  private static void signZeroExtremes(DenseBlocks b, int g, double[] buffer, int at, int stride,
      int rows) {
    LongVector negativeZeros = LongVector.zero(LONGS);
    LongVector positiveZeros = LongVector.zero(LONGS);
    LongVector negativeZero = LongVector.broadcast(LONGS, Double.doubleToRawLongBits(-0.0));
    for (int i = 0, k = at; i < rows; i++, k += stride) {
      LongVector bits = DoubleVector.fromArray(SPECIES, buffer, k).reinterpretAsLongs();
      negativeZeros = negativeZeros.or(bits.compare(VectorOperators.EQ, negativeZero).toVector());
      positiveZeros = positiveZeros.or(bits.compare(VectorOperators.EQ, 0L).toVector());
    }
    negativeZeros.intoArray(b.zeroBits, 0);
    positiveZeros.intoArray(b.zeroBits, LANES);
    signZeros(b);
  }

  /**
   * {@link #signZeroExtremes(DenseBlocks, int, double[], int, int, int)} over a block of floats
   * (the same loop on the widened values: a float zero widens to a double zero of its sign). The
   * two loops differ only in how a row is loaded; a shared loop would take the running vectors
   * across a call, which C2 boxes (see {@link #sumValuesOfFloats}), so they share the ending
   * through {@link DenseBlocks#zeroBits} instead.
   */
  private static void signZeroExtremes(DenseBlocks b, int g, float[] buffer, int at, int stride,
      int rows) {
    LongVector negativeZeros = LongVector.zero(LONGS);
    LongVector positiveZeros = LongVector.zero(LONGS);
    LongVector negativeZero = LongVector.broadcast(LONGS, Double.doubleToRawLongBits(-0.0));
    for (int i = 0, k = at; i < rows; i++, k += stride) {
      LongVector bits = floats(buffer, k).reinterpretAsLongs();
      negativeZeros = negativeZeros.or(bits.compare(VectorOperators.EQ, negativeZero).toVector());
      positiveZeros = positiveZeros.or(bits.compare(VectorOperators.EQ, 0L).toVector());
    }
    negativeZeros.intoArray(b.zeroBits, 0);
    positiveZeros.intoArray(b.zeroBits, LANES);
    signZeros(b);
  }

  /**
   * Sets each zero extreme of {@link DenseBlocks#laneChecks} from the lanes' zero bits in
   * {@link DenseBlocks#zeroBits} (non-zero where a -0.0, then a +0.0, was among the values).
   */
  private static void signZeros(DenseBlocks b) {
    double[] checks = b.laneChecks;
    long[] bits = b.zeroBits;
    for (int lane = 0; lane < LANES; lane++) {
      if (checks[DenseBlocks.MINIMA + lane] == 0) {
        checks[DenseBlocks.MINIMA + lane] = bits[lane] != 0 ? -0.0 : 0.0;
      }
      if (checks[DenseBlocks.MAXIMA + lane] == 0) {
        checks[DenseBlocks.MAXIMA + lane] = bits[LANES + lane] != 0 ? 0.0 : -0.0;
      }
    }
  }

  /**
   * The squares' pass: {@code x*x = p + e} exactly ({@code e = fma(x, x, -p)}), p split over the
   * first three square levels and e over the last three; the level sums go to
   * {@link DenseBlocks#groupSums} (U1 to U4), the sum of the remainders' magnitudes to
   * {@link DenseBlocks#laneChecks}.
   */
  private static void sumSquares(DenseBlocks b, int g, double[] buffer, int at, int stride,
      int rows) {
    DoubleVector one = DoubleVector.fromArray(SPECIES, ONES, 0);
    DoubleVector k1 = DoubleVector.fromArray(SPECIES, b.k1, g);
    DoubleVector k2 = DoubleVector.fromArray(SPECIES, b.k2, g);
    DoubleVector k3 = DoubleVector.fromArray(SPECIES, b.k3, g);
    DoubleVector k4 = DoubleVector.fromArray(SPECIES, b.k4, g);
    DoubleVector w1 = DoubleVector.fromArray(SPECIES, b.u1, g);
    DoubleVector w2 = DoubleVector.fromArray(SPECIES, b.u2, g);
    DoubleVector w3 = DoubleVector.fromArray(SPECIES, b.u3, g);
    DoubleVector w4 = DoubleVector.fromArray(SPECIES, b.u4, g);
    DoubleVector dirty = DoubleVector.zero(SPECIES);
    for (int i = 0, k = at; i < rows; i++, k += stride) {
      DoubleVector x = DoubleVector.fromArray(SPECIES, buffer, k);
      DoubleVector p = x.mul(x);
      DoubleVector e = x.lanewise(VectorOperators.FMA, x, p.neg());
      DoubleVector p1 = p.lanewise(VectorOperators.FMA, one, k1).sub(k1);
      DoubleVector pr = p.sub(p1);
      DoubleVector p2 = pr.lanewise(VectorOperators.FMA, one, k2).sub(k2);
      pr = pr.sub(p2);
      DoubleVector p3 = pr.lanewise(VectorOperators.FMA, one, k3).sub(k3);
      pr = pr.sub(p3);
      DoubleVector e2 = e.lanewise(VectorOperators.FMA, one, k2).sub(k2);
      DoubleVector er = e.sub(e2);
      DoubleVector e3 = er.lanewise(VectorOperators.FMA, one, k3).sub(k3);
      er = er.sub(e3);
      DoubleVector e4 = er.lanewise(VectorOperators.FMA, one, k4).sub(k4);
      er = er.sub(e4);
      w1 = w1.add(p1);
      w2 = w2.add(p2.add(e2));
      w3 = w3.add(p3.add(e3));
      w4 = w4.add(e4);
      dirty = dirty.add(pr.abs().add(er.abs()));
    }
    dirty.intoArray(b.laneChecks, DenseBlocks.SQUARE_REMAINDERS);
    w1.intoArray(b.groupSums, DenseBlocks.U1);
    w2.intoArray(b.groupSums, DenseBlocks.U2);
    w3.intoArray(b.groupSums, DenseBlocks.U3);
    w4.intoArray(b.groupSums, DenseBlocks.U4);
  }

  /**
   * The squares' pass of {@link #sumGroupFloats}: {@code p = x*x} split over the first two square
   * levels, the rest added as it is ({@link DenseBlocks#groupSums} U1 to U3); the sum of the squares
   * below the lane's floor {@code 2^(2M-80)} ({@link DenseBlocks#squareFloor}), which is zero
   * exactly when no non-zero value is tiny and no value is NaN, to {@link DenseBlocks#laneChecks}.
   */
  private static void sumSquaresOfFloats(DenseBlocks b, int g, float[] buffer, int at,
      int stride, int rows) {
    DoubleVector one = DoubleVector.fromArray(SPECIES, ONES, 0);
    DoubleVector zero = DoubleVector.zero(SPECIES);
    DoubleVector k1 = DoubleVector.fromArray(SPECIES, b.k1, g);
    DoubleVector k2 = DoubleVector.fromArray(SPECIES, b.k2, g);
    DoubleVector floor = DoubleVector.fromArray(SPECIES, b.squareFloor, g);
    DoubleVector w1 = DoubleVector.fromArray(SPECIES, b.u1, g);
    DoubleVector w2 = DoubleVector.fromArray(SPECIES, b.u2, g);
    DoubleVector w3 = DoubleVector.fromArray(SPECIES, b.u3, g);
    DoubleVector dirty = zero;
    for (int i = 0, k = at; i < rows; i++, k += stride) {
      DoubleVector x = floats(buffer, k);
      DoubleVector p = x.mul(x);
      DoubleVector p1 = p.lanewise(VectorOperators.FMA, one, k1).sub(k1);
      DoubleVector pr = p.sub(p1);
      DoubleVector p2 = pr.lanewise(VectorOperators.FMA, one, k2).sub(k2);
      w1 = w1.add(p1);
      w2 = w2.add(p2);
      w3 = w3.add(pr.sub(p2));
      // p itself where it is below the floor or NaN (the comparison fails), else 0
      dirty = dirty.add(p.blend(zero, p.compare(VectorOperators.GE, floor)));
    }
    dirty.intoArray(b.laneChecks, DenseBlocks.SQUARE_REMAINDERS);
    w1.intoArray(b.groupSums, DenseBlocks.U1);
    w2.intoArray(b.groupSums, DenseBlocks.U2);
    w3.intoArray(b.groupSums, DenseBlocks.U3);
  }
}
