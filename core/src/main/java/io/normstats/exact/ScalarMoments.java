package io.normstats.exact;

import java.math.BigInteger;
import java.nio.ByteBuffer;

/**
 * The exact moments of one column as a SQL aggregate sees it: nulls, NaN and infinities counted,
 * finite values summed exactly ({@link WindowedSum}), in a state small enough for one per group.
 *
 * <p>Semantics (those of Spark's {@code avg}, {@code var_pop}, {@code var_samp}): {@link #count()}
 * is the non-null values; with none, every statistic is undefined (SQL NULL); with a NaN or an
 * infinity among them, mean and variances are NaN; var_samp of one value is undefined. Otherwise
 * mean = S1/n, var_pop = (n S2 - S1^2)/n^2, var_samp = (n S2 - S1^2)/(n(n-1)) over the exact sums,
 * each rounded once to the nearest double ({@link ExactMoments}); the standard deviations are the
 * correctly rounded square roots of the exact variances. min and max follow Spark's ordering of
 * doubles: NaN above +Infinity.
 *
 * <p>Serialized ({@link #write}, format version 1): 1 byte of version; the finite, null, NaN,
 * +Infinity and -Infinity counts as unsigned LEB128 variable-length integers; the finite values'
 * min and max as big-endian doubles (16 bytes, only when there is a finite value); the sum and
 * the sum of squares as {@link WindowedSum#write} writes them. Size (4 bytes each plus 4 per chunk): about
 * 45 to 62 bytes for a group of a few values of similar magnitude, never the 1.7 KB of a full
 * {@link MomentAccumulator} feature.
 */
public final class ScalarMoments {
  private static final byte VERSION = 1;

  private long finite;
  private long nulls;
  private long nans;
  private long positiveInfinities;
  private long negativeInfinities;
  /** The smallest and largest finite values. */
  private double min = Double.POSITIVE_INFINITY;
  private double max = Double.NEGATIVE_INFINITY;
  private final WindowedSum sum = WindowedSum.ofValues();
  private final WindowedSum squares = WindowedSum.ofSquares();

  /** Adds one value: finite values to the sums, NaN and infinities counted. */
  public void add(double x) {
    if (Double.isFinite(x)) {
      finite++;
      sum.add(x);
      squares.addSquare(x);
      if (x < min) {
        min = x;
      }
      if (x > max) {
        max = x;
      }
    } else if (Double.isNaN(x)) {
      nans++;
    } else if (x > 0) {
      positiveInfinities++;
    } else {
      negativeInfinities++;
    }
  }

  /** Counts one null (left out of every statistic). */
  public void addNull() {
    nulls++;
  }

  /** Counts {@code n} nulls. */
  public void addNulls(long n) {
    nulls += n;
  }

  /**
   * A state from the parts of an exact accumulation ({@link MomentAccumulator#state(int)}): the
   * finite values' count, min, max and exact sums (in units of 2^-1074 and 2^-2274, as
   * {@link ExactSums}), the nulls, and the NaN and infinite values (counted as NaN here).
   */
  static ScalarMoments ofParts(long finite, long nulls, long invalid, double min, double max,
      BigInteger sum, BigInteger sumOfSquares) {
    ScalarMoments m = new ScalarMoments();
    m.finite = finite;
    m.nulls = nulls;
    m.nans = invalid;
    if (finite > 0) {
      m.min = min;
      m.max = max;
    }
    m.sum.set(sum);
    m.squares.set(sumOfSquares);
    return m;
  }

  /** Adds everything {@code other} holds, exactly. */
  public void merge(ScalarMoments other) {
    finite += other.finite;
    nulls += other.nulls;
    nans += other.nans;
    positiveInfinities += other.positiveInfinities;
    negativeInfinities += other.negativeInfinities;
    min = Math.min(min, other.min);
    max = Math.max(max, other.max);
    sum.merge(other.sum);
    squares.merge(other.squares);
  }

  /** The non-null values, NaN and infinities included (SQL's {@code count(col)}). */
  public long count() {
    return finite + nanCount();
  }

  /** The nulls seen. */
  public long nullCount() {
    return nulls;
  }

  /** The NaN and infinite values seen (as the stats job's nan_count). */
  public long nanCount() {
    return nans + positiveInfinities + negativeInfinities;
  }

  /** Whether there is no non-null value: every statistic is NULL. */
  public boolean isEmpty() {
    return count() == 0;
  }

  private boolean poisoned() {
    return nanCount() > 0;
  }

  /** The exact moments of the finite values. */
  public ExactMoments exact() {
    return new ExactMoments(finite, sum.toBigInteger(), sum.unitExponent(),
        squares.toBigInteger(), squares.unitExponent());
  }

  /** The correctly rounded mean; NaN with a NaN or infinity; undefined (NaN) when empty. */
  public double mean() {
    return poisoned() || finite == 0 ? Double.NaN
        : CorrectRounding.divide(sum.toBigInteger(), BigInteger.valueOf(finite),
            sum.unitExponent());
  }

  /** The correctly rounded population variance (see {@link #mean()}). */
  public double varPop() {
    return poisoned() || finite == 0 ? Double.NaN : exact().varPop();
  }

  /** The correctly rounded sample variance; undefined (NaN) for fewer than 2 values. */
  public double varSamp() {
    return poisoned() || finite < 2 ? Double.NaN : exact().varSamp();
  }

  /** The correctly rounded square root of the exact population variance. */
  public double stdPop() {
    return poisoned() || finite == 0 ? Double.NaN : exact().stdPop();
  }

  /** The correctly rounded square root of the exact sample variance. */
  public double stdSamp() {
    return poisoned() || finite < 2 ? Double.NaN : exact().stdSamp();
  }

  /** The smallest non-null value in Spark's ordering (NaN above +Infinity); NaN when empty. */
  public double min() {
    return negativeInfinities > 0 ? Double.NEGATIVE_INFINITY : finite > 0 ? min
        : positiveInfinities > 0 ? Double.POSITIVE_INFINITY : Double.NaN;
  }

  /** The largest non-null value in Spark's ordering: NaN if there is one; NaN when empty. */
  public double max() {
    return nans > 0 ? Double.NaN : positiveInfinities > 0 ? Double.POSITIVE_INFINITY
        : finite > 0 ? max : negativeInfinities > 0 ? Double.NEGATIVE_INFINITY : Double.NaN;
  }

  /**
   * The statistics as the stats job reports them: over the finite values only (count, mean,
   * variances, standard deviations, min and max; NaN where undefined), with the nulls and the NaN
   * and infinite values counted apart.
   */
  public FeatureMoments toFeatureMoments() {
    if (finite == 0) {
      return new FeatureMoments(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
          Double.NaN, Double.NaN, nulls, nanCount());
    }
    ExactMoments e = exact();
    return new FeatureMoments(finite, e.mean(), e.varPop(), e.varSamp(), e.stdPop(), e.stdSamp(),
        min, max, nulls, nanCount());
  }

  /** The bytes {@link #write} writes. */
  public int serializedSize() {
    int size = 1 + varLongSize(finite) + varLongSize(nulls) + varLongSize(nans)
        + varLongSize(positiveInfinities) + varLongSize(negativeInfinities);
    if (finite > 0) {
      size += 16;
    }
    return size + sum.serializedSize() + squares.serializedSize();
  }

  /** Writes the state (format version 1) into {@code out}, which has serializedSize() bytes left. */
  public void write(ByteBuffer out) {
    out.put(VERSION);
    putVarLong(out, finite);
    putVarLong(out, nulls);
    putVarLong(out, nans);
    putVarLong(out, positiveInfinities);
    putVarLong(out, negativeInfinities);
    if (finite > 0) {
      out.putDouble(min);
      out.putDouble(max);
    }
    sum.write(out);
    squares.write(out);
  }

  /** The state as bytes. */
  public byte[] toBytes() {
    ByteBuffer out = ByteBuffer.allocate(serializedSize());
    write(out);
    return out.array();
  }

  /**
   * Reads a state {@link #write} wrote.
   *
   * @throws IllegalArgumentException if the bytes are not a state of this format version
   */
  public static ScalarMoments read(ByteBuffer in) {
    byte version = in.get();
    if (version != VERSION) {
      throw new IllegalArgumentException("exact moments state of format version " + version
          + ", expected " + VERSION);
    }
    ScalarMoments m = new ScalarMoments();
    m.finite = getVarLong(in);
    m.nulls = getVarLong(in);
    m.nans = getVarLong(in);
    m.positiveInfinities = getVarLong(in);
    m.negativeInfinities = getVarLong(in);
    if (m.finite > 0) {
      m.min = in.getDouble();
      m.max = in.getDouble();
    }
    m.sum.read(in);
    m.squares.read(in);
    return m;
  }

  /** The state of {@code bytes} ({@link #toBytes()}). */
  public static ScalarMoments fromBytes(byte[] bytes) {
    return read(ByteBuffer.wrap(bytes));
  }

  /**
   * Two states are equal when they hold the same counts, extremes and exact sums (their
   * serialized forms, which are canonical, are equal).
   */
  @Override
  public boolean equals(Object o) {
    return o instanceof ScalarMoments other && java.util.Arrays.equals(toBytes(), other.toBytes());
  }

  @Override
  public int hashCode() {
    return java.util.Arrays.hashCode(toBytes());
  }

  @Override
  public String toString() {
    return "ScalarMoments[count=" + count() + ", nulls=" + nulls + ", nan/inf=" + nanCount() + "]";
  }

  private static int varLongSize(long v) {
    int n = 1;
    while ((v >>>= 7) != 0) {
      n++;
    }
    return n;
  }

  private static void putVarLong(ByteBuffer out, long v) {
    while ((v & ~0x7FL) != 0) {
      out.put((byte) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    out.put((byte) v);
  }

  private static long getVarLong(ByteBuffer in) {
    long v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      byte b = in.get();
      v |= (long) (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        return v;
      }
    }
    throw new IllegalArgumentException("malformed count in an exact moments state");
  }
}
