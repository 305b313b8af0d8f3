package io.normstats.ml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.List;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeSet;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.Params;
import org.junit.jupiter.api.Test;

/**
 * The stages are registered as Spark Connect's ML server finds them: ServiceLoader providers of
 * Estimator and Transformer (which need a public no-argument constructor), built with the
 * {@code (String uid)} constructor, loaded with a static {@code load(String)}.
 */
class ConnectRegistrationTest {

  private static Set<String> providers(Class<?> service) {
    Set<String> names = new TreeSet<>();
    ServiceLoader.load(service).stream().map(p -> p.type().getName())
        .filter(n -> n.startsWith("io.normstats.")).forEach(names::add);
    return names;
  }

  @Test
  void everyStageIsAProviderWithTheConstructorsAndLoadConnectCalls() throws Exception {
    assertEquals(Set.of("io.normstats.ml.BatchNorm", "io.normstats.ml.BatchNormRecalibration"),
        providers(Estimator.class));
    assertEquals(Set.of("io.normstats.ml.BatchNormModel", "io.normstats.ml.LayerNorm",
        "io.normstats.ml.RMSNorm", "io.normstats.ml.RecalibratedNetworkModel"),
        providers(Transformer.class));
    // A provider needs a public no-argument constructor (ServiceLoader checks it while listing).
    for (Class<?> service : List.of(Estimator.class, Transformer.class)) {
      ServiceLoader.load(service).stream()
          .filter(p -> p.type().getName().startsWith("io.normstats."))
          .forEach(p -> assertEquals(p.type(), p.get().getClass()));
    }
    for (String name : new TreeSet<>(Set.of("io.normstats.ml.BatchNorm",
        "io.normstats.ml.BatchNormRecalibration", "io.normstats.ml.BatchNormModel",
        "io.normstats.ml.LayerNorm", "io.normstats.ml.RMSNorm",
        "io.normstats.ml.RecalibratedNetworkModel"))) {
      Class<?> c = Class.forName(name);
      Params p = (Params) c.getConstructor(String.class).newInstance("uid_1");
      assertEquals("uid_1", p.uid(), name);
      Method load = c.getMethod("load", String.class);
      assertTrue(Modifier.isStatic(load.getModifiers()), name + ".load is static");
      assertTrue(c.isAssignableFrom(load.getReturnType()), name + ".load returns the stage");
    }
  }

  @Test
  void aModelBuiltForTheRegistryRefusesToTransformOrSave() {
    BatchNormModel bn = new BatchNormModel("bn_1");
    assertEquals(0, bn.mean().size());
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> bn.transformSchema(new org.apache.spark.sql.types.StructType()));
    assertTrue(e.getMessage().contains("has no statistics"), e.getMessage());
    assertThrows(IllegalStateException.class, bn::write);
    RecalibratedNetworkModel net = new RecalibratedNetworkModel("net_1");
    assertThrows(IllegalStateException.class, net::onnxModel);
    assertThrows(IllegalStateException.class, net::write);
  }
}
