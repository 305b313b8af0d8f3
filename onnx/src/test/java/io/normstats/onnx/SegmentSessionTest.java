package io.normstats.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.normstats.testing.IdxFiles;
import io.normstats.testing.OnnxGraphs;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A segment's session: the same bits whether ONNX Runtime allocates its outputs or writes them
 * into the session's pinned memory. */
class SegmentSessionTest {
  private static final OnnxModel SAMPLE = OnnxModel.parse(OnnxGraphs.sampleModelBytes(), "sample");
  private static double[][] images;

  @BeforeAll
  static void readImages() throws Exception {
    images = java.util.Arrays.copyOf(IdxFiles.readGzipImages(
        Path.of("sample-data/fashion-mnist/t10k-images-idx3-ubyte.gz")), 69);
  }

  /** Rows {@code [from, from + n)} as a float tensor [n, 1, 28, 28]. */
  private static SegmentSession.Tensor batch(int from, int n) {
    ByteBuffer b = ByteBuffer.allocate(n * 784 * 4).order(ByteOrder.nativeOrder());
    for (int i = from; i < from + n; i++) {
      for (double v : images[i]) {
        b.putFloat((float) v);
      }
    }
    return new SegmentSession.Tensor(1, new long[] {n, 1, 28, 28}, b.array());
  }

  @Test
  void outputsOfPinnedRunsAreTheBitsOfAFreshSession() {
    // every BatchNorm's input, the first one twice (captured and cut), and the logits
    List<String> tensors = new ArrayList<>();
    SAMPLE.batchNorms().forEach(l -> tensors.add(l.input()));
    tensors.add(SAMPLE.batchNorms().get(0).input());
    tensors.addAll(SAMPLE.outputs());
    OnnxModel.Capture c = SAMPLE.capturing(tensors);
    byte[] model = c.model().toByteArray();
    String input = SAMPLE.input(null).name();
    int[] sizes = {16, 16, 16, 16, 5}; // the third and fourth runs of 16 rows write pinned memory
    try (SegmentSession session = new SegmentSession(model, "sample", List.of(input),
        c.outputs())) {
      int from = 0;
      byte[] previous = null;
      for (int n : sizes) {
        List<SegmentSession.Output> out = session.run(List.of(batch(from, n)));
        assertEquals(c.outputs().size(), out.size());
        int twice = SAMPLE.batchNorms().size();
        assertSame(out.get(0), out.get(twice));
        try (SegmentSession fresh = new SegmentSession(model, "fresh", List.of(input),
            c.outputs())) {
          List<SegmentSession.Output> expected = fresh.run(List.of(batch(from, n)));
          for (int k = 0; k < out.size(); k++) {
            assertEquals(expected.get(k).elemType(), out.get(k).elemType());
            assertArrayEquals(expected.get(k).shape(), out.get(k).shape());
            assertArrayEquals(expected.get(k).toBytes(), out.get(k).toBytes(),
                "output " + c.outputs().get(k) + " of rows " + from + " to " + (from + n));
          }
          // the floats read from either are the tensor's values
          assertArrayEquals(expected.get(0).floats(null), out.get(0).floats(new float[3]));
        }
        byte[] first = out.get(0).toBytes();
        if (previous != null && previous.length == first.length) {
          assertNotEquals(ByteBuffer.wrap(previous), ByteBuffer.wrap(first)); // other rows
        }
        previous = first;
        from += n;
      }
    }
  }
}
