package io.normstats.ml.param;

import static io.normstats.testing.StageParamChecks.names;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.ml.BatchNorm;
import io.normstats.ml.BatchNormModel;
import io.normstats.ml.LayerNorm;
import io.normstats.ml.RMSNorm;
import io.normstats.testing.StageParamChecks;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.Params;
import org.junit.jupiter.api.Test;

/**
 * The stages get their shared params from the traits of this package: Spark finds them by their
 * accessors, each accessor gives the same object owned by its stage, and the defaults are
 * PyTorch's and Spark ML's.
 */
class SharedParamsTest {

  @Test
  void sparkFindsEveryParamOnceOwnedByItsStage() {
    List<String> batchNorm = List.of("bias", "epsilon", "handleInvalid", "inputCol",
        "numChannels", "outputCol", "outputType", "varianceMode", "weight");
    BatchNorm bn = new BatchNorm("bn_1");
    BatchNormModel model = new BatchNormModel("m_1", Vectors.dense(1, 2), Vectors.dense(3, 4));
    assertEquals(new TreeSet<>(batchNorm), names(bn));
    assertEquals(new TreeSet<>(batchNorm), names(model));
    assertEquals(new TreeSet<>(List.of("bias", "epsilon", "handleInvalid", "inputCol",
        "numChannels", "numGroups", "outputCol", "outputType", "weight")), names(new LayerNorm()));
    assertEquals(new TreeSet<>(List.of("epsilon", "handleInvalid", "inputCol", "outputCol",
        "outputType", "weight")), names(new RMSNorm()));
    for (Params stage : List.of(bn, model, new LayerNorm(), new RMSNorm())) {
      for (Param<?> p : stage.params()) {
        assertEquals(stage.uid(), p.parent(), p.name());
        assertSame(p, stage.getParam(p.name()), p.name());
      }
    }
    assertSame(bn.epsilon(), bn.epsilon());
    assertFalse(bn.epsilon().equals(new BatchNorm("bn_2").epsilon()));
  }

  @Test
  void defaultsArePyTorchsAndSparkMls() {
    BatchNorm bn = new BatchNorm("bn_1");
    assertEquals(1e-5, bn.getEpsilon()); // torch.nn.BatchNorm2d(eps=1e-05)
    assertEquals("population", bn.getVarianceMode());
    assertEquals("error", bn.getHandleInvalid()); // Spark ML's default handleInvalid
    assertEquals("vector", bn.getOutputType());
    assertEquals("bn_1__output", bn.getOutputCol()); // Spark's uid + "__output"
    assertEquals(0, bn.getNumChannels());
    assertEquals(null, bn.getWeight());
    assertFalse(bn.isDefined(bn.inputCol()));
    assertEquals(1e-5, new LayerNorm().getEpsilon()); // torch.nn.LayerNorm(eps=1e-05)
    assertEquals(1, new LayerNorm().getNumGroups());
    // torch.nn.RMSNorm(eps=None): torch.finfo(torch.float64).eps = 2^-52
    assertEquals(Math.scalb(1.0, -52), new RMSNorm().getEpsilon());
  }

  @Test
  void settersValidateAndCopiesKeepValues() {
    BatchNorm bn = new BatchNorm("bn_1").setInputCol("x").setEpsilon(0.5).setNumChannels(3)
        .setHandleInvalid("skip");
    assertThrows(IllegalArgumentException.class, () -> bn.setHandleInvalid("drop"));
    assertThrows(IllegalArgumentException.class, () -> bn.setEpsilon(-1));
    assertThrows(IllegalArgumentException.class, () -> bn.setVarianceMode("unbiased"));
    assertThrows(IllegalArgumentException.class, () -> bn.setNumChannels(0));
    BatchNorm copy = bn.copy(ParamMap.empty().put(bn.epsilon(), 0.25));
    assertEquals("x", copy.getInputCol());
    assertEquals(0.25, copy.getEpsilon());
    assertEquals(0.5, bn.getEpsilon());
    assertEquals(3, copy.getNumChannels());
    assertEquals("skip", copy.getHandleInvalid());
    assertTrue(copy.epsilon() != bn.epsilon() && copy.epsilon().parent().equals("bn_1"));
    assertTrue(Arrays.stream(copy.params()).allMatch(p -> copy.hasParam(p.name())));
  }

  @Test
  void pySparkCanCallEveryAccessorGetterAndSetter() {
    for (Params stage : List.of(new BatchNorm(), new BatchNormModel("m_1"), new LayerNorm(),
        new RMSNorm())) {
      StageParamChecks.assertPySparkReachesEveryParam(stage, true);
    }
  }
}
