package io.normstats.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.InputException;
import io.normstats.onnx.proto.OnnxProto.AttributeProto;
import io.normstats.onnx.proto.OnnxProto.GraphProto;
import io.normstats.onnx.proto.OnnxProto.ModelProto;
import io.normstats.onnx.proto.OnnxProto.NodeProto;
import io.normstats.onnx.proto.OnnxProto.StringStringEntryProto;
import io.normstats.onnx.proto.OnnxProto.TensorProto;
import io.normstats.onnx.spark.ModelFiles;
import io.normstats.testing.IdxFiles;
import io.normstats.testing.OnnxGraphs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Models as exporters write them: parameters shared through Identity nodes (PyTorch's TorchScript
 * exporter), held by Constant nodes, weights in external data files (PyTorch's default exporter),
 * and BatchNorms folded away. The zoo models are sample-data/zoo's (make_zoo.py).
 */
class ExportedModelsTest {
  private static final Path ZOO = Path.of("sample-data/zoo");
  private static double[][] images;
  @TempDir Path tmp;

  @BeforeAll
  static void read() throws Exception {
    images = IdxFiles.readGzipImages(Path.of("sample-data/fashion-mnist/t10k-images-idx3-ubyte.gz"));
  }

  private static Map<String, Integer> uses(ModelProto m) {
    Map<String, Integer> uses = new HashMap<>();
    m.getGraph().getNodeList().forEach(n -> n.getInputList().forEach(i -> uses.merge(i, 1,
        Integer::sum)));
    return uses;
  }

  /** The model's logits for the first {@code n} images, as ONNX Runtime computes them. */
  private static float[] logits(byte[] model, int n) {
    OnnxModel m = OnnxModel.parse(model, "m");
    NetworkInput in = m.input(null);
    try (NetworkSession s = new NetworkSession(model, "m", in, in.itemShape(784),
        List.of("logits"), n)) {
      for (int i = 0; i < n; i++) {
        System.arraycopy(images[i], 0, s.rows(), i * 784, 784);
      }
      s.run(n);
      return java.util.Arrays.copyOf(s.floats(0), n * 10);
    }
  }

  @Test
  void sharedParametersOfAnUntrainedResnetBecomeEachLayersOwn() throws Exception {
    // The TorchScript exporter shares every running_mean (zeros), running_var and weight (ones)
    // of one width through Identity nodes.
    byte[] bytes = Files.readAllBytes(ZOO.resolve("resnet_untrained/legacy.onnx"));
    ModelProto original = ModelProto.parseFrom(bytes);
    long identities = original.getGraph().getNodeList().stream()
        .filter(n -> n.getOpType().equals("Identity")).count();
    assertTrue(identities > 40, "the export shares through " + identities + " Identity nodes");
    OnnxModel model = OnnxModel.parse(bytes, "untrained");
    ModelProto owned = ModelProto.parseFrom(model.toByteArray());
    Map<String, Integer> uses = uses(owned);
    Set<String> initializers = new HashSet<>();
    owned.getGraph().getInitializerList().forEach(t -> initializers.add(t.getName()));
    List<BatchNormLayer> layers = model.requireBatchNorms();
    assertEquals(15, layers.size());
    for (BatchNormLayer l : layers) {
      for (String p : List.of(l.scale(), l.bias(), l.mean(), l.variance())) {
        assertTrue(initializers.contains(p), p);
        assertEquals(1, uses.get(p), p);
      }
      // the state-dict names stay
      assertTrue(l.mean().startsWith("net.") && l.mean().endsWith(".running_mean"), l.mean());
    }
    // every other node is as it was, and the network computes the same bits
    List<NodeProto> kept = original.getGraph().getNodeList().stream()
        .filter(n -> !n.getOpType().equals("Identity")).toList();
    assertEquals(kept, owned.getGraph().getNodeList());
    assertArrayEquals(logits(bytes, 32), logits(model.toByteArray(), 32));

    // new statistics for one layer leave every other layer's as stored
    BatchNormLayer first = layers.get(0);
    double[] mean = new double[first.channels()];
    double[] var = new double[first.channels()];
    java.util.Arrays.fill(mean, 0.25);
    java.util.Arrays.fill(var, 2.0);
    OnnxModel changed = OnnxModel.parse(model.withStatistics(Map.of(first.node(),
        new double[][] {mean, var})).toByteArray(), "changed");
    for (int k = 0; k < layers.size(); k++) {
      BatchNormLayer after = changed.batchNorms().get(k);
      BatchNormLayer before = layers.get(k);
      assertArrayEquals(k == 0 ? mean : before.storedMean(), after.storedMean(), after.node());
      assertArrayEquals(k == 0 ? var : before.storedVariance(), after.storedVariance());
      assertArrayEquals(before.scaleValues(), after.scaleValues());
    }
  }

  @Test
  void theTrainedResnetsDownsampleBiasComesThroughAnIdentity() throws Exception {
    byte[] bytes = Files.readAllBytes(ZOO.resolve("resnet/legacy.onnx"));
    ModelProto original = ModelProto.parseFrom(bytes);
    NodeProto shared = original.getGraph().getNodeList().stream()
        .filter(n -> n.getOpType().equals("Identity")
            && n.getOutput(0).equals("net.4.0.downsample.1.bias")).findFirst().orElseThrow();
    assertEquals("net.4.0.bn2.bias", shared.getInput(0));
    OnnxModel model = OnnxModel.parse(bytes, "resnet");
    BatchNormLayer down = model.batchNorms().stream()
        .filter(l -> l.mean().equals("net.4.0.downsample.1.running_mean")).findFirst()
        .orElseThrow();
    BatchNormLayer bn2 = model.batchNorms().stream()
        .filter(l -> l.mean().equals("net.4.0.bn2.running_mean")).findFirst().orElseThrow();
    assertEquals("net.4.0.downsample.1.bias", down.bias());
    assertEquals("net.4.0.bn2.bias", bn2.bias());
    assertArrayEquals(bn2.biasValues(), down.biasValues());
    assertArrayEquals(logits(bytes, 16), logits(model.toByteArray(), 16));
  }

  @Test
  void constantsIdentityChainsAndParametersOtherNodesRead() throws Exception {
    SplittableRandom rnd = new SplittableRandom(3);
    GraphProto.Builder g = GraphProto.newBuilder();
    g.addInput(OnnxGraphs.input("x", TensorProto.DataType.FLOAT_VALUE, -1, 3));
    OnnxGraphs.gemm(g, rnd, "fc", "x", 3, 3, "h");
    // scale from a Constant, B an Identity of an Identity of an initializer that an Add also
    // reads, input_mean an initializer that an Add reads, input_var from value_floats
    g.addNode(NodeProto.newBuilder().setOpType("Constant").setName("c_scale")
        .addOutput("scale").addAttribute(AttributeProto.newBuilder().setName("value")
            .setType(AttributeProto.AttributeType.TENSOR)
            .setT(OnnxGraphs.floats("", new double[] {1.5, 0.5, 2}, 3))).build());
    g.addInitializer(OnnxGraphs.floats("shared_bias", new double[] {0.1, 0.2, 0.3}, 3));
    g.addNode(OnnxGraphs.node("Identity", "id1", "b1", "shared_bias"));
    g.addNode(OnnxGraphs.node("Identity", "id2", "bias", "b1"));
    g.addInitializer(OnnxGraphs.floats("bn.running_mean", new double[] {-1, 0, 1}, 3));
    g.addNode(NodeProto.newBuilder().setOpType("Constant").setName("c_var").addOutput("var")
        .addAttribute(AttributeProto.newBuilder().setName("value_floats")
            .setType(AttributeProto.AttributeType.FLOATS).addFloats(1).addFloats(2)
            .addFloats(4)).build());
    g.addNode(OnnxGraphs.node("BatchNormalization", "bn", "y", "h", "scale", "bias",
        "bn.running_mean", "var"));
    g.addNode(OnnxGraphs.node("Add", "plus_bias", "z1", "y", "shared_bias"));
    g.addNode(OnnxGraphs.node("Add", "plus_mean", "logits", "z1", "bn.running_mean"));
    g.addOutput(io.normstats.onnx.proto.OnnxProto.ValueInfoProto.newBuilder().setName("logits")
        .setType(OnnxGraphs.tensorType(TensorProto.DataType.FLOAT_VALUE, -1, 3)));
    ModelProto proto = OnnxGraphs.model(g, 17);
    OnnxModel model = OnnxModel.parse(proto.toByteArray(), "built");
    BatchNormLayer bn = model.requireBatchNorms().get(0);
    assertArrayEquals(new double[] {1.5, 0.5, 2}, bn.scaleValues());
    assertArrayEquals(new double[] {(float) 0.1, (float) 0.2, (float) 0.3}, bn.biasValues());
    assertArrayEquals(new double[] {-1, 0, 1}, bn.storedMean());
    assertArrayEquals(new double[] {1, 2, 4}, bn.storedVariance());
    assertEquals(List.of("scale", "bias", "bn.running_mean", "var"),
        List.of(bn.scale(), bn.bias(), bn.mean(), bn.variance()));
    ModelProto owned = ModelProto.parseFrom(model.toByteArray());
    // the Constants and Identities are gone; the Add that read the layer's input_mean reads a
    // copy, the one that read the initializer behind B's Identities still reads it
    assertEquals(List.of("Gemm", "BatchNormalization", "Add", "Add"), owned.getGraph()
        .getNodeList().stream().map(NodeProto::getOpType).toList());
    NodeProto plusBias = owned.getGraph().getNode(2);
    NodeProto plusMean = owned.getGraph().getNode(3);
    assertEquals("shared_bias", plusBias.getInput(1));
    assertNotEquals("bn.running_mean", plusMean.getInput(1));
    Map<String, Integer> uses = uses(owned);
    for (String p : List.of("scale", "bias", "bn.running_mean", "var")) {
      assertEquals(1, uses.get(p), p);
    }
    double[] mean = {0.5, 0.5, 0.5};
    double[] var = {3, 3, 3};
    ModelProto replaced = ModelProto.parseFrom(model.withStatistics(Map.of("bn",
        new double[][] {mean, var})).toByteArray());
    Map<String, TensorProto> byName = new HashMap<>();
    replaced.getGraph().getInitializerList().forEach(t -> byName.put(t.getName(), t));
    assertArrayEquals(new double[] {-1, 0, 1}, Tensors.values(
        byName.get(plusMean.getInput(1))));
    assertArrayEquals(new double[] {(float) 0.1, (float) 0.2, (float) 0.3},
        Tensors.values(byName.get(plusBias.getInput(1))));
    assertArrayEquals(mean, Tensors.values(byName.get("bn.running_mean")));
  }

  @Test
  void externalDataIsReadFromBesideTheModel() throws Exception {
    Path dir = tmp.resolve("exported");
    Files.createDirectories(dir);
    Path model = dir.resolve("dynamo.onnx");
    Files.copy(ZOO.resolve("resnet/dynamo.onnx"), model);
    Files.copy(ZOO.resolve("resnet/dynamo.onnx.data"), dir.resolve("dynamo.onnx.data"));
    ModelProto raw = ModelProto.parseFrom(Files.readAllBytes(model));
    assertTrue(raw.getGraph().getInitializerList().stream()
        .anyMatch(t -> t.getDataLocation() == TensorProto.DataLocation.EXTERNAL));
    Configuration conf = new Configuration();
    OnnxModel read = ModelFiles.read(conf, model.toString(), "model");
    ModelProto inlined = ModelProto.parseFrom(read.toByteArray());
    assertTrue(inlined.getGraph().getInitializerList().stream()
        .noneMatch(t -> t.getDataLocation() == TensorProto.DataLocation.EXTERNAL));
    // the same network as the TorchScript export of the same module
    assertArrayEquals(logits(Files.readAllBytes(ZOO.resolve("resnet/legacy.onnx")), 16),
        logits(read.toByteArray(), 16), 1e-4f);
    // the model's bytes alone cannot be read
    InputException alone = assertThrows(InputException.class,
        () -> OnnxModel.parse(Files.readAllBytes(model), "dynamo.onnx"));
    assertEquals(InputException.USAGE, alone.exitCode());
    assertTrue(alone.getMessage().startsWith("dynamo.onnx keeps initializer '"), alone.getMessage());

    // a missing data file
    Files.move(dir.resolve("dynamo.onnx.data"), dir.resolve("moved.data"));
    InputException missing = assertThrows(InputException.class,
        () -> ModelFiles.read(conf, model.toString(), "model"));
    assertEquals(InputException.USAGE, missing.exitCode());
    assertTrue(missing.getMessage().startsWith("the external data file ")
        && missing.getMessage().contains("dynamo.onnx.data of model " + model + " does not exist"),
        missing.getMessage());
    // a data file that ends early
    byte[] data = Files.readAllBytes(dir.resolve("moved.data"));
    Files.write(dir.resolve("dynamo.onnx.data"), java.util.Arrays.copyOf(data, data.length / 2));
    InputException shortData = assertThrows(InputException.class,
        () -> ModelFiles.read(conf, model.toString(), "model"));
    assertEquals(InputException.DATA, shortData.exitCode());
    assertTrue(shortData.getMessage().contains("cannot read the external data of initializer"),
        shortData.getMessage());
    assertFalse(shortData.getMessage().contains("\n"));
    // a location outside the model's directory
    GraphProto.Builder g = raw.getGraph().toBuilder();
    for (int i = 0; i < g.getInitializerCount(); i++) {
      TensorProto t = g.getInitializer(i);
      if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
        TensorProto.Builder b = t.toBuilder().clearExternalData();
        for (StringStringEntryProto e : t.getExternalDataList()) {
          b.addExternalData(e.getKey().equals("location")
              ? e.toBuilder().setValue("../elsewhere/w.data").build() : e);
        }
        g.setInitializer(i, b);
      }
    }
    Path escaping = dir.resolve("escaping.onnx");
    Files.write(escaping, raw.toBuilder().setGraph(g).build().toByteArray());
    InputException outside = assertThrows(InputException.class,
        () -> ModelFiles.read(conf, escaping.toString(), "model"));
    assertEquals(InputException.USAGE, outside.exitCode());
    assertTrue(outside.getMessage().contains("outside the model's directory"),
        outside.getMessage());
  }

  @Test
  void aBatchNormInsideAnIfBranchIsAClearError() throws Exception {
    ModelProto base = OnnxGraphs.residualMlpGraph(4, 3, 17);
    // the then-branch of an If holds a copy of bn_a
    NodeProto bn = base.getGraph().getNodeList().stream()
        .filter(n -> n.getName().equals("bn_a")).findFirst().orElseThrow();
    GraphProto branch = GraphProto.newBuilder().setName("then")
        .addNode(bn.toBuilder().setName("inner_bn").setOutput(0, "inner_out"))
        .addOutput(io.normstats.onnx.proto.OnnxProto.ValueInfoProto.newBuilder()
            .setName("inner_out"))
        .build();
    GraphProto.Builder g = base.getGraph().toBuilder();
    g.addInitializer(TensorProto.newBuilder().setName("cond")
        .setDataType(TensorProto.DataType.BOOL_VALUE).addInt32Data(1));
    g.addNode(NodeProto.newBuilder().setOpType("If").setName("branchy").addInput("cond")
        .addOutput("if_out")
        .addAttribute(AttributeProto.newBuilder().setName("then_branch")
            .setType(AttributeProto.AttributeType.GRAPH).setG(branch))
        .addAttribute(AttributeProto.newBuilder().setName("else_branch")
            .setType(AttributeProto.AttributeType.GRAPH).setG(branch)));
    OnnxModel m = OnnxModel.parse(base.toBuilder().setGraph(g).build().toByteArray(), "if.onnx");
    InputException e = assertThrows(InputException.class, m::batchNorms);
    assertEquals(InputException.USAGE, e.exitCode());
    assertEquals("if.onnx: node branchy holds a BatchNormalization inside a subgraph, which "
        + "normstats does not recalibrate", e.getMessage());
  }

  @Test
  void aModelWhoseBatchNormsWereFoldedShowsBothExportCalls() throws Exception {
    OnnxModel folded = OnnxModel.parse(Files.readAllBytes(ZOO.resolve("resnet/dynamo_folded.onnx")),
        "folded.onnx");
    InputException e = assertThrows(InputException.class, folded::requireBatchNorms);
    assertEquals(InputException.USAGE, e.exitCode());
    assertTrue(e.getMessage().startsWith("folded.onnx has no BatchNormalization node"));
    assertTrue(e.getMessage().contains("dynamo=True, optimize=False"), e.getMessage());
    assertTrue(e.getMessage().contains("dynamo=False, training=torch.onnx.TrainingMode.PRESERVE, "
        + "do_constant_folding=False"), e.getMessage());
  }
}
