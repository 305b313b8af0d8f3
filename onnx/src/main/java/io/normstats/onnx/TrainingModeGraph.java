package io.normstats.onnx;

import static io.normstats.onnx.Graphs.initializerMap;
import static io.normstats.onnx.Graphs.isBatchNorm;
import static io.normstats.onnx.Graphs.node;
import static io.normstats.onnx.Graphs.reduceMean;
import static io.normstats.onnx.Graphs.uniqueName;

import io.normstats.onnx.proto.OnnxProto.GraphProto;
import io.normstats.onnx.proto.OnnxProto.ModelProto;
import io.normstats.onnx.proto.OnnxProto.NodeProto;
import io.normstats.onnx.proto.OnnxProto.TensorProto;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The graph rewrite behind {@link OnnxModel#withBatchNormsInTrainingMode()}: every
 * BatchNormalization replaced by standard operators that normalize with the statistics of the
 * batch being run, {@code Y = (X - mean_B) / sqrt(var_B + epsilon) * scale + B} over the batch's
 * items and positions (training-mode BatchNorm, what fvcore's PreciseBN sees upstream of the
 * layer it measures).
 */
final class TrainingModeGraph {
  private TrainingModeGraph() {}

  /** The model with its BatchNormalizations in training mode. */
  static OnnxModel of(OnnxModel model) {
    ModelProto proto = model.proto();
    GraphProto g = proto.getGraph();
    int opset = model.opsetVersion();
    GraphProto.Builder b = g.toBuilder().clearNode();
    Map<String, TensorProto> initializers = initializerMap(g);
    Set<String> taken = new HashSet<>(initializers.keySet());
    String flat = uniqueName("normstats_shape_n_c_rest", taken);
    b.addInitializer(Tensors.int64(flat, new long[] {0, 0, -1}));
    String axes = uniqueName("normstats_axes_0_2", taken);
    if (opset >= 18) {
      b.addInitializer(Tensors.int64(axes, new long[] {0, 2}));
    }
    Map<String, BatchNormLayer> byOutput = new HashMap<>();
    model.batchNorms().forEach(l -> byOutput.put(l.output(), l));
    for (NodeProto n : model.order()) {
      BatchNormLayer layer = isBatchNorm(n) ? byOutput.get(n.getOutput(0)) : null;
      if (layer == null) {
        b.addNode(n);
        continue;
      }
      String p = "normstats_train_" + layer.node().replaceAll("[^A-Za-z0-9_]", "_") + "_";
      ElementType type = layer.statsType();
      String eps = p + "epsilon";
      b.addInitializer(Tensors.of(eps, type, new double[] {type.nearest((float) layer.epsilon())},
          List.of()));
      String scale = p + "scale_c1";
      String bias = p + "bias_c1";
      TensorProto scaleTensor = initializers.get(layer.scale());
      TensorProto biasTensor = initializers.get(layer.bias());
      b.addInitializer(Tensors.of(scale, ElementType.of(scaleTensor.getDataType()),
          layer.scaleValues(), List.of((long) layer.channels(), 1L)));
      b.addInitializer(Tensors.of(bias, ElementType.of(biasTensor.getDataType()),
          layer.biasValues(), List.of((long) layer.channels(), 1L)));
      String x = layer.input();
      b.addNode(node("Shape", p + "shape", List.of(x), p + "x_shape"));
      b.addNode(node("Reshape", p + "flatten", List.of(x, flat), p + "x3"));
      b.addNode(reduceMean(p + "mean", p + "x3", axes, opset, p + "batch_mean"));
      b.addNode(node("Sub", p + "center", List.of(p + "x3", p + "batch_mean"), p + "d"));
      b.addNode(node("Mul", p + "square", List.of(p + "d", p + "d"), p + "d2"));
      b.addNode(reduceMean(p + "var", p + "d2", axes, opset, p + "batch_var"));
      b.addNode(node("Add", p + "add_eps", List.of(p + "batch_var", eps), p + "var_eps"));
      b.addNode(node("Sqrt", p + "std", List.of(p + "var_eps"), p + "batch_std"));
      b.addNode(node("Div", p + "normalize", List.of(p + "d", p + "batch_std"), p + "x_hat"));
      b.addNode(node("Mul", p + "scale", List.of(p + "x_hat", scale), p + "scaled"));
      b.addNode(node("Add", p + "shift", List.of(p + "scaled", bias), p + "y3"));
      b.addNode(node("Reshape", p + "unflatten", List.of(p + "y3", p + "x_shape"),
          layer.output()));
    }
    return model.edited(proto.toBuilder().setGraph(b).build());
  }
}
