package io.normstats.exact;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The SIMD kernel of {@link DenseBlocks}: sums one group of four vector positions over the rows of a
 * block with 256-bit vectors (AVX2), by the extraction levels {@link DenseBlocks} describes.
 *
 * <p>Load this class only after {@link Simd#available()}: when the JVM does not resolve
 * {@code jdk.incubator.vector} it cannot link.
 */
final class VectorFold {
  private static final VectorSpecies<Double> SPECIES = DoubleVector.SPECIES_256;

  private VectorFold() {}

  /** The bit size of the CPU's preferred vectors (256 with AVX2). */
  static int preferredBits() {
    return DoubleVector.SPECIES_PREFERRED.vectorBitSize();
  }

  /**
   * Adds the block's values of positions g..g+3 to their partial sums and block minima and maxima.
   *
   * @return whether every lane's values fit; if not, {@link DenseBlocks#laneFits} tells which
   *     lanes did not: their partial sums are left as they were before the block, for the caller
   *     to redo exactly
   */
  static boolean sumGroup(DenseBlocks b, int g, int rows) {
    DoubleVector c1 = DoubleVector.fromArray(SPECIES, b.c1, g);
    DoubleVector c2 = DoubleVector.fromArray(SPECIES, b.c2, g);
    DoubleVector k1 = DoubleVector.fromArray(SPECIES, b.k1, g);
    DoubleVector k2 = DoubleVector.fromArray(SPECIES, b.k2, g);
    DoubleVector k3 = DoubleVector.fromArray(SPECIES, b.k3, g);
    DoubleVector k4 = DoubleVector.fromArray(SPECIES, b.k4, g);
    DoubleVector t1 = DoubleVector.fromArray(SPECIES, b.t1, g);
    DoubleVector t2 = DoubleVector.fromArray(SPECIES, b.t2, g);
    DoubleVector u1 = DoubleVector.fromArray(SPECIES, b.u1, g);
    DoubleVector u2 = DoubleVector.fromArray(SPECIES, b.u2, g);
    DoubleVector u3 = DoubleVector.fromArray(SPECIES, b.u3, g);
    DoubleVector u4 = DoubleVector.fromArray(SPECIES, b.u4, g);
    DoubleVector s1 = t1;
    DoubleVector s2 = t2;
    DoubleVector w1 = u1;
    DoubleVector w2 = u2;
    DoubleVector w3 = u3;
    DoubleVector w4 = u4;
    DoubleVector dirty = DoubleVector.zero(SPECIES);
    DoubleVector lo = DoubleVector.broadcast(SPECIES, Double.POSITIVE_INFINITY);
    DoubleVector hi = DoubleVector.broadcast(SPECIES, Double.NEGATIVE_INFINITY);
    double[] buffer = b.buffer;
    int stride = b.stride;
    for (int i = 0, k = g; i < rows; i++, k += stride) {
      DoubleVector x = DoubleVector.fromArray(SPECIES, buffer, k);
      // Values: x = q1 + q2 + r, with r = 0 when x is on the second grid.
      DoubleVector q1 = x.add(c1).sub(c1);
      DoubleVector r = x.sub(q1);
      DoubleVector q2 = r.add(c2).sub(c2);
      r = r.sub(q2);
      // Squares: x*x = p + e exactly, each split over the square levels.
      DoubleVector p = x.mul(x);
      DoubleVector e = x.lanewise(VectorOperators.FMA, x, p.neg());
      DoubleVector p1 = p.add(k1).sub(k1);
      DoubleVector pr = p.sub(p1);
      DoubleVector p2 = pr.add(k2).sub(k2);
      pr = pr.sub(p2);
      DoubleVector p3 = pr.add(k3).sub(k3);
      pr = pr.sub(p3);
      DoubleVector e2 = e.add(k2).sub(k2);
      DoubleVector er = e.sub(e2);
      DoubleVector e3 = er.add(k3).sub(k3);
      er = er.sub(e3);
      DoubleVector e4 = er.add(k4).sub(k4);
      er = er.sub(e4);
      s1 = s1.add(q1);
      s2 = s2.add(q2);
      w1 = w1.add(p1);
      w2 = w2.add(p2.add(e2));
      w3 = w3.add(p3.add(e3));
      w4 = w4.add(e4);
      dirty = dirty.add(r.abs()).add(pr.abs()).add(er.abs());
      lo = lo.min(x);
      hi = hi.max(x);
    }
    DoubleVector bound = DoubleVector.fromArray(SPECIES, b.bound, g);
    // NaN anywhere (a NaN or infinite value, or a lane without levels) fails these comparisons.
    VectorMask<Double> fits = dirty.compare(VectorOperators.EQ, 0.0)
        .and(lo.abs().compare(VectorOperators.LT, bound))
        .and(hi.abs().compare(VectorOperators.LT, bound));
    t1.blend(s1, fits).intoArray(b.t1, g);
    t2.blend(s2, fits).intoArray(b.t2, g);
    u1.blend(w1, fits).intoArray(b.u1, g);
    u2.blend(w2, fits).intoArray(b.u2, g);
    u3.blend(w3, fits).intoArray(b.u3, g);
    u4.blend(w4, fits).intoArray(b.u4, g);
    DoubleVector min = DoubleVector.fromArray(SPECIES, b.min, g);
    DoubleVector max = DoubleVector.fromArray(SPECIES, b.max, g);
    min.blend(min.min(lo), fits).intoArray(b.min, g);
    max.blend(max.max(hi), fits).intoArray(b.max, g);
    // Stored unconditionally: a vector or mask used only on the rare path would be boxed.
    dirty.intoArray(b.laneChecks, 0);
    lo.intoArray(b.laneChecks, 4);
    hi.intoArray(b.laneChecks, 8);
    return fits.allTrue();
  }

  /**
   * As {@link #sumGroup}, for blocks whose values are floats: the square of a float is exact in
   * double (24-bit significands, 48-bit products), so the rounding error {@code e} of each square
   * is zero and needs no levels of its own. The kernel checks it: a value whose square is not
   * exact (a double that is not a float) makes its lane not fit, and the block is redone value by
   * value, so the sums stay exact for any values; only the speed depends on the promise.
   */
  static boolean sumGroupFloats(DenseBlocks b, int g, int rows) {
    DoubleVector c1 = DoubleVector.fromArray(SPECIES, b.c1, g);
    DoubleVector c2 = DoubleVector.fromArray(SPECIES, b.c2, g);
    DoubleVector k1 = DoubleVector.fromArray(SPECIES, b.k1, g);
    DoubleVector k2 = DoubleVector.fromArray(SPECIES, b.k2, g);
    DoubleVector k3 = DoubleVector.fromArray(SPECIES, b.k3, g);
    DoubleVector t1 = DoubleVector.fromArray(SPECIES, b.t1, g);
    DoubleVector t2 = DoubleVector.fromArray(SPECIES, b.t2, g);
    DoubleVector u1 = DoubleVector.fromArray(SPECIES, b.u1, g);
    DoubleVector u2 = DoubleVector.fromArray(SPECIES, b.u2, g);
    DoubleVector u3 = DoubleVector.fromArray(SPECIES, b.u3, g);
    DoubleVector s1 = t1;
    DoubleVector s2 = t2;
    DoubleVector w1 = u1;
    DoubleVector w2 = u2;
    DoubleVector w3 = u3;
    DoubleVector dirty = DoubleVector.zero(SPECIES);
    DoubleVector lo = DoubleVector.broadcast(SPECIES, Double.POSITIVE_INFINITY);
    DoubleVector hi = DoubleVector.broadcast(SPECIES, Double.NEGATIVE_INFINITY);
    double[] buffer = b.buffer;
    int stride = b.stride;
    for (int i = 0, k = g; i < rows; i++, k += stride) {
      DoubleVector x = DoubleVector.fromArray(SPECIES, buffer, k);
      DoubleVector q1 = x.add(c1).sub(c1);
      DoubleVector r = x.sub(q1);
      DoubleVector q2 = r.add(c2).sub(c2);
      r = r.sub(q2);
      DoubleVector p = x.mul(x);
      DoubleVector e = x.lanewise(VectorOperators.FMA, x, p.neg()); // 0 for a float
      DoubleVector p1 = p.add(k1).sub(k1);
      DoubleVector pr = p.sub(p1);
      DoubleVector p2 = pr.add(k2).sub(k2);
      pr = pr.sub(p2);
      DoubleVector p3 = pr.add(k3).sub(k3);
      pr = pr.sub(p3);
      s1 = s1.add(q1);
      s2 = s2.add(q2);
      w1 = w1.add(p1);
      w2 = w2.add(p2);
      w3 = w3.add(p3);
      dirty = dirty.add(r.abs()).add(pr.abs()).add(e.abs());
      lo = lo.min(x);
      hi = hi.max(x);
    }
    DoubleVector bound = DoubleVector.fromArray(SPECIES, b.bound, g);
    VectorMask<Double> fits = dirty.compare(VectorOperators.EQ, 0.0)
        .and(lo.abs().compare(VectorOperators.LT, bound))
        .and(hi.abs().compare(VectorOperators.LT, bound));
    t1.blend(s1, fits).intoArray(b.t1, g);
    t2.blend(s2, fits).intoArray(b.t2, g);
    u1.blend(w1, fits).intoArray(b.u1, g);
    u2.blend(w2, fits).intoArray(b.u2, g);
    u3.blend(w3, fits).intoArray(b.u3, g);
    DoubleVector min = DoubleVector.fromArray(SPECIES, b.min, g);
    DoubleVector max = DoubleVector.fromArray(SPECIES, b.max, g);
    min.blend(min.min(lo), fits).intoArray(b.min, g);
    max.blend(max.max(hi), fits).intoArray(b.max, g);
    dirty.intoArray(b.laneChecks, 0);
    lo.intoArray(b.laneChecks, 4);
    hi.intoArray(b.laneChecks, 8);
    return fits.allTrue();
  }
}
