package io.normstats.exact;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jdk.incubator.vector.DoubleVector;
import org.junit.jupiter.api.Test;

class SimdTest {
  /**
   * The kernels' width follows the CPU and {@code -Dnormstats.simd.bits}: the test JVMs run the
   * kernel tests once with the CPU's width and once forced to 256 bits (pom.xml, surefire's
   * {@code narrow-vectors} execution), and this is what makes sure the second run does test the
   * 4-lane kernels.
   */
  @Test
  void theKernelsWidthFollowsTheCpuAndTheProperty() {
    assertTrue(Simd.available(), "the SIMD kernels are not available in this JVM");
    int preferred = DoubleVector.SPECIES_PREFERRED.vectorBitSize() >= 512 ? 512 : 256;
    int expected = "256".equals(System.getProperty("normstats.simd.bits")) ? 256 : preferred;
    assertEquals(expected, Simd.bits());
    assertEquals(expected / 64, Simd.lanes());
    assertEquals(expected / 64, DenseBlocks.LANES);
    assertEquals(4, MomentAccumulator.RUN_LANES, "the state's layout must not follow the CPU");
    if (Boolean.getBoolean("normstats.test.narrow")) {
      assertEquals(256, Simd.bits(), "the narrow-vectors execution runs the 256-bit kernels");
    }
  }
}
