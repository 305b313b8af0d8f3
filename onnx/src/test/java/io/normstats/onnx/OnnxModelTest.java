package io.normstats.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.InputException;
import io.normstats.onnx.proto.OnnxProto.AttributeProto;
import io.normstats.onnx.proto.OnnxProto.GraphProto;
import io.normstats.onnx.proto.OnnxProto.ModelProto;
import io.normstats.onnx.proto.OnnxProto.NodeProto;
import io.normstats.onnx.proto.OnnxProto.TensorProto;
import io.normstats.testing.OnnxGraphs;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class OnnxModelTest {
  private static final OnnxModel SAMPLE = OnnxModel.parse(OnnxGraphs.sampleModelBytes(), "sample");

  /** A float initializer's values, decoded here independently of OnnxModel. */
  private static float[] floats(ModelProto m, String name) {
    for (TensorProto t : m.getGraph().getInitializerList()) {
      if (t.getName().equals(name)) {
        ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
      }
    }
    throw new AssertionError("no initializer " + name);
  }

  private static double[] widen(float[] f) {
    double[] d = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      d[i] = f[i];
    }
    return d;
  }

  @Test
  void findsTheSampleCnnsLayersAndLevels() throws Exception {
    List<BatchNormLayer> layers = SAMPLE.requireBatchNorms();
    assertEquals(List.of("/bn1/BatchNormalization", "/bn2/BatchNormalization",
        "/bn3/BatchNormalization"), layers.stream().map(BatchNormLayer::node).toList());
    assertEquals(List.of("/conv1/Conv_output_0", "/conv2/Conv_output_0", "/fc1/Gemm_output_0"),
        layers.stream().map(BatchNormLayer::input).toList());
    assertEquals(List.of(0, 1, 2), layers.stream().map(BatchNormLayer::level).toList());
    assertEquals(List.of(16, 32, 64), layers.stream().map(BatchNormLayer::channels).toList());
    assertEquals(3, SAMPLE.levels());
    ModelProto proto = ModelProto.parseFrom(OnnxGraphs.sampleModelBytes());
    for (BatchNormLayer l : layers) {
      assertEquals((double) 1e-5f, l.epsilon());
      assertEquals(ElementType.FLOAT, l.statsType());
      String prefix = l.node().substring(1, 4); // bn1, bn2, bn3: PyTorch's state-dict keys
      assertEquals(prefix + ".running_mean", l.mean());
      assertEquals(prefix + ".running_var", l.variance());
      assertArrayEquals(widen(floats(proto, l.mean())), l.storedMean());
      assertArrayEquals(widen(floats(proto, l.variance())), l.storedVariance());
      assertArrayEquals(widen(floats(proto, l.scale())), l.scaleValues());
      assertArrayEquals(widen(floats(proto, l.bias())), l.biasValues());
    }
    NetworkInput in = SAMPLE.input(null);
    assertEquals("image", in.name());
    assertEquals(ElementType.FLOAT, in.type());
    assertArrayEquals(new long[] {-1, 1, 28, 28}, in.shape());
    assertArrayEquals(new long[] {1, 28, 28}, in.itemShape(784));
    InputException e = assertThrows(InputException.class, () -> in.itemShape(783));
    assertEquals(InputException.USAGE, e.exitCode());
    assertEquals("the input rows have 783 values, but the model's input 'image' has shape "
        + "[N, 1, 28, 28] (784 values per row)", e.getMessage());
    assertEquals(List.of("logits"), SAMPLE.outputs());
  }

  @Test
  void levelsOfABuiltGraphWithAResidualBlock() {
    OnnxModel m = OnnxModel.parse(OnnxGraphs.residualMlp(8, 1), "mlp");
    Map<String, Integer> levels = new HashMap<>();
    m.batchNorms().forEach(l -> levels.put(l.node(), l.level()));
    // bn_c and bn_d normalize the two branches of the residual block: one level; bn_e their sum
    assertEquals(Map.of("bn_a", 0, "bn_b", 1, "bn_c", 2, "bn_d", 2, "bn_e", 3), levels);
    assertEquals(4, m.levels());
  }

  @Test
  void levelsDoNotDependOnTheNodeOrderInTheFile() {
    ModelProto p = OnnxGraphs.residualMlpGraph(8, 1, 17);
    List<NodeProto> reversed = new java.util.ArrayList<>(p.getGraph().getNodeList());
    java.util.Collections.reverse(reversed);
    ModelProto shuffled = p.toBuilder().setGraph(p.getGraph().toBuilder().clearNode()
        .addAllNode(reversed)).build();
    OnnxModel m = OnnxModel.parse(shuffled.toByteArray(), "reversed");
    // a topological order: the two branches may come either way round
    List<String> names = m.batchNorms().stream().map(BatchNormLayer::node).toList();
    assertEquals(List.of("bn_a", "bn_b"), names.subList(0, 2));
    assertEquals(java.util.Set.of("bn_c", "bn_d"), java.util.Set.copyOf(names.subList(2, 4)));
    assertEquals("bn_e", names.get(4));
    assertEquals(List.of(0, 1, 2, 2, 3), m.batchNorms().stream().map(BatchNormLayer::level)
        .toList());
  }

  @Test
  void captureKeepsOnlyWhatComputesTheTensors() throws Exception {
    OnnxModel.Capture c = SAMPLE.capturing(List.of("/conv1/Conv_output_0"));
    ModelProto p = ModelProto.parseFrom(c.model().toByteArray());
    assertEquals(List.of("Constant", "Mul", "Conv"),
        p.getGraph().getNodeList().stream().map(NodeProto::getOpType).toList());
    assertEquals(List.of("conv1.weight", "conv1.bias"),
        p.getGraph().getInitializerList().stream().map(TensorProto::getName).toList());
    assertEquals(List.of("/conv1/Conv_output_0"), c.outputs());
    assertEquals(List.of("/conv1/Conv_output_0"), c.model().outputs());
    assertEquals(List.of("image"), c.model().dataInputs());

    OnnxModel.Capture all = SAMPLE.capturing(SAMPLE.batchNorms().stream()
        .map(BatchNormLayer::input).toList());
    ModelProto q = ModelProto.parseFrom(all.model().toByteArray());
    assertEquals(12, q.getGraph().getNodeCount()); // all but bn3 and the Relu and Gemm after it
    assertTrue(q.getGraph().getNodeList().stream().noneMatch(n -> n.getName().equals("/fc2/Gemm")));

    // A graph input is captured through an Identity node.
    OnnxModel.Capture input = SAMPLE.capturing(List.of("image"));
    assertEquals(List.of("image__normstats_capture"), input.outputs());
    assertThrows(IllegalArgumentException.class, () -> SAMPLE.capturing(List.of("nothing")));
  }

  @Test
  void replacingStatisticsChangesOnlyThoseInitializers() throws Exception {
    BatchNormLayer bn2 = SAMPLE.batchNorms().get(1);
    double[] mean = new double[32];
    double[] var = new double[32];
    for (int c = 0; c < 32; c++) {
      mean[c] = (float) (c * 0.1);
      var[c] = (float) (1 + c);
    }
    OnnxModel replaced = SAMPLE.withStatistics(Map.of(bn2.node(), new double[][] {mean, var}));
    ModelProto before = ModelProto.parseFrom(SAMPLE.toByteArray());
    ModelProto after = ModelProto.parseFrom(replaced.toByteArray());
    assertEquals(before.getGraph().getNodeList(), after.getGraph().getNodeList());
    assertEquals(before.getGraph().getInputList(), after.getGraph().getInputList());
    assertEquals(before.getGraph().getOutputList(), after.getGraph().getOutputList());
    assertEquals(before.getOpsetImportList(), after.getOpsetImportList());
    for (int i = 0; i < before.getGraph().getInitializerCount(); i++) {
      TensorProto b = before.getGraph().getInitializer(i);
      TensorProto a = after.getGraph().getInitializer(i);
      assertEquals(b.getName(), a.getName());
      assertEquals(b.getDimsList(), a.getDimsList());
      assertEquals(b.getDataType(), a.getDataType());
      if (!b.getName().startsWith("bn2.running_")) {
        assertEquals(b, a, b.getName());
      }
    }
    assertArrayEquals(mean, widen(floats(after, "bn2.running_mean")));
    assertArrayEquals(var, widen(floats(after, "bn2.running_var")));
    assertArrayEquals(mean, OnnxModel.parse(replaced.toByteArray(), "r").batchNorms().get(1)
        .storedMean());

    double[] notFloats = var.clone();
    notFloats[3] = 0.1; // not a float
    assertThrows(IllegalArgumentException.class,
        () -> SAMPLE.withStatistics(Map.of(bn2.node(), new double[][] {mean, notFloats})));
    assertThrows(IllegalArgumentException.class,
        () -> SAMPLE.withStatistics(Map.of("nope", new double[][] {mean, var})));
  }

  @Test
  void trainingModeRewriteUsesStandardOpsForEveryOpset() throws Exception {
    for (int opset : new int[] {15, 17, 18}) {
      OnnxModel m = OnnxModel.parse(OnnxGraphs.residualMlpGraph(4, 2, opset).toByteArray(), "m");
      ModelProto p = ModelProto.parseFrom(m.withBatchNormsInTrainingMode().toByteArray());
      assertTrue(p.getGraph().getNodeList().stream()
          .noneMatch(n -> n.getOpType().equals("BatchNormalization")));
      NodeProto reduce = p.getGraph().getNodeList().stream()
          .filter(n -> n.getOpType().equals("ReduceMean")).findFirst().orElseThrow();
      if (opset >= 18) {
        assertEquals(2, reduce.getInputCount());
      } else {
        assertEquals(List.of(0L, 2L), reduce.getAttributeList().stream()
            .filter(a -> a.getName().equals("axes")).findFirst().orElseThrow().getIntsList());
      }
      // every BN output name is still produced, so the rest of the graph reads the same values
      for (String out : List.of("bn_a_out", "bn_b_out", "bn_c_out", "bn_d_out", "bn_e_out")) {
        assertEquals(1, p.getGraph().getNodeList().stream()
            .filter(n -> n.getOutputList().contains(out)).count(), out);
      }
    }
  }

  @Test
  void badModelsAreOneLineErrors() throws Exception {
    byte[] sample = OnnxGraphs.sampleModelBytes();
    for (byte[] bad : List.of(new byte[0], "not a model at all".getBytes(),
        Arrays.copyOf(sample, sample.length / 2), Arrays.copyOf(sample, 100))) {
      InputException e = assertThrows(InputException.class, () -> OnnxModel.parse(bad, "m.onnx"));
      assertEquals(InputException.DATA, e.exitCode());
      assertTrue(e.getMessage().startsWith("m.onnx is not an ONNX model"), e.getMessage());
    }

    ModelProto base = OnnxGraphs.residualMlpGraph(4, 3, 17);
    // no BatchNormalization
    GraphProto.Builder g = GraphProto.newBuilder().addInput(OnnxGraphs.input("x",
        TensorProto.DataType.FLOAT_VALUE, -1, 4));
    OnnxGraphs.gemm(g, new SplittableRandom(1), "fc", "x", 4, 2, "y");
    OnnxModel plain = OnnxModel.parse(OnnxGraphs.model(g, 17).toByteArray(), "plain.onnx");
    InputException none = assertThrows(InputException.class, plain::requireBatchNorms);
    assertTrue(none.getMessage().startsWith("plain.onnx has no BatchNormalization node"),
        none.getMessage());

    // training_mode = 1
    ModelProto training = editNode(base, "bn_b", n -> n.addAttribute(AttributeProto.newBuilder()
        .setName("training_mode").setI(1).setType(AttributeProto.AttributeType.INT)));
    assertUsage(training, "t.onnx: BatchNormalization bn_b has training_mode=1 (a training "
        + "graph); export the model in eval mode");

    // the mean is a graph input, not an initializer
    ModelProto fed = editNode(base, "bn_a", n -> n.setInput(3, "x"));
    assertUsage(fed, "t.onnx: the input_mean of BatchNormalization bn_a ('x') is a graph input, "
        + "not stored in the model; normstats recalibrates BatchNormalizations whose parameters "
        + "are initializers (or Constant or Identity nodes of one)");
    // the variance is computed from the data
    ModelProto computed = editNode(base, "bn_b", n -> n.setInput(4, "r1"));
    assertUsage(computed, "t.onnx: the input_var of BatchNormalization bn_b ('r1') is computed by "
        + "node relu_a (Relu), not stored in the model; normstats recalibrates BatchNormalizations "
        + "whose parameters are initializers (or Constant or Identity nodes of one)");

    // two data inputs and no name
    ModelProto twoInputs = base.toBuilder().setGraph(base.getGraph().toBuilder().addInput(
        OnnxGraphs.input("mask", TensorProto.DataType.FLOAT_VALUE, -1, 4))).build();
    InputException two = assertThrows(InputException.class,
        () -> OnnxModel.parse(twoInputs.toByteArray(), "t.onnx").input(null));
    assertEquals("t.onnx has 2 inputs [x, mask]: choose one with --input-name", two.getMessage());
    assertEquals("mask", OnnxModel.parse(twoInputs.toByteArray(), "t.onnx").input("mask").name());
    InputException unknown = assertThrows(InputException.class,
        () -> OnnxModel.parse(twoInputs.toByteArray(), "t.onnx").input("y"));
    assertEquals("t.onnx has no input 'y' (inputs: x, mask)", unknown.getMessage());

    // an int64 input
    ModelProto ints = base.toBuilder().setGraph(base.getGraph().toBuilder().setInput(0,
        OnnxGraphs.input("x", TensorProto.DataType.INT64_VALUE, -1, 4))).build();
    InputException type = assertThrows(InputException.class,
        () -> OnnxModel.parse(ints.toByteArray(), "t.onnx").input(null));
    assertEquals("input 'x' of t.onnx holds int64; normstats feeds float, double, float16 or "
        + "bfloat16 tensors",
        type.getMessage());

    // int64 statistics (float16 and bfloat16 are read: ZooRecalibrateTest)
    GraphProto.Builder half = base.getGraph().toBuilder();
    for (int i = 0; i < half.getInitializerCount(); i++) {
      if (half.getInitializer(i).getName().equals("bn_c.running_var")) {
        half.setInitializer(i, half.getInitializer(i).toBuilder()
            .setDataType(TensorProto.DataType.INT64_VALUE));
      }
    }
    assertUsage(base.toBuilder().setGraph(half).build(), "t.onnx: the input_var of "
        + "BatchNormalization bn_c ('bn_c.running_var') holds int64; normstats reads float, "
        + "double, float16 or bfloat16");

    // a node reading a value nothing provides
    ModelProto dangling = editNode(base, "relu_a", n -> n.setInput(0, "ghost"));
    InputException d = assertThrows(InputException.class,
        () -> OnnxModel.parse(dangling.toByteArray(), "t.onnx"));
    assertEquals("t.onnx: node relu_a reads 'ghost', which no node, input or initializer of the "
        + "graph provides", d.getMessage());
  }

  private static void assertUsage(ModelProto model, String message) {
    InputException e = assertThrows(InputException.class,
        () -> OnnxModel.parse(model.toByteArray(), "t.onnx").batchNorms());
    assertEquals(InputException.USAGE, e.exitCode());
    assertEquals(message, e.getMessage());
  }

  private static ModelProto editNode(ModelProto m,
      String name, java.util.function.Consumer<NodeProto.Builder> edit) {
    GraphProto.Builder g = m.getGraph().toBuilder();
    for (int i = 0; i < g.getNodeCount(); i++) {
      if (g.getNode(i).getName().equals(name)) {
        NodeProto.Builder n = g.getNode(i).toBuilder();
        edit.accept(n);
        g.setNode(i, n);
      }
    }
    return m.toBuilder().setGraph(g).build();
  }
}
