package io.normstats.exact;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

class SimdTest {
  private static String vmOption(String name) {
    return ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class).getVMOption(name)
        .getValue();
  }

  /** The flag's value, or null where this JVM has no such flag (UseAVX off x86). */
  private static String vmOptionOrNull(String name) {
    try {
      return vmOption(name);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /**
   * The kernels' width follows the CPU and {@code -Dnormstats.simd.bits}: the test JVMs run the
   * kernel tests once with the CPU's width and once forced to 256 bits (pom.xml, surefire's
   * {@code narrow-vectors} execution), and this is what makes sure the second run does test the
   * 4-lane kernels.
   */
  @Test
  void theKernelsWidthFollowsTheCpuAndTheProperty() {
    assertTrue(Simd.available(), "the SIMD kernels are not available in this JVM");
    // independently of the Vector API's species: the JIT's own flags say what vectors C2 emits
    // (UseAVX=3 is AVX-512 on x86; MaxVectorSize is in bytes)
    int maxVectorBytes = Integer.parseInt(vmOption("MaxVectorSize"));
    String avx = vmOptionOrNull("UseAVX");
    boolean wide = maxVectorBytes >= 64 && (avx == null || Integer.parseInt(avx) >= 3);
    int expected = "256".equals(System.getProperty("normstats.simd.bits")) || !wide ? 256 : 512;
    assertEquals(expected, Simd.bits());
    assertEquals(expected / 64, Simd.lanes());
    assertEquals(expected / 64, DenseBlocks.LANES);
    assertEquals(4, MomentAccumulator.RUN_LANES, "the state's layout must not follow the CPU");
    if (Boolean.getBoolean("normstats.test.narrow")) {
      assertEquals(256, Simd.bits(), "the narrow-vectors execution runs the 256-bit kernels");
    }
  }
}
