package io.normstats.ml;

import static io.normstats.testing.StageParamChecks.names;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.normstats.testing.StageParamChecks;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The network stages' params: the shared traits and NetworkParams, reachable from PySpark. */
class NetworkParamsTest {

  @Test
  void paramsDefaultsAndPySparkReach() {
    BatchNormRecalibration r = new BatchNormRecalibration("r_1");
    RecalibratedNetworkModel m = new RecalibratedNetworkModel("m_1");
    assertEquals(new TreeSet<>(Set.of("batchSize", "inputCol", "inputName", "layers",
        "modelPath", "outputCol", "outputName", "priorWeight", "varianceMode")), names(r));
    assertEquals(new TreeSet<>(Set.of("batchSize", "inputCol", "inputName", "outputCol",
        "outputName")), names(m));
    assertEquals(64, r.getBatchSize());
    assertEquals(64, m.getBatchSize());
    assertEquals("population", r.getVarianceMode());
    assertEquals(0.0, r.getPriorWeight());
    assertArrayEquals(new String[0], r.getLayers());
    assertEquals("r_1__output", r.getOutputCol());
    assertNull(r.getInputName());
    assertNull(m.getOutputName());
    assertThrows(IllegalArgumentException.class, () -> r.setBatchSize(0));
    assertThrows(IllegalArgumentException.class, () -> r.setPriorWeight(1.5));
    StageParamChecks.assertPySparkReachesEveryParam(r, true);
    StageParamChecks.assertPySparkReachesEveryParam(m, true);
  }
}
