package io.normstats.exact;

import jdk.incubator.vector.DoubleVector;

/**
 * Whether this JVM runs normstats' SIMD kernels, and with which vectors: the JDK's incubating
 * Vector API ({@code jdk.incubator.vector}, which Spark 4 adds to every driver and executor JVM,
 * and {@code jobs/normstats} to its own) is resolved, the CPU has 256-bit vectors (AVX2), and
 * {@code -Dnormstats.simd=false} is not set. Every kernel has a value-by-value twin that gives
 * bit-identical results; this only decides the speed.
 *
 * <p>The kernels use 512-bit vectors (8 doubles) where the CPU has them (AVX-512), else 256-bit
 * ones (4 doubles); {@code -Dnormstats.simd.bits=256} forces the narrower ones (any other value
 * leaves the CPU's). Every kernel of a JVM uses the same width: Java 17's C2 compiles the Vector
 * API's shared methods by their JVM-wide type profile, and once they have seen two vector shapes
 * it stops compiling them to vector instructions for one of them (BENCHMARKS.md, "512-bit
 * kernels"). The width decides only how many positions a kernel sums at a time, never the results
 * or the state a task sends.
 */
public final class Simd {
  private static final boolean AVAILABLE = probe();
  private static final int BITS = AVAILABLE ? chooseBits() : 0;

  private Simd() {}

  /** Whether the SIMD kernels are available and enabled in this JVM (decided once). */
  public static boolean available() {
    return AVAILABLE;
  }

  /** The kernels' vector size in bits: 512 or 256, 0 if they are not {@link #available()}. */
  public static int bits() {
    return BITS;
  }

  /** The doubles a kernel's vector holds: 8 or 4 (4 also when the kernels are not available). */
  public static int lanes() {
    return BITS == 512 ? 8 : 4;
  }

  /**
   * The CPU's preferred vector size, in a class of its own: Simd itself must load where
   * {@code jdk.incubator.vector} is not resolved, and the kernels' classes read {@link #bits()}
   * when they are initialized, so they must not be the ones probed.
   */
  private static final class Preferred {
    static int bits() {
      return DoubleVector.SPECIES_PREFERRED.vectorBitSize();
    }
  }

  static boolean probe() {
    if (!Boolean.parseBoolean(System.getProperty("normstats.simd", "true"))
        || ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
      return false;
    }
    try {
      return Preferred.bits() >= 256;
    } catch (LinkageError e) {
      return false;
    }
  }

  /**
   * 512 where the CPU's preferred vectors have that many bits, unless
   * {@code -Dnormstats.simd.bits=256}; else 256.
   */
  private static int chooseBits() {
    boolean narrow = "256".equals(System.getProperty("normstats.simd.bits", "").trim());
    return !narrow && Preferred.bits() >= 512 ? 512 : 256;
  }
}
