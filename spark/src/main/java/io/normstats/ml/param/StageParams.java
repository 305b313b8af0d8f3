package io.normstats.ml.param;

import io.normstats.Defaults;
import java.io.Serializable;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;

/**
 * The Param objects of one stage, by name: what the shared param traits of this package
 * ({@link HasInputCol}, {@link HasEpsilon}, ...) return from their accessors. Spark's shared
 * traits ({@code HasInputCol} and the rest in {@code org.apache.spark.ml.param.shared}) are private
 * to Spark, and a Java interface cannot hold a field, so each stage holds one of these and the
 * traits create their Param in it on first use, with the stage as its parent: the same object for
 * every call, as Spark requires.
 *
 * <p>A stage's constructor creates it and then calls {@link #initialize}, which sets the defaults
 * of every trait the stage has from {@link Defaults}, the one place where they are declared.
 */
public final class StageParams implements Serializable {
  private static final long serialVersionUID = 1L;

  private final Params stage;
  private final Map<String, Param<?>> byName = new ConcurrentHashMap<>();

  /** The params of {@code stage}, none created yet. */
  public StageParams(Params stage) {
    this.stage = stage;
  }

  /**
   * The stage's param {@code name}, created by {@code create} (given the stage as the parent) on
   * the first call.
   */
  @SuppressWarnings("unchecked")
  public <P extends Param<?>> P get(String name, Function<Params, P> create) {
    return (P) byName.computeIfAbsent(name, n -> create.apply(stage));
  }

  /**
   * Sets the defaults of the traits {@code stage} has: outputCol {@code uid + "__output"}, epsilon
   * {@link Defaults#EPSILON}, varianceMode {@link Defaults#VARIANCE_MODE}, handleInvalid
   * {@link Defaults#HANDLE_INVALID}, outputType {@link Defaults#OUTPUT_TYPE}. A stage whose
   * default differs (RMSNorm's epsilon) sets its own after this.
   */
  public static void initialize(HasStageParams stage) {
    if (stage instanceof HasOutputCol<?> s) {
      stage.setDefault(s.outputCol(), stage.uid() + "__output");
    }
    if (stage instanceof HasEpsilon<?> s) {
      stage.setDefault(s.epsilon(), (Object) Defaults.EPSILON);
    }
    if (stage instanceof HasVarianceMode<?> s) {
      stage.setDefault(s.varianceMode(), Defaults.VARIANCE_MODE);
    }
    if (stage instanceof HasHandleInvalid<?> s) {
      stage.setDefault(s.handleInvalid(), Defaults.HANDLE_INVALID);
    }
    if (stage instanceof HasOutputType<?> s) {
      stage.setDefault(s.outputType(), Defaults.OUTPUT_TYPE);
    }
  }
}
