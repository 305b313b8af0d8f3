package io.normstats.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.normstats.exact.ExactMoments;
import io.normstats.io.SafeTensors;
import io.normstats.onnx.ActivationMoments;
import io.normstats.onnx.BatchNormLayer;
import io.normstats.onnx.NetworkInput;
import io.normstats.onnx.NetworkSession;
import io.normstats.onnx.OnnxModel;
import io.normstats.onnx.proto.OnnxProto.AttributeProto;
import io.normstats.onnx.proto.OnnxProto.GraphProto;
import io.normstats.onnx.proto.OnnxProto.ModelProto;
import io.normstats.onnx.proto.OnnxProto.TensorProto;
import io.normstats.testing.IdxFiles;
import io.normstats.testing.OnnxGraphs;
import io.normstats.testing.Jobs;
import io.normstats.testing.TestSpark;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The recalibrate job on the sample CNN and on a residual MLP: its three outputs, their
 * invariance to partitioning and batch size, what the written model does in prediction mode, the
 * evaluation against labels counted here, and every kind of bad input.
 */
class RecalibrateJobTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String MODEL = OnnxGraphs.sampleModel().toString();
  private static final String IMAGES = "sample-data/fashion-mnist/t10k-images-idx3-ubyte.gz";
  private static final String LABELS = "sample-data/fashion-mnist/t10k-labels-idx1-ubyte.gz";
  private static SparkSession spark;
  private static double[][] images;
  private static int[] labels;
  @TempDir static Path tmp;

  @BeforeAll
  static void start() throws IOException {
    spark = TestSpark.session("RecalibrateJobTest");
    images = IdxFiles.readGzipImages(Path.of(IMAGES));
    labels = readLabels(Path.of(LABELS));
    writeSubset(tmp.resolve("train-1500-images-idx3-ubyte.gz"), 0, 1500);
    writeSubset(tmp.resolve("eval-images-idx3-ubyte.gz"), 9000, 10_000);
    writeLabels(tmp.resolve("eval-labels-idx1-ubyte.gz"), Arrays.copyOfRange(labels, 9000, 10_000));
    writeLabels(tmp.resolve("short-labels-idx1-ubyte.gz"), Arrays.copyOfRange(labels, 0, 999));
  }

  private static void writeSubset(Path file, int from, int to) throws IOException {
    int[][] part = new int[to - from][];
    for (int i = from; i < to; i++) {
      part[i - from] = Arrays.stream(images[i]).mapToInt(v -> (int) v).toArray();
    }
    IdxFiles.writeImages(file, 28, 28, part, true);
  }

  private static int[] readLabels(Path file) throws IOException {
    try (InputStream in = new GZIPInputStream(Files.newInputStream(file))) {
      byte[] b = in.readAllBytes();
      int[] out = new int[b.length - 8];
      for (int i = 0; i < out.length; i++) {
        out[i] = b[8 + i] & 0xFF;
      }
      return out;
    }
  }

  private static void writeLabels(Path file, int[] values) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(bytes);
    out.writeInt(0x00000801);
    out.writeInt(values.length);
    for (int v : values) {
      out.writeByte(v);
    }
    try (var f = new GZIPOutputStream(Files.newOutputStream(file))) {
      f.write(bytes.toByteArray());
    }
  }

  /** The predictions (argmax of the logits) of {@code model} for the given rows. */
  private static int[] predict(byte[] model, double[][] rows) {
    OnnxModel m = OnnxModel.parse(model, "m");
    NetworkInput in = m.input(null);
    int[] out = new int[rows.length];
    try (NetworkSession s = new NetworkSession(model, "m", in, in.itemShape(784),
        List.of("logits"), 100)) {
      for (int start = 0; start < rows.length; start += 100) {
        for (int i = 0; i < 100; i++) {
          System.arraycopy(rows[start + i], 0, s.rows(), i * 784, 784);
        }
        s.run(100);
        float[] logits = s.floats(0);
        for (int i = 0; i < 100; i++) {
          int best = 0;
          for (int k = 1; k < 10; k++) {
            if (logits[i * 10 + k] > logits[i * 10 + best]) {
              best = k;
            }
          }
          out[start + i] = best;
        }
      }
    }
    return out;
  }

  @Test
  void recalibratesTheSampleCnn() throws Exception {
    Path out = tmp.resolve("out-sample");
    Jobs.ok("recalibrate", "--model", MODEL, "--input", IMAGES,
        "--eval-input", tmp.resolve("eval-images-idx3-ubyte.gz").toString(),
        "--eval-labels", tmp.resolve("eval-labels-idx1-ubyte.gz").toString(),
        "--output", out.toString());
    JsonNode json = JSON.readTree(out.resolve("recalibrate.json").toFile());
    assertEquals(10_000, json.get("rows").asLong());
    assertEquals(3, json.get("levels").asInt());
    assertEquals(3, json.get("passes").asInt());
    assertEquals("population", json.get("variance").asText());
    OnnxModel stored = OnnxModel.parse(Files.readAllBytes(Path.of(MODEL)), "stored");
    byte[] writtenBytes = Files.readAllBytes(out.resolve("model.onnx"));
    OnnxModel written = OnnxModel.parse(writtenBytes, "written");
    Map<String, SafeTensors.Tensor> tensors;
    try (InputStream in = Files.newInputStream(out.resolve("bn_stats.safetensors"))) {
      tensors = SafeTensors.read(in, "bn_stats.safetensors");
    }
    assertEquals(List.of("bn1.running_mean", "bn1.running_var", "bn2.running_mean",
        "bn2.running_var", "bn3.running_mean", "bn3.running_var"), List.copyOf(tensors.keySet()));
    int[] spatial = {28 * 28, 14 * 14, 1};
    for (int k = 0; k < 3; k++) {
      JsonNode layer = json.get("layers").get(k);
      BatchNormLayer before = stored.batchNorms().get(k);
      BatchNormLayer after = written.batchNorms().get(k);
      assertEquals(before.node(), layer.get("node").asText());
      assertEquals(before.input(), layer.get("input").asText());
      assertEquals(k, layer.get("level").asInt());
      assertEquals(before.channels(), layer.get("channels").asInt());
      assertEquals(10_000L * spatial[k], layer.get("count").asLong());
      for (int c = 0; c < before.channels(); c++) {
        assertEquals(before.storedMean()[c], layer.get("stored_mean").get(c).asDouble());
        assertEquals(before.storedVariance()[c], layer.get("stored_var").get(c).asDouble());
        // the model holds the float nearest to the exact value, which the JSON gives as a double
        assertEquals((float) layer.get("mean").get(c).asDouble(), (float) after.storedMean()[c],
            Math.ulp((float) after.storedMean()[c]));
        assertEquals((float) layer.get("var_pop").get(c).asDouble(),
            (float) after.storedVariance()[c], Math.ulp((float) after.storedVariance()[c]));
      }
      SafeTensors.Tensor mean = tensors.get(before.mean());
      assertEquals("F32", mean.dtype());
      assertArrayEquals(new long[] {before.channels()}, mean.shape());
      assertArrayEquals(after.storedMean(), mean.values());
      assertArrayEquals(after.storedVariance(), tensors.get(before.variance()).values());
      assertArrayEquals(before.scaleValues(), after.scaleValues()); // nothing else changed
      for (String e : List.of("stored", "one_pass", "precise_bn")) {
        assertTrue(layer.get("errors").get(e).get("var_rel_err").get("median").isNumber(), e);
      }
    }

    // In prediction mode the written model's BatchNorms output, per channel over the training
    // data, mean beta and variance gamma^2 var / (var + eps), as BatchNorm intends.
    OnnxModel.Capture outputs = written.capturing(written.batchNorms().stream()
        .map(BatchNormLayer::output).toList());
    String[] names = written.batchNorms().stream().map(BatchNormLayer::node)
        .toArray(String[]::new);
    ActivationMoments moments = new ActivationMoments(names);
    NetworkInput in = written.input(null);
    try (NetworkSession s = new NetworkSession(outputs.model().toByteArray(), "written", in,
        in.itemShape(784), outputs.outputs(), 250)) {
      for (int start = 0; start < images.length; start += 250) {
        for (int i = 0; i < 250; i++) {
          System.arraycopy(images[start + i], 0, s.rows(), i * 784, 784);
        }
        s.run(250);
        for (int k = 0; k < 3; k++) {
          moments.add(k, s.shape(k), s.floats(k), 250);
        }
      }
    }
    for (int k = 0; k < 3; k++) {
      BatchNormLayer l = written.batchNorms().get(k);
      ExactMoments[] m = moments.exact(k);
      for (int c = 0; c < l.channels(); c++) {
        double gamma = l.scaleValues()[c];
        double var = l.storedVariance()[c];
        assertEquals(l.biasValues()[c], m[c].mean(), 1e-5 * Math.abs(gamma), l.node() + " " + c);
        double expected = gamma * gamma * var / (var + l.epsilon());
        assertEquals(expected, m[c].varPop(), 1e-5 * expected, l.node() + " " + c);
      }
    }

    // The evaluation, counted here with each model.
    double[][] evalRows = Arrays.copyOfRange(images, 9000, 10_000);
    int[] evalLabels = Arrays.copyOfRange(labels, 9000, 10_000);
    int[] before = predict(Files.readAllBytes(Path.of(MODEL)), evalRows);
    int[] after = predict(writtenBytes, evalRows);
    int correctBefore = 0;
    int correctAfter = 0;
    int changed = 0;
    for (int i = 0; i < evalRows.length; i++) {
      correctBefore += before[i] == evalLabels[i] ? 1 : 0;
      correctAfter += after[i] == evalLabels[i] ? 1 : 0;
      changed += before[i] != after[i] ? 1 : 0;
    }
    JsonNode eval = json.get("evaluation");
    assertEquals(1000, eval.get("rows").asLong());
    assertEquals("logits", eval.get("output").asText());
    assertEquals(correctBefore / 1000.0, eval.get("accuracy").get("stored").asDouble());
    assertEquals(correctAfter / 1000.0, eval.get("accuracy").get("recalibrated").asDouble());
    assertEquals(changed / 1000.0, eval.get("changed_predictions").get("recalibrated")
        .asDouble());
    assertTrue(eval.get("accuracy").has("one_pass") && eval.get("accuracy").has("precise_bn"));
  }

  @Test
  void theSameBytesForAnyPartitioningAndInferenceBatchSize() throws Exception {
    String input = tmp.resolve("train-1500-images-idx3-ubyte.gz").toString();
    Path a = tmp.resolve("out-p1");
    Path b = tmp.resolve("out-p7");
    Jobs.ok("recalibrate", "--model", MODEL, "--input", input, "--partitions", "1",
        "--output", a.toString());
    Jobs.ok("recalibrate", "--model", MODEL, "--input", input, "--partitions", "7",
        "--batch-size", "10", "--output", b.toString());
    for (String f : List.of("recalibrate.json", "model.onnx", "bn_stats.safetensors")) {
      assertArrayEquals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(b.resolve(f)), f);
    }
  }

  @Test
  void aResidualMlpOnScalarColumnsWithALabelColumn() throws Exception {
    int features = 6;
    Path model = tmp.resolve("mlp.onnx");
    Files.write(model, OnnxGraphs.residualMlp(features, 4));
    StructType schema = new StructType();
    for (int j = 0; j < features; j++) {
      schema = schema.add("x" + j, DataTypes.DoubleType);
    }
    StructType labelled = schema.add("label", DataTypes.IntegerType);
    SplittableRandom rnd = new SplittableRandom(8);
    List<org.apache.spark.sql.Row> rows = new ArrayList<>();
    List<org.apache.spark.sql.Row> evalRows = new ArrayList<>();
    for (int i = 0; i < 900; i++) {
      Object[] v = new Object[features];
      Object[] w = new Object[features + 1];
      for (int j = 0; j < features; j++) {
        v[j] = rnd.nextGaussian() * (j + 1) + j;
        w[j] = rnd.nextGaussian() * (j + 1) + j;
      }
      w[features] = i % 3;
      rows.add(RowFactory.create(v));
      evalRows.add(RowFactory.create(w));
    }
    Path train = tmp.resolve("mlp-train.parquet");
    Path eval = tmp.resolve("mlp-eval.parquet");
    spark.createDataFrame(rows, schema).repartition(3).write().parquet(train.toString());
    spark.createDataFrame(evalRows, labelled).write().parquet(eval.toString());
    Path out = tmp.resolve("out-mlp");
    List<String> featureList = new ArrayList<>();
    for (int j = 0; j < features; j++) {
      featureList.add("x" + j);
    }
    Jobs.ok("recalibrate", "--model", model.toString(), "--input", train.toString(),
        "--features", String.join(",", featureList), "--variance-mode", "sample",
        "--precise-bn-batch-size", "16", "--eval-input", eval.toString(), "--label-col",
        "label", "--output", out.toString());
    JsonNode json = JSON.readTree(out.resolve("recalibrate.json").toFile());
    assertEquals(900, json.get("rows").asLong());
    assertEquals(4, json.get("levels").asInt());
    assertEquals(4, json.get("passes").asInt());
    List<String> nodes = new ArrayList<>();
    List<Integer> levels = new ArrayList<>();
    json.get("layers").forEach(l -> {
      nodes.add(l.get("node").asText());
      levels.add(l.get("level").asInt());
    });
    assertEquals(List.of("bn_a", "bn_b", "bn_c", "bn_d", "bn_e"), nodes);
    assertEquals(List.of(0, 1, 2, 2, 3), levels);
    OnnxModel written = OnnxModel.parse(Files.readAllBytes(out.resolve("model.onnx")), "w");
    // --variance-mode sample: the model holds var_samp, rounded to float
    JsonNode e = json.get("layers").get(4);
    assertEquals((float) e.get("var_samp").get(2).asDouble(),
        (float) written.batchNorms().get(4).storedVariance()[2],
        Math.ulp((float) written.batchNorms().get(4).storedVariance()[2]));
    JsonNode evaluation = json.get("evaluation");
    assertEquals("column label", evaluation.get("labels").asText());
    assertEquals(900, evaluation.get("rows").asLong());
    double stored = evaluation.get("accuracy").get("stored").asDouble();
    assertTrue(stored >= 0 && stored <= 1);
  }

  /** A case of bad input: the extra arguments and the exit code and message it must give. */
  private record Bad(String name, List<String> args, int code, String fragment) {}

  private static Path modelFile(String name, ModelProto model) throws IOException {
    return Files.write(tmp.resolve(name), model.toByteArray());
  }

  private static List<Bad> badCases() throws IOException {
    byte[] sample = Files.readAllBytes(Path.of(MODEL));
    Path notOnnx = Files.writeString(tmp.resolve("notes.onnx"), "this is not a model\n");
    Path truncated = Files.write(tmp.resolve("truncated.onnx"),
        Arrays.copyOf(sample, sample.length / 3));
    ModelProto base = ModelProto.parseFrom(sample);
    GraphProto.Builder plain = GraphProto.newBuilder().addInput(OnnxGraphs.input("image",
        TensorProto.DataType.FLOAT_VALUE, -1, 1, 28, 28));
    plain.addNode(OnnxGraphs.node("Flatten", "flat", "flat_out", "image"));
    OnnxGraphs.gemm(plain, new SplittableRandom(1), "fc", "flat_out", 784, 10, "logits");
    Path noBn = modelFile("plain.onnx", OnnxGraphs.model(plain, 17));
    GraphProto.Builder training = base.getGraph().toBuilder();
    for (int i = 0; i < training.getNodeCount(); i++) {
      if (training.getNode(i).getName().equals("/bn2/BatchNormalization")) {
        training.setNode(i, training.getNode(i).toBuilder().clearAttribute().addAttribute(
            AttributeProto.newBuilder().setName("training_mode").setI(1)
                .setType(AttributeProto.AttributeType.INT)));
      }
    }
    Path trainingMode = modelFile("training.onnx", base.toBuilder().setGraph(training).build());
    Path twoInputs = modelFile("two-inputs.onnx", base.toBuilder().setGraph(base.getGraph()
        .toBuilder().addInput(OnnxGraphs.input("mask", TensorProto.DataType.FLOAT_VALUE, -1, 4)))
        .build());
    Path ints = modelFile("int-input.onnx", base.toBuilder().setGraph(base.getGraph()
        .toBuilder().setInput(0, OnnxGraphs.input("image", TensorProto.DataType.INT64_VALUE,
            -1, 1, 28, 28))).build());
    Path small = modelFile("mlp.onnx", OnnxGraphs.residualMlpGraph(5, 1, 17));
    String eval = tmp.resolve("eval-images-idx3-ubyte.gz").toString();
    // PyTorch's default export without its external data file beside it
    Path withoutData = Files.createDirectories(tmp.resolve("without-data")).resolve("dynamo.onnx");
    Files.copy(Path.of("sample-data/zoo/resnet/dynamo.onnx"), withoutData,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    String folded = "sample-data/zoo/resnet/dynamo_folded.onnx";
    return List.of(
        new Bad("a prior weight above 1", List.of("--model", MODEL, "--prior-weight", "1.5"), 2,
            "--prior-weight must be in [0, 1]: 1.5"),
        new Bad("--layers matching nothing", List.of("--model", MODEL, "--layers", "bn1,conv*"),
            2, "--layers: 'conv*' matches no BatchNormalization of " + MODEL + " (node names such "
                + "as '/bn1/BatchNormalization', or parameter prefixes such as 'bn1')"),
        new Bad("a sample larger than the input", List.of("--model", MODEL, "--sample-rows",
            "1001"), 2, "--sample-rows 1001 is more than the input's 1000 rows"),
        new Bad("an unknown approximation", List.of("--model", MODEL, "--approximations",
            "one_pass,fast"), 2, "--approximations: unknown 'fast' (one_pass, precise_bn or none)"),
        new Bad("an external data file missing", List.of("--model", withoutData.toString()), 2,
            "the external data file " + withoutData + ".data of model " + withoutData
                + " does not exist (ONNX looks for it beside the model)"),
        new Bad("BatchNorms folded by the exporter", List.of("--model", folded), 2,
            folded + " has no BatchNormalization node: an exporter folded them"),
        new Bad("not an ONNX file", List.of("--model", notOnnx.toString()), 1,
            notOnnx + " is not an ONNX model"),
        new Bad("a truncated model", List.of("--model", truncated.toString()), 1,
            truncated + " is not an ONNX model"),
        new Bad("a missing model", List.of("--model", tmp.resolve("nope.onnx").toString()), 2,
            "model " + tmp.resolve("nope.onnx") + " does not exist"),
        new Bad("no BatchNormalization", List.of("--model", noBn.toString()), 2,
            "has no BatchNormalization node"),
        new Bad("training_mode=1", List.of("--model", trainingMode.toString()), 2,
            "BatchNormalization /bn2/BatchNormalization has training_mode=1"),
        new Bad("input length and model shape", List.of("--model", small.toString()), 2,
            "the input rows have 784 values, but the model's input 'x' has shape [N, 5] "
                + "(5 values per row)"),
        new Bad("several inputs, no --input-name", List.of("--model", twoInputs.toString()), 2,
            "has 2 inputs [image, mask]: choose one with --input-name"),
        new Bad("an unknown --input-name", List.of("--model", MODEL, "--input-name", "pixels"),
            2, "has no input 'pixels' (inputs: image)"),
        new Bad("an int64 input", List.of("--model", ints.toString()), 2,
            "input 'image' of " + ints + " holds int64; normstats feeds float, double, float16 "
                + "or bfloat16 tensors"),
        new Bad("a label count that differs", List.of("--model", MODEL, "--eval-input", eval,
            "--eval-labels", tmp.resolve("short-labels-idx1-ubyte.gz").toString()), 1,
            "short-labels-idx1-ubyte.gz has 999 labels, the evaluation input has 1000 rows"),
        new Bad("labels without an evaluation input", List.of("--model", MODEL, "--eval-labels",
            LABELS), 2, "--eval-labels, --label-col and --eval-output need --eval-input"),
        new Bad("an unknown evaluation output", List.of("--model", MODEL, "--eval-input", eval,
            "--eval-output", "probs"), 2, "has no output 'probs' (outputs: logits)"),
        new Bad("a precise_bn minibatch of one", List.of("--model", MODEL,
            "--precise-bn-batch-size", "1"), 2, "--precise-bn-batch-size must be at least 2"));
  }

  @TestFactory
  Stream<DynamicTest> badInputIsOneLineAndNothingWritten() throws IOException {
    List<DynamicTest> tests = new ArrayList<>();
    int k = 0;
    String input = tmp.resolve("eval-images-idx3-ubyte.gz").toString();
    for (Bad c : badCases()) {
      Path out = tmp.resolve("bad-" + k++);
      tests.add(DynamicTest.dynamicTest(c.name(), () -> {
        List<String> args = new ArrayList<>(c.args());
        args.addAll(List.of("--input", input, "--output", out.toString()));
        Jobs.Run run = Jobs.run("recalibrate", args.toArray(new String[0]));
        String err = run.stderr().strip();
        assertEquals(c.code(), run.exitCode(), err);
        assertEquals(1, err.lines().count(), "one line: " + err);
        assertTrue(err.startsWith("normstats recalibrate: error: "), err);
        assertTrue(err.contains(c.fragment()), "'" + c.fragment() + "' in: " + err);
        assertFalse(err.contains("Exception") || err.contains("\tat "), err);
        assertFalse(Files.exists(out), "nothing at the output");
        try (Stream<Path> left = Files.list(out.getParent())) {
          assertTrue(left.noneMatch(p -> p.getFileName().toString().startsWith(".bad-")),
              "staging left beside the output");
        }
      }));
    }
    return tests.stream();
  }
}
