package io.normstats.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.normstats.io.SafeTensors;
import io.normstats.onnx.BatchNormLayer;
import io.normstats.onnx.OnnxModel;
import io.normstats.onnx.proto.OnnxProto.ModelProto;
import io.normstats.onnx.proto.OnnxProto.TensorProto;
import io.normstats.testing.IdxFiles;
import io.normstats.testing.Jobs;
import io.normstats.testing.TestSpark;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The recalibrate job on the model zoo (sample-data/zoo, made by make_zoo.py): small versions of
 * torchvision's ResNet, MobileNetV2, EfficientNet blocks and DenseNet, a BatchNorm3d/1d net and a
 * decoder (BatchNorm after ConvTranspose, and BatchNorm1d after a MatMul),
 * exported by PyTorch's TorchScript exporter (Identity-shared initializers, opset 20 and 9) and by
 * its default exporter (external data). Every layer's statistics must equal those of an
 * independent bottom-up PyTorch oracle (float64 sums of PyTorch's float32 activations, in
 * expected.json) within the float32 rounding that separates ONNX Runtime's activations from
 * PyTorch's.
 */
class ZooRecalibrateTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path ZOO = Path.of("sample-data/zoo");
  private static final List<String> ARCHITECTURES = List.of("resnet", "resnet_untrained",
      "mobilenet_v2", "efficientnet_blocks", "densenet", "volumetric", "decoder");
  /**
   * Largest difference from the oracle, relative to the channel's standard deviation: ONNX
   * Runtime and PyTorch compute the float32 activations in different orders (each rounding is
   * 6e-8 relative, and ONNX Runtime folds upstream BatchNorms into their Conv); measured up to
   * 3.5e-7 for the means and 5.5e-7 (relative) for the variances.
   */
  private static final double TOLERANCE = 1e-6;
  private static double[][] images;
  private static String input;
  @TempDir static Path tmp;

  @BeforeAll
  static void start() throws IOException {
    TestSpark.session("ZooRecalibrateTest");
    images = IdxFiles.readGzipImages(Path.of("sample-data/fashion-mnist/t10k-images-idx3-ubyte.gz"));
    int rows = JSON.readTree(ZOO.resolve("resnet/expected.json").toFile()).get("rows").asInt();
    int[][] part = new int[rows][];
    for (int i = 0; i < rows; i++) {
      part[i] = java.util.Arrays.stream(images[i]).mapToInt(v -> (int) v).toArray();
    }
    Path file = tmp.resolve("zoo-rows-idx3-ubyte.gz");
    IdxFiles.writeImages(file, 28, 28, part, true);
    input = file.toString();
  }

  @TestFactory
  Stream<DynamicTest> everyExportEqualsTheOracle() {
    List<DynamicTest> tests = new ArrayList<>();
    for (String arch : ARCHITECTURES) {
      for (String export : List.of("legacy.onnx", "dynamo.onnx", "legacy_opset9.onnx")) {
        Path model = ZOO.resolve(arch).resolve(export);
        if (Files.exists(model)) {
          tests.add(DynamicTest.dynamicTest(arch + "/" + export, () -> check(arch, model)));
        }
      }
    }
    assertEquals(ARCHITECTURES.size() * 2 + 1, tests.size());
    return tests.stream();
  }

  private static void check(String arch, Path model) throws Exception {
    JsonNode expected = JSON.readTree(ZOO.resolve(arch).resolve("expected.json").toFile());
    Path out = tmp.resolve(arch + "-" + model.getFileName());
    Jobs.ok("recalibrate", "--model", model.toString(), "--input", input, "--fold",
        "--output", out.toString());
    JsonNode json = JSON.readTree(out.resolve("recalibrate.json").toFile());
    checkFolded(arch + "/" + model.getFileName(), out, json);
    // the written model holds its data inside, whatever the export kept beside it
    try (Stream<Path> files = Files.list(out)) {
      assertEquals(List.of("bn_stats.safetensors", "model.onnx", "model_folded.onnx",
          "recalibrate.json"),
          files.map(p -> p.getFileName().toString())
              .filter(f -> !f.startsWith(".") && !f.startsWith("_")).sorted().toList());
    }
    assertTrue(ModelProto.parseFrom(Files.readAllBytes(out.resolve("model.onnx"))).getGraph()
        .getInitializerList().stream()
        .noneMatch(t -> t.getDataLocation() == TensorProto.DataLocation.EXTERNAL));
    OnnxModel written = OnnxModel.parse(Files.readAllBytes(out.resolve("model.onnx")), "written");
    Map<String, SafeTensors.Tensor> tensors;
    try (InputStream in = Files.newInputStream(out.resolve("bn_stats.safetensors"))) {
      tensors = SafeTensors.read(in, "bn_stats.safetensors");
    }
    JsonNode layers = expected.get("layers");
    assertEquals(layers.size(), written.batchNorms().size());
    assertEquals(2 * layers.size(), tensors.size());
    Map<String, JsonNode> byNode = new HashMap<>();
    json.get("layers").forEach(l -> byNode.put(l.get("node").asText(), l));
    Set<String> prefixes = new HashSet<>();
    double worst = 0;
    double worstVar = 0;
    for (BatchNormLayer layer : written.batchNorms()) {
      // the layer's statistics are initializers of its own, named after the state-dict keys
      assertTrue(layer.mean().endsWith(".running_mean"), layer.mean());
      String prefix = layer.mean().substring(0, layer.mean().length() - ".running_mean".length());
      assertEquals(prefix + ".running_var", layer.variance());
      assertTrue(prefixes.add(prefix), prefix);
      JsonNode oracle = layers.get(prefix);
      assertTrue(oracle != null, prefix + " is not in expected.json");
      JsonNode ours = byNode.get(layer.node());
      assertEquals(oracle.get("count").asLong(), ours.get("count").asLong(), prefix);
      double[] exactMean = doubles(ours.get("mean"));
      double[] exactVar = doubles(ours.get("var_pop"));
      double[] written32 = tensors.get(layer.mean()).values();
      double[] written32Var = tensors.get(layer.variance()).values();
      for (int c = 0; c < layer.channels(); c++) {
        double mean = oracle.get("mean").get(c).asDouble();
        double var = oracle.get("var_pop").get(c).asDouble();
        double std = Math.sqrt(var);
        String at = prefix + " channel " + c;
        worst = Math.max(worst, Math.abs(mean - exactMean[c]) / std);
        worstVar = Math.max(worstVar, Math.abs(var - exactVar[c]) / var);
        assertEquals(mean, exactMean[c], TOLERANCE * std + 1e-30, at + " mean");
        assertEquals(var, exactVar[c], 2 * TOLERANCE * var + 1e-30, at + " var_pop");
        // the model and the safetensors file hold the float nearest to the exact value
        assertEquals((float) exactMean[c], (float) written32[c], at);
        assertEquals((float) exactVar[c], (float) written32Var[c], at);
        assertEquals((float) exactMean[c], (float) layer.storedMean()[c], at);
      }
    }
    assertEquals(layers.size(), prefixes.size());
    System.out.printf("%s %s: mean err/std %.2e, var rel err %.2e%n", arch, model.getFileName(),
        worst, worstVar);
  }

  /**
   * A model.half() export: float16 input, activations, weights and statistics. The exact
   * statistics are those of the float16 activations ONNX Runtime computes, which round differently
   * from PyTorch's float16 kernels (ONNX Runtime computes Conv in float between Casts it inserts),
   * so the oracle (float64 sums of PyTorch's float16 activations) is met to 2e-3 standard
   * deviations; the written statistics are the float16 numbers nearest to the exact values, in the
   * model and as F16 in bn_stats.safetensors.
   */
  @Test
  void aFloat16ModelKeepsFloat16Statistics() throws Exception {
    Path out = tmp.resolve("resnet-fp16");
    Jobs.ok("recalibrate", "--model", ZOO.resolve("resnet/legacy_fp16.onnx").toString(),
        "--input", input, "--output", out.toString());
    JsonNode expected = JSON.readTree(ZOO.resolve("resnet/expected_fp16.json").toFile())
        .get("layers");
    JsonNode json = JSON.readTree(out.resolve("recalibrate.json").toFile());
    OnnxModel written = OnnxModel.parse(Files.readAllBytes(out.resolve("model.onnx")), "written");
    Map<String, SafeTensors.Tensor> tensors;
    try (InputStream in = Files.newInputStream(out.resolve("bn_stats.safetensors"))) {
      tensors = SafeTensors.read(in, "bn_stats.safetensors");
    }
    assertEquals(expected.size(), written.batchNorms().size());
    double worst = 0;
    for (BatchNormLayer layer : written.batchNorms()) {
      assertEquals(io.normstats.onnx.ElementType.FLOAT16, layer.statsType(), layer.node());
      String prefix = layer.mean().substring(0, layer.mean().length() - ".running_mean".length());
      JsonNode oracle = expected.get(prefix);
      JsonNode ours = layerOf(json, layer.node());
      assertEquals("F16", tensors.get(layer.mean()).dtype());
      double[] exactMean = doubles(ours.get("mean"));
      double[] exactVar = doubles(ours.get("var_pop"));
      for (int c = 0; c < layer.channels(); c++) {
        double std = Math.sqrt(oracle.get("var_pop").get(c).asDouble());
        worst = Math.max(worst, Math.abs(oracle.get("mean").get(c).asDouble() - exactMean[c])
            / std);
        assertEquals(oracle.get("mean").get(c).asDouble(), exactMean[c], 2e-3 * std,
            prefix + " channel " + c);
        assertEquals(nearestHalf(exactMean[c]), layer.storedMean()[c], 0, prefix + " " + c);
        assertEquals(nearestHalf(exactVar[c]), layer.storedVariance()[c], 0, prefix + " " + c);
        assertEquals(layer.storedMean()[c], tensors.get(layer.mean()).values()[c], 0);
        assertEquals(layer.storedVariance()[c], tensors.get(layer.variance()).values()[c], 0);
      }
    }
    System.out.printf("resnet legacy_fp16: mean err/std %.2e%n", worst);
  }

  /**
   * The binary16 number nearest to {@code v} (ties to even), found by BigDecimal comparison among
   * all finite binary16 numbers: independent of the code's bit arithmetic.
   */
  private static double nearestHalf(double v) {
    java.math.BigDecimal x = new java.math.BigDecimal(v);
    double best = Double.NaN;
    java.math.BigDecimal bestDistance = null;
    for (int bits = 0; bits < 0x7C00; bits++) {
      int e = bits >>> 10;
      int m = bits & 0x3FF;
      double h = e == 0 ? m * Math.pow(2, -24) : (1024 + m) * Math.pow(2, e - 25);
      for (double candidate : new double[] {h, -h}) {
        java.math.BigDecimal d = x.subtract(new java.math.BigDecimal(candidate)).abs();
        int cmp = bestDistance == null ? -1 : d.compareTo(bestDistance);
        if (cmp < 0 || (cmp == 0 && (bits & 1) == 0)) {
          best = candidate;
          bestDistance = d;
        }
      }
    }
    return best;
  }

  @Test
  void theActivationCacheGivesTheBitsOfRecomputingFromTheInput() throws Exception {
    for (String model : List.of("resnet/legacy.onnx", "resnet/dynamo.onnx",
        "mobilenet_v2/dynamo.onnx", "efficientnet_blocks/legacy.onnx", "densenet/legacy.onnx",
        "volumetric/dynamo.onnx", "decoder/legacy.onnx")) {
      String path = ZOO.resolve(model).toString();
      Path on = tmp.resolve("cache-on-" + model.replace('/', '-'));
      Path off = tmp.resolve("cache-off-" + model.replace('/', '-'));
      Jobs.ok("recalibrate", "--model", path, "--input", input, "--activation-cache", "on",
          "--partitions", "3", "--batch-size", "50", "--output", on.toString());
      Jobs.ok("recalibrate", "--model", path, "--input", input, "--activation-cache", "off",
          "--output", off.toString());
      for (String f : List.of("recalibrate.json", "model.onnx", "bn_stats.safetensors")) {
        assertArrayEquals(Files.readAllBytes(on.resolve(f)), Files.readAllBytes(off.resolve(f)),
            model + " " + f);
      }
    }
  }

  /**
   * A model over 2 GB (the zoo's ResNet with the inline limit set 100 KB under its size): the job
   * writes model.onnx with its largest tensors in model.onnx.data beside it, the same statistics
   * and evaluation as the whole model gives, and the pair reads back as the model the whole one
   * writes; --fold
   * on such a model is refused before any pass, with nothing written.
   */
  @Test
  void aModelOver2GbIsWrittenWithItsDataBeside() throws Exception {
    String path = ZOO.resolve("resnet/dynamo.onnx").toString();
    Path whole = tmp.resolve("whole");
    Path large = tmp.resolve("large");
    Path folded = tmp.resolve("large-folded");
    Jobs.ok("recalibrate", "--model", path, "--input", input, "--eval-input", input,
        "--output", whole.toString());
    long size = OnnxModel.parse(Files.readAllBytes(whole.resolve("model.onnx")), "m")
        .toByteArray().length;
    Jobs.Run refused;
    System.setProperty("normstats.onnx.inlineLimit", Long.toString(size - 100_000));
    try {
      Jobs.ok("recalibrate", "--model", path, "--input", input, "--eval-input", input,
          "--output", large.toString());
      refused = Jobs.run("recalibrate", "--model", path, "--input", input, "--fold",
          "--output", folded.toString());
    } finally {
      System.clearProperty("normstats.onnx.inlineLimit");
    }
    assertTrue(Files.size(large.resolve("model.onnx.data")) >= 100_000);
    assertTrue(Files.size(large.resolve("model.onnx")) <= size - 100_000);
    for (String f : List.of("recalibrate.json", "bn_stats.safetensors")) {
      assertArrayEquals(Files.readAllBytes(whole.resolve(f)), Files.readAllBytes(large.resolve(f)),
          f);
    }
    OnnxModel back = io.normstats.onnx.spark.ModelFiles.read(new org.apache.hadoop.conf
        .Configuration(), large.resolve("model.onnx").toString(), "written");
    assertArrayEquals(Files.readAllBytes(whole.resolve("model.onnx")), back.toByteArray());
    assertEquals(2, refused.exitCode(), refused.stderr());
    assertTrue(refused.stderr().contains("--fold: " + path + " is over 2 GB"), refused.stderr());
    assertTrue(!Files.exists(folded), "nothing written");
  }

  @Test
  void theSameBytesForAnyPartitioningAndBatchSize() throws Exception {
    for (String model : List.of("resnet/dynamo.onnx", "densenet/legacy.onnx")) {
      Path a = tmp.resolve("p1-" + model.replace('/', '-'));
      Path b = tmp.resolve("p4-" + model.replace('/', '-'));
      String path = ZOO.resolve(model).toString();
      Jobs.ok("recalibrate", "--model", path, "--input", input, "--partitions", "1",
          "--output", a.toString());
      Jobs.ok("recalibrate", "--model", path, "--input", input, "--partitions", "4",
          "--batch-size", "7", "--output", b.toString());
      for (String f : List.of("recalibrate.json", "model.onnx", "bn_stats.safetensors")) {
        assertArrayEquals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(b.resolve(f)),
            model + " " + f);
      }
    }
  }

  /**
   * The folded model computes the written model's logits up to the float32 rounding of the folded
   * weights; every BatchNorm that stayed is listed with a reason, and is still in the graph.
   */
  private static void checkFolded(String name, Path out, JsonNode json) throws IOException {
    byte[] written = Files.readAllBytes(out.resolve("model.onnx"));
    byte[] folded = Files.readAllBytes(out.resolve("model_folded.onnx"));
    JsonNode fold = json.get("fold");
    int layers = json.get("layers").size();
    int stayed = fold.get("unfolded").size();
    assertEquals(layers - stayed, fold.get("folded").asInt());
    ModelProto f = ModelProto.parseFrom(folded);
    assertEquals(stayed, f.getGraph().getNodeList().stream()
        .filter(n -> n.getOpType().equals("BatchNormalization")).count(), name);
    for (JsonNode u : fold.get("unfolded")) {
      assertTrue(!u.get("reason").asText().isEmpty());
    }
    float[] a = logits(written, 128);
    float[] b = logits(folded, 128);
    double worst = 0;
    double scale = 0;
    for (int i = 0; i < a.length; i++) {
      worst = Math.max(worst, Math.abs(a[i] - b[i]));
      scale = Math.max(scale, Math.abs(a[i]));
    }
    System.out.printf("%s: %d of %d folded, largest logit difference %.2e (logits up to %.1f)%n",
        name, layers - stayed, layers, worst, scale);
    assertTrue(worst <= 1e-4 * scale, name + ": " + worst + " against logits up to " + scale);
  }

  /** The logits of the first {@code n} images. */
  private static float[] logits(byte[] model, int n) {
    OnnxModel m = OnnxModel.parse(model, "m");
    io.normstats.onnx.NetworkInput in = m.input(null);
    try (io.normstats.onnx.NetworkSession s = new io.normstats.onnx.NetworkSession(model, "m", in,
        in.itemShape(784), List.of(m.outputs().get(0)), n)) {
      for (int i = 0; i < n; i++) {
        System.arraycopy(images[i], 0, s.rows(), i * 784, 784);
      }
      s.run(n);
      return java.util.Arrays.copyOf(s.floats(0), n * 10);
    }
  }

  private static JsonNode layerOf(JsonNode json, String node) {
    for (JsonNode l : json.get("layers")) {
      if (l.get("node").asText().equals(node)) {
        return l;
      }
    }
    return null;
  }

  private static JsonNode recalibrate(String name, String... extra) throws IOException {
    Path out = tmp.resolve("controls-" + name);
    List<String> args = new ArrayList<>(List.of("--model",
        ZOO.resolve("resnet/legacy.onnx").toString(), "--input", input, "--output",
        out.toString()));
    args.addAll(List.of(extra));
    Jobs.ok("recalibrate", args.toArray(new String[0]));
    return JSON.readTree(out.resolve("recalibrate.json").toFile());
  }

  private static byte[] bytes(String name, String file) throws IOException {
    return Files.readAllBytes(tmp.resolve("controls-" + name).resolve(file));
  }

  @Test
  void layersPriorWeightAndApproximations() throws Exception {
    JsonNode all = recalibrate("default");
    assertEquals(List.of("one_pass", "precise_bn"), strings(all.get("approximations")));
    assertEquals(0.0, all.get("prior_weight").asDouble());

    // --approximations none: the same exact statistics, no comparison passes
    JsonNode none = recalibrate("none", "--approximations", "none");
    assertEquals(List.of(), strings(none.get("approximations")));
    for (JsonNode l : none.get("layers")) {
      assertTrue(!l.has("one_pass") && !l.has("precise_bn"), l.get("node").asText());
      assertEquals(List.of("stored"), strings(l.get("errors").fieldNames()));
    }
    for (String f : List.of("model.onnx", "bn_stats.safetensors")) {
      assertArrayEquals(bytes("default", f), bytes("none", f), f);
    }
    JsonNode onePassOnly = recalibrate("one-pass", "--approximations", "one_pass");
    assertEquals(List.of("stored", "one_pass"),
        strings(onePassOnly.get("layers").get(0).get("errors").fieldNames()));

    // --layers: only the top block's second bn2 is recomputed, with the stored statistics below
    // it: what one_pass measures for it in the default run, in one pass. (Up to float32
    // rounding: one_pass captures every BatchNorm's input, so ONNX Runtime folds none of them
    // into its Conv; here the stored BatchNorms below are folded.)
    JsonNode top = recalibrate("top", "--layers", "net.5.1.bn2", "--approximations", "none");
    assertEquals(1, top.get("layers").size());
    assertEquals(1, top.get("passes").asInt());
    JsonNode mine = top.get("layers").get(0);
    JsonNode theirs = layerOf(all, mine.get("node").asText());
    for (int c = 0; c < mine.get("channels").asInt(); c++) {
      double var = theirs.get("one_pass").get("var").get(c).asDouble();
      assertEquals(theirs.get("one_pass").get("mean").get(c).asDouble(),
          mine.get("written_mean").get(c).asDouble(), 1e-6 * Math.sqrt(var));
      assertEquals(var, mine.get("written_var").get(c).asDouble(), 1e-6 * var);
    }
    OnnxModel stored = OnnxModel.parse(Files.readAllBytes(ZOO.resolve("resnet/legacy.onnx")), "s");
    OnnxModel written = OnnxModel.parse(bytes("top", "model.onnx"), "w");
    for (int k = 0; k < stored.batchNorms().size(); k++) {
      BatchNormLayer before = stored.batchNorms().get(k);
      BatchNormLayer after = written.batchNorms().get(k);
      if (!before.mean().startsWith("net.5.1.bn2.")) {
        assertArrayEquals(before.storedMean(), after.storedMean(), before.node());
        assertArrayEquals(before.storedVariance(), after.storedVariance(), before.node());
      }
    }
    // a glob over node names and prefixes: every layer of the last stage, by either name
    JsonNode stage = recalibrate("stage", "--layers", "net.5.*", "--approximations", "none");
    assertEquals(5, stage.get("layers").size());

    // --prior-weight 0.25: written = 0.25 stored + 0.75 exact, bottom-up
    JsonNode prior = recalibrate("prior", "--prior-weight", "0.25", "--approximations", "none");
    assertEquals(0.25, prior.get("prior_weight").asDouble());
    int differ = 0;
    for (JsonNode l : prior.get("layers")) {
      JsonNode exact = layerOf(all, l.get("node").asText());
      for (int c = 0; c < l.get("channels").asInt(); c++) {
        double mean = 0.25 * l.get("stored_mean").get(c).asDouble()
            + 0.75 * l.get("mean").get(c).asDouble();
        double var = 0.25 * l.get("stored_var").get(c).asDouble()
            + 0.75 * l.get("var_pop").get(c).asDouble();
        assertEquals((float) mean, (float) l.get("written_mean").get(c).asDouble());
        assertEquals((float) var, (float) l.get("written_var").get(c).asDouble());
        if (l.get("level").asInt() == 0) { // nothing below it: the exact statistics as before
          assertEquals(exact.get("mean").get(c).asDouble(), l.get("mean").get(c).asDouble());
        } else if (l.get("mean").get(c).asDouble() != exact.get("mean").get(c).asDouble()) {
          differ++;
        }
      }
    }
    assertTrue(differ > 100, "the layers above see the mixed statistics: " + differ);
  }

  @Test
  void aSampleOfRowsIsTheSameForAnyPartitioning() throws Exception {
    // the rows --sample-rows 100 --seed 7 keeps, found here: the 100 smallest (hash, index)
    int n = JSON.readTree(ZOO.resolve("resnet/expected.json").toFile()).get("rows").asInt();
    Long[] order = new Long[n];
    for (int i = 0; i < n; i++) {
      order[i] = (long) i;
    }
    java.util.Arrays.sort(order, java.util.Comparator
        .comparingLong((Long g) -> io.normstats.spark.RowSample.hash(7, g))
        .thenComparingLong(g -> g));
    int[] kept = java.util.Arrays.stream(order, 0, 100).mapToInt(Long::intValue).sorted()
        .toArray();
    int[][] part = new int[100][];
    for (int i = 0; i < 100; i++) {
      part[i] = java.util.Arrays.stream(images[kept[i]]).mapToInt(v -> (int) v).toArray();
    }
    Path subset = tmp.resolve("sampled-idx3-ubyte.gz");
    IdxFiles.writeImages(subset, 28, 28, part, true);
    String model = ZOO.resolve("resnet/dynamo.onnx").toString();
    Path a = tmp.resolve("sample-p1");
    Path b = tmp.resolve("sample-p4");
    Path c = tmp.resolve("sample-subset");
    Jobs.ok("recalibrate", "--model", model, "--input", input, "--sample-rows", "100",
        "--seed", "7", "--partitions", "1", "--output", a.toString());
    Jobs.ok("recalibrate", "--model", model, "--input", input, "--sample-rows", "100",
        "--seed", "7", "--partitions", "4", "--batch-size", "7", "--output", b.toString());
    Jobs.ok("recalibrate", "--model", model, "--input", subset.toString(),
        "--output", c.toString());
    for (String f : List.of("recalibrate.json", "model.onnx", "bn_stats.safetensors")) {
      assertArrayEquals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(b.resolve(f)), f);
    }
    // the same statistics as the 100 rows alone, precise_bn's minibatches included
    for (String f : List.of("model.onnx", "bn_stats.safetensors")) {
      assertArrayEquals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(c.resolve(f)), f);
    }
    JsonNode json = JSON.readTree(a.resolve("recalibrate.json").toFile());
    JsonNode whole = JSON.readTree(c.resolve("recalibrate.json").toFile());
    assertEquals(100, json.get("rows").asLong());
    assertEquals(512, json.get("input_rows").asLong());
    assertEquals(7, json.get("seed").asLong());
    for (int k = 0; k < json.get("layers").size(); k++) {
      assertEquals(whole.get("layers").get(k).get("precise_bn"),
          json.get("layers").get(k).get("precise_bn"));
    }
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(v -> out.add(v.asText()));
    return out;
  }

  private static List<String> strings(java.util.Iterator<String> names) {
    List<String> out = new ArrayList<>();
    names.forEachRemaining(out::add);
    return out;
  }

  private static double[] doubles(JsonNode array) {
    double[] out = new double[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asDouble();
    }
    return out;
  }
}
