package io.normstats.exact;

/**
 * Whether this JVM runs normstats' SIMD kernels: the JDK's incubating Vector API
 * ({@code jdk.incubator.vector}, which Spark 4 adds to every driver and executor JVM, and
 * {@code jobs/normstats} to its own) is resolved, the CPU has 256-bit vectors (AVX2), and
 * {@code -Dnormstats.simd=false} is not set. Every kernel has a value-by-value twin that gives
 * bit-identical results; this only decides the speed.
 */
public final class Simd {
  private static final boolean AVAILABLE = probe();

  private Simd() {}

  /** Whether the SIMD kernels are available and enabled in this JVM (decided once). */
  public static boolean available() {
    return AVAILABLE;
  }

  static boolean probe() {
    if (!Boolean.parseBoolean(System.getProperty("normstats.simd", "true"))
        || ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
      return false;
    }
    try {
      return VectorFold.preferredBits() >= 256;
    } catch (LinkageError e) {
      return false;
    }
  }
}
