package io.normstats.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import io.normstats.onnx.proto.OnnxProto.NodeProto;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Values a graph computes from its initializers alone (constant subgraphs), evaluated by ONNX
 * Runtime: PyTorch's default exporter gives a Conv without bias a zero bias computed at run time
 * ({@code Expand(CastLike(0), Shape(weight)[0])}), which folding a BatchNorm into the Conv needs
 * as numbers.
 */
final class ConstantTensors {
  private ConstantTensors() {}

  /**
   * The float or double values of {@code value}, or empty if it depends on a graph input, is not
   * a float or double tensor, or ONNX Runtime cannot compute it.
   */
  static Optional<double[]> evaluate(OnnxModel model, String value) {
    Map<String, NodeProto> producer = new HashMap<>();
    model.proto().getGraph().getNodeList()
        .forEach(n -> n.getOutputList().forEach(o -> producer.put(o, n)));
    Set<String> inputs = new HashSet<>(model.dataInputs());
    ArrayDeque<String> work = new ArrayDeque<>(List.of(value));
    Set<String> seen = new HashSet<>();
    while (!work.isEmpty()) {
      String v = work.poll();
      if (!seen.add(v)) {
        continue;
      }
      if (inputs.contains(v)) {
        return Optional.empty();
      }
      NodeProto p = producer.get(v);
      if (p != null && p.getOpType().equals("CastLike")) {
        work.add(p.getInput(0)); // the second input gives only the element type
      } else if (p != null) {
        Graphs.inputsOf(p).stream().filter(i -> !i.isEmpty()).forEach(work::add);
      }
    }
    OnnxModel.Capture capture = model.capturing(List.of(value));
    OrtEnvironment env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        "normstats");
    Map<String, OnnxTensor> feed = new HashMap<>();
    try (OrtSession session = NetworkSession.create(env, capture.model().toByteArray(),
        model.external())) {
      // inputs that only lend their element type (CastLike): one item of zeros
      for (String name : capture.model().dataInputs()) {
        NetworkInput in = capture.model().input(name);
        long[] shape = in.shape().clone();
        int size = 1;
        for (int i = 0; i < shape.length; i++) {
          shape[i] = shape[i] < 0 ? 1 : shape[i];
          size = Math.multiplyExact(size, (int) shape[i]);
        }
        feed.put(name, OnnxTensor.createTensor(env, java.nio.ByteBuffer
            .allocateDirect(size * in.type().bytes()).order(java.nio.ByteOrder.nativeOrder()),
            shape, SegmentSession.javaType(in.type().onnxType())));
      }
      return values(session, feed);
    } catch (OrtException | RuntimeException e) {
      return Optional.empty();
    } finally {
      feed.values().forEach(OnnxTensor::close);
    }
  }

  private static Optional<double[]> values(OrtSession session, Map<String, OnnxTensor> feed)
      throws OrtException {
    try (OrtSession.Result result = session.run(feed)) {
      OnnxValue out = result.get(0);
      if (!(out instanceof OnnxTensor t)) {
        return Optional.empty();
      }
      int n = (int) t.getInfo().getNumElements();
      double[] values = new double[n];
      switch (t.getInfo().type) {
        case FLOAT, FLOAT16, BFLOAT16 -> { // float16 and bfloat16 widened to float, exactly
          FloatBuffer f = t.getFloatBuffer();
          for (int i = 0; i < n; i++) {
            values[i] = f.get(i);
          }
        }
        case DOUBLE -> {
          DoubleBuffer d = t.getDoubleBuffer();
          d.get(values);
        }
        default -> {
          return Optional.empty();
        }
      }
      return Optional.of(values);
    }
  }
}
