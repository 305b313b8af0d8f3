package io.normstats.onnx.spark;

import io.normstats.onnx.ExternalData;
import io.normstats.onnx.OnnxModel;
import java.io.Serializable;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * The external data of a model over 2 GB ({@link OnnxModel#external()}) as the tasks of a job
 * reach it: broadcast once per job on a cluster (Spark's torrent broadcast, kept by each executor);
 * in local mode, where the tasks run in the driver's JVM, the driver's own copy, found by an id.
 * A broadcast there would hold the data on the heap twice more (its serialized pieces, and the
 * copy a task reads back once Spark has moved the value to disk): a 2.4 GB model ran out of a
 * 6 GB heap that way. Small and serializable: tasks carry it in their closures.
 */
public final class ShippedExternalData implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final Map<String, ExternalData.Tensors> LOCAL = new ConcurrentHashMap<>();

  private final String id;
  private final Broadcast<ExternalData.Tensors> broadcast;

  private ShippedExternalData(String id, Broadcast<ExternalData.Tensors> broadcast) {
    this.id = id;
    this.broadcast = broadcast;
  }

  /**
   * {@code model}'s external data shipped for the passes of a job, or null for a model under
   * 2 GB (nothing to ship). The caller {@link #release}s it after the last pass.
   */
  public static ShippedExternalData of(JavaSparkContext sc, OnnxModel model) {
    if (model.external().isEmpty()) {
      return null;
    }
    if (sc.isLocal()) {
      String id = UUID.randomUUID().toString();
      LOCAL.put(id, model.external());
      return new ShippedExternalData(id, null);
    }
    return new ShippedExternalData(null, sc.broadcast(model.external()));
  }

  /**
   * The data in a task (or on the driver): none for null.
   *
   * @throws IllegalStateException if it was released
   */
  public static ExternalData.Tensors tensors(ShippedExternalData shipped) {
    if (shipped == null) {
      return ExternalData.Tensors.NONE;
    }
    if (shipped.broadcast != null) {
      return shipped.broadcast.value();
    }
    ExternalData.Tensors t = LOCAL.get(shipped.id);
    if (t == null) {
      throw new IllegalStateException("the external data of a finished job");
    }
    return t;
  }

  /** Frees the broadcast, or forgets the local copy. */
  public void release() {
    if (broadcast != null) {
      broadcast.destroy();
    } else {
      LOCAL.remove(id);
    }
  }
}
