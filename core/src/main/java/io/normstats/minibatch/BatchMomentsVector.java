package io.normstats.minibatch;

import io.normstats.exact.Simd;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The SIMD kernel of {@link BatchMoments}: the same compensated two-pass formulas, {@link #LANES}
 * features per vector (8 with 512-bit vectors, 4 with 256-bit ones: {@link
 * io.normstats.exact.Simd#bits()}), about three times faster than value by value. Every lane performs exactly
 * the operations of the value-by-value code, in the same order ({@code Math.min}, {@code Math.max}
 * and {@code Math.fma} are lane-wise {@code MIN}, {@code MAX} and {@code FMA}), so the results are
 * bit-identical to it.
 *
 * <p>The running sums live in arrays, loaded and stored per row, so no vector stays live across a
 * loop: C2 (Java 17) boxes a vector or mask that does, which costs an allocation per operation.
 *
 * <p>Load this class only after {@link io.normstats.exact.Simd#available()}: when the JVM does not
 * resolve {@code jdk.incubator.vector} it cannot link.
 */
final class BatchMomentsVector {
  private static final VectorSpecies<Double> SPECIES =
      Simd.bits() == 512 ? DoubleVector.SPECIES_512 : DoubleVector.SPECIES_256;
  /** Features per vector: 8 or 4. */
  static final int LANES = Simd.lanes();

  private BatchMomentsVector() {}

  /**
   * Computes the moments of features {@code [0, end)} of the batch, {@code end} a multiple of
   * {@link #LANES}; arguments as {@link BatchMoments#compute(double[], int, int, double[],
   * double[], double[])}, with {@code f} the row stride; the scratch arrays hold at least
   * {@code end} elements.
   */
  static void compute(double[] rows, int offset, int count, int f, int end, double[] mu,
      double[] delta, double[] variance, BatchMoments.Scratch scratch) {
    centre(rows, offset, count, f, end, mu, delta, scratch.min(), scratch.max(), scratch.mean(),
        scratch.sum(), scratch.comp());
    spread(rows, offset, count, f, end, variance, scratch.min(), scratch.max(), scratch.mean(),
        scratch.sum(), scratch.comp(), scratch.sum2(), scratch.comp2());
  }

  /**
   * Adds each feature's values and squares, over the batch's rows, to {@code sum} and {@code sum2}
   * (features {@code [0, end)}): {@link BatchMoments#computeUnsignedBytes}'s one pass, whose sums
   * are exact and so the same in any order.
   */
  static void sums(double[] rows, int offset, int count, int f, int end, double[] sum,
      double[] sum2) {
    for (int i = 0, base = offset; i < count; i++, base += f) {
      for (int j = 0; j < end; j += LANES) {
        DoubleVector x = DoubleVector.fromArray(SPECIES, rows, base + j);
        DoubleVector.fromArray(SPECIES, sum, j).add(x).intoArray(sum, j);
        x.lanewise(VectorOperators.FMA, x, DoubleVector.fromArray(SPECIES, sum2, j))
            .intoArray(sum2, j);
      }
    }
  }

  /**
   * The first pass: minimum, maximum, {@code mu_B - mu} and {@code mu_B}. The rows are the outer
   * loop, each read once front to back (what the hardware prefetcher streams; going down a column
   * group of a batch of 512 rows of 784 features instead was 25% slower), the running sums in
   * {@code sum}, {@code comp}, {@code min} and {@code max}.
   */
  private static void centre(double[] rows, int offset, int count, int f, int end, double[] mu,
      double[] delta, double[] min, double[] max, double[] mean, double[] sum, double[] comp) {
    for (int j = 0; j < end; j += LANES) {
      DoubleVector first = DoubleVector.fromArray(SPECIES, rows, offset + j);
      first.intoArray(min, j);
      first.intoArray(max, j);
      DoubleVector zero = DoubleVector.zero(SPECIES);
      zero.intoArray(sum, j);
      zero.intoArray(comp, j);
    }
    for (int i = 0, base = offset; i < count; i++, base += f) {
      for (int j = 0; j < end; j += LANES) {
        DoubleVector x = DoubleVector.fromArray(SPECIES, rows, base + j);
        DoubleVector negative = DoubleVector.fromArray(SPECIES, mu, j).neg();
        DoubleVector.fromArray(SPECIES, min, j).min(x).intoArray(min, j);
        DoubleVector.fromArray(SPECIES, max, j).max(x).intoArray(max, j);
        DoubleVector d = x.add(negative); // TwoSum(x, -mu)
        DoubleVector z = d.sub(x);
        DoubleVector e = x.sub(d.sub(z)).add(negative.sub(z));
        DoubleVector s = DoubleVector.fromArray(SPECIES, sum, j);
        DoubleVector t = s.add(d); // TwoSum(sum, d)
        DoubleVector w = t.sub(s);
        DoubleVector.fromArray(SPECIES, comp, j).add(s.sub(t.sub(w)).add(d.sub(w)).add(e))
            .intoArray(comp, j);
        t.intoArray(sum, j);
      }
    }
    for (int j = 0; j < end; j += LANES) {
      DoubleVector centre = DoubleVector.fromArray(SPECIES, mu, j);
      DoubleVector lo = DoubleVector.fromArray(SPECIES, min, j);
      VectorMask<Double> constant = lo.compare(VectorOperators.EQ,
          DoubleVector.fromArray(SPECIES, max, j));
      DoubleVector offsetFromMu = DoubleVector.fromArray(SPECIES, sum, j)
          .add(DoubleVector.fromArray(SPECIES, comp, j)).div(count);
      offsetFromMu.blend(lo.sub(centre), constant).intoArray(delta, j);
      centre.add(offsetFromMu).blend(lo, constant).intoArray(mean, j);
    }
  }

  /**
   * The second pass: the biased variance around the batch mean, 0 for a constant batch; the rows
   * outermost, the running sums in the four scratch arrays.
   */
  private static void spread(double[] rows, int offset, int count, int f, int end,
      double[] variance, double[] min, double[] max, double[] mean, double[] sum, double[] comp,
      double[] sum2, double[] comp2) {
    for (int j = 0; j < end; j += LANES) {
      DoubleVector zero = DoubleVector.zero(SPECIES);
      zero.intoArray(sum, j);
      zero.intoArray(comp, j);
      zero.intoArray(sum2, j);
      zero.intoArray(comp2, j);
    }
    for (int i = 0, base = offset; i < count; i++, base += f) {
      for (int j = 0; j < end; j += LANES) {
        DoubleVector e = DoubleVector.fromArray(SPECIES, rows, base + j)
            .sub(DoubleVector.fromArray(SPECIES, mean, j));
        DoubleVector s = DoubleVector.fromArray(SPECIES, sum, j);
        DoubleVector t = s.add(e);
        DoubleVector w = t.sub(s);
        DoubleVector.fromArray(SPECIES, comp, j).add(s.sub(t.sub(w)).add(e.sub(w)))
            .intoArray(comp, j);
        t.intoArray(sum, j);
        DoubleVector p = e.mul(e);
        DoubleVector pe = e.lanewise(VectorOperators.FMA, e, p.neg());
        DoubleVector s2 = DoubleVector.fromArray(SPECIES, sum2, j);
        DoubleVector t2 = s2.add(p);
        DoubleVector w2 = t2.sub(s2);
        DoubleVector.fromArray(SPECIES, comp2, j).add(s2.sub(t2.sub(w2)).add(p.sub(w2)).add(pe))
            .intoArray(comp2, j);
        t2.intoArray(sum2, j);
      }
    }
    for (int j = 0; j < end; j += LANES) {
      VectorMask<Double> constant = DoubleVector.fromArray(SPECIES, min, j)
          .compare(VectorOperators.EQ, DoubleVector.fromArray(SPECIES, max, j));
      DoubleVector c = DoubleVector.fromArray(SPECIES, sum, j)
          .add(DoubleVector.fromArray(SPECIES, comp, j));
      DoubleVector s = DoubleVector.fromArray(SPECIES, sum2, j)
          .add(DoubleVector.fromArray(SPECIES, comp2, j));
      s.sub(c.mul(c).div(count)).div(count).max(0.0).blend(0.0, constant).intoArray(variance, j);
    }
  }
}
