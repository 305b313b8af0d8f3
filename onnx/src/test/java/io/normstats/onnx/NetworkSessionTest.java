package io.normstats.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.InputException;
import io.normstats.onnx.proto.OnnxProto.GraphProto;
import io.normstats.onnx.proto.OnnxProto.ModelProto;
import io.normstats.onnx.proto.OnnxProto.TensorProto;
import io.normstats.onnx.proto.OnnxProto.ValueInfoProto;
import io.normstats.testing.IdxFiles;
import io.normstats.testing.OnnxGraphs;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** ONNX Runtime as normstats runs it: reproducible activations, captured where they should be. */
class NetworkSessionTest {
  private static final OnnxModel SAMPLE = OnnxModel.parse(OnnxGraphs.sampleModelBytes(), "sample");
  private static double[][] images;

  @BeforeAll
  static void readImages() throws Exception {
    double[][] all = IdxFiles.readGzipImages(
        Path.of("sample-data/fashion-mnist/t10k-images-idx3-ubyte.gz"));
    images = java.util.Arrays.copyOf(all, 300);
  }

  /** Runs {@code rows} through a capture of {@code tensors} in batches of {@code batch}. */
  private static List<float[]> capture(OnnxModel model, List<String> tensors, double[][] rows,
      int batch) {
    OnnxModel.Capture c = model.capturing(tensors);
    NetworkInput in = model.input(null);
    List<float[]> perRow = new ArrayList<>();
    try (NetworkSession s = new NetworkSession(c.model().toByteArray(), "m", in,
        in.itemShape(rows[0].length), c.outputs(), batch)) {
      for (int start = 0; start < rows.length; start += batch) {
        int n = Math.min(batch, rows.length - start);
        for (int i = 0; i < n; i++) {
          System.arraycopy(rows[start + i], 0, s.rows(), i * s.rowLength(), s.rowLength());
        }
        s.run(n);
        for (int i = 0; i < n; i++) {
          List<float[]> parts = new ArrayList<>();
          int total = 0;
          for (int k = 0; k < tensors.size(); k++) {
            long[] shape = s.shape(k);
            int item = (int) (java.util.Arrays.stream(shape).reduce(1, (a, b) -> a * b) / shape[0]);
            parts.add(java.util.Arrays.copyOfRange(s.floats(k), i * item, (i + 1) * item));
            total += item;
          }
          float[] row = new float[total];
          int at = 0;
          for (float[] p : parts) {
            System.arraycopy(p, 0, row, at, p.length);
            at += p.length;
          }
          perRow.add(row);
        }
      }
    }
    return perRow;
  }

  private static List<String> bnInputs(OnnxModel m) {
    return m.batchNorms().stream().map(BatchNormLayer::input).toList();
  }

  @Test
  void aRowsActivationsDoNotDependOnItsBatch() {
    List<float[]> reference = capture(SAMPLE, bnInputs(SAMPLE), images, 1);
    for (int batch : new int[] {7, 64, 300}) {
      List<float[]> got = capture(SAMPLE, bnInputs(SAMPLE), images, batch);
      for (int i = 0; i < images.length; i++) {
        assertArrayEquals(reference.get(i), got.get(i), "row " + i + " in batches of " + batch);
      }
    }
    // the same rows in another order, so that each has other neighbours
    double[][] reversed = new double[images.length][];
    for (int i = 0; i < images.length; i++) {
      reversed[i] = images[images.length - 1 - i];
    }
    List<float[]> got = capture(SAMPLE, bnInputs(SAMPLE), reversed, 64);
    for (int i = 0; i < images.length; i++) {
      assertArrayEquals(reference.get(i), got.get(images.length - 1 - i), "reversed row " + i);
    }
  }

  @Test
  void theCapturedTensorIsTheBatchNormsInput() {
    BatchNormLayer bn1 = SAMPLE.batchNorms().get(0);
    BatchNormLayer bn2 = SAMPLE.batchNorms().get(1);
    // bn2's input alone (bn1 upstream, not captured: ONNX Runtime folds it into conv1)
    List<float[]> alone = capture(SAMPLE, List.of(bn2.input()), images, 64);
    // and with bn1's input and output captured too, which no optimizer may fold away: the same
    // values, up to the float32 rounding of conv1's weights with bn1 folded in
    List<float[]> withBn1 = capture(SAMPLE, List.of(bn2.input(), bn1.input(), bn1.output()),
        images, 64);
    int c1 = bn1.channels();
    int s1 = 28 * 28;
    int n2 = 32 * 14 * 14;
    for (int i = 0; i < images.length; i++) {
      float[] a = alone.get(i);
      float[] w = withBn1.get(i);
      for (int j = 0; j < n2; j++) {
        assertEquals(w[j], a[j], 1e-5 * (1 + Math.abs(w[j])), "bn2 input, row " + i);
      }
      // bn1's output is its inference formula applied to the captured input
      for (int c = 0; c < c1; c++) {
        double inv = bn1.scaleValues()[c] / Math.sqrt(bn1.storedVariance()[c] + bn1.epsilon());
        for (int p = 0; p < s1; p++) {
          double x = w[n2 + c * s1 + p];
          double y = w[n2 + c1 * s1 + c * s1 + p];
          double expected = (x - bn1.storedMean()[c]) * inv + bn1.biasValues()[c];
          assertEquals(expected, y, 1e-5 * (1 + Math.abs(expected)), "bn1 output, row " + i);
        }
      }
    }
  }

  @Test
  void trainingModeNormalizesWithTheBatchsStatistics() {
    OnnxModel m = OnnxModel.parse(OnnxGraphs.residualMlp(5, 7), "mlp");
    OnnxModel train = m.withBatchNormsInTrainingMode();
    SplittableRandom rnd = new SplittableRandom(3);
    double[][] rows = new double[16][5];
    for (double[] r : rows) {
      for (int j = 0; j < 5; j++) {
        r[j] = rnd.nextGaussian() * 3 + j;
      }
    }
    for (BatchNormLayer bn : m.batchNorms()) {
      List<float[]> xy = capture(train, List.of(bn.input(), bn.output()), rows, 16);
      int c = bn.channels();
      for (int ch = 0; ch < c; ch++) {
        double sum = 0;
        for (float[] r : xy) {
          sum += r[ch];
        }
        double mean = sum / rows.length;
        double ss = 0;
        for (float[] r : xy) {
          ss += (r[ch] - mean) * (r[ch] - mean);
        }
        double var = ss / rows.length; // biased, as training-mode BatchNorm normalizes
        for (float[] r : xy) {
          double expected = (r[ch] - mean) / Math.sqrt(var + bn.epsilon()) * bn.scaleValues()[ch]
              + bn.biasValues()[ch];
          assertEquals(expected, r[c + ch], 2e-5 * (1 + Math.abs(expected)), bn.node());
        }
      }
    }
    // in inference mode the same rows normalize with the stored statistics instead
    BatchNormLayer a = m.batchNorms().get(0);
    List<float[]> inference = capture(m, List.of(a.input(), a.output()), rows, 16);
    float[] r0 = inference.get(0);
    double expected = (r0[0] - a.storedMean()[0]) / Math.sqrt(a.storedVariance()[0] + a.epsilon())
        * a.scaleValues()[0] + a.biasValues()[0];
    assertEquals(expected, r0[a.channels()], 1e-5 * (1 + Math.abs(expected)));
  }

  @Test
  void aFixedBatchDimensionIsRunFullWithPadding() {
    ModelProto dynamic = OnnxGraphs.residualMlpGraph(4, 11, 17);
    ModelProto fixed = dynamic.toBuilder().setGraph(dynamic.getGraph().toBuilder().setInput(0,
        OnnxGraphs.input("x", TensorProto.DataType.FLOAT_VALUE, 8, 4))).build();
    OnnxModel d = OnnxModel.parse(dynamic.toByteArray(), "dynamic");
    OnnxModel f = OnnxModel.parse(fixed.toByteArray(), "fixed");
    assertEquals(8, f.input(null).fixedBatchSize());
    double[][] rows = new double[11][4];
    SplittableRandom rnd = new SplittableRandom(5);
    for (double[] r : rows) {
      for (int j = 0; j < 4; j++) {
        r[j] = rnd.nextDouble(-2, 2);
      }
    }
    List<float[]> expected = capture(d, bnInputs(d), rows, 3);
    List<float[]> got = capture(f, bnInputs(f), rows, 8); // 8 + 3 rows, the last batch padded
    for (int i = 0; i < rows.length; i++) {
      assertArrayEquals(expected.get(i), got.get(i), "row " + i);
    }
  }

  @Test
  void doubleInputsRunAsDoubleTensors() {
    GraphProto.Builder g = GraphProto.newBuilder()
        .addInput(OnnxGraphs.input("x", TensorProto.DataType.DOUBLE_VALUE, -1, 2))
        .addOutput(ValueInfoProto.newBuilder().setName("y"));
    g.addNode(OnnxGraphs.node("Mul", "twice", "x2", "x", "two"));
    g.addInitializer(TensorProto.newBuilder().setName("two")
        .setDataType(TensorProto.DataType.DOUBLE_VALUE).addDoubleData(2.0));
    OnnxModel m = OnnxModel.parse(OnnxGraphs.model(g.addNode(OnnxGraphs.node("Identity", "id",
        "y", "x2")), 17).toByteArray(), "double");
    NetworkInput in = m.input(null);
    assertEquals(ElementType.DOUBLE, in.type());
    try (NetworkSession s = new NetworkSession(m.toByteArray(), "double", in,
        in.itemShape(2), List.of("y"), 4)) {
      double[] v = {0.1, 1e300, -3.25, Math.PI};
      System.arraycopy(v, 0, s.rows(), 0, 4);
      s.run(2);
      assertEquals(ElementType.DOUBLE, s.type(0));
      assertArrayEquals(new long[] {2, 2}, s.shape(0));
      assertArrayEquals(new double[] {0.2, 2e300, -6.5, 2 * Math.PI},
          java.util.Arrays.copyOf(s.doubles(0), 4));
    }
  }

  @Test
  void aGraphThatNeedsAnotherInputIsAUsageError() {
    ModelProto p = OnnxGraphs.residualMlpGraph(4, 1, 17);
    GraphProto.Builder g = p.getGraph().toBuilder()
        .addInput(OnnxGraphs.input("mask", TensorProto.DataType.FLOAT_VALUE, -1, 4));
    g.setNode(0, g.getNode(0).toBuilder().setInput(0, "masked"));
    g.addNode(0, OnnxGraphs.node("Mul", "apply_mask", "masked", "x", "mask"));
    OnnxModel m = OnnxModel.parse(p.toBuilder().setGraph(g).build().toByteArray(), "two.onnx");
    OnnxModel.Capture c = m.capturing(List.of("bn_a_out"));
    InputException e = assertThrows(InputException.class, () -> new NetworkSession(
        c.model().toByteArray(), "two.onnx", m.input("x"), new long[] {4}, c.outputs(), 4));
    assertEquals(InputException.USAGE, e.exitCode());
    assertEquals("two.onnx needs input(s) [mask] besides 'x'; normstats feeds the rows to one "
        + "input", e.getMessage());
  }

  @Test
  void aModelOnnxRuntimeCannotLoadIsAnError() {
    ModelProto p = OnnxGraphs.residualMlpGraph(4, 1, 17);
    GraphProto.Builder g = p.getGraph().toBuilder();
    g.setNode(0, g.getNode(0).toBuilder().setOpType("NoSuchOperator"));
    OnnxModel m = OnnxModel.parse(p.toBuilder().setGraph(g).build().toByteArray(), "odd.onnx");
    InputException e = assertThrows(InputException.class, () -> new NetworkSession(
        m.toByteArray(), "odd.onnx", m.input(null), new long[] {4}, List.of("logits"), 4));
    assertTrue(e.getMessage().startsWith("odd.onnx: ONNX Runtime cannot load the model: "),
        e.getMessage());
    assertTrue(e.getMessage().indexOf('\n') < 0);
  }
}
