package io.normstats.onnx.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.onnx.ElementType;
import io.normstats.onnx.SegmentSession;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The activation cache's stored slices give back each block's tensors byte for byte. */
class NetworkPassesTest {
  private static SegmentSession.Tensor tensor(ElementType type, Random random, long... shape) {
    long n = type.bytes();
    for (long d : shape) {
      n *= d;
    }
    byte[] data = new byte[(int) n];
    random.nextBytes(data);
    return new SegmentSession.Tensor(type.onnxType(), shape, data);
  }

  @Test
  void slicesGiveBackTheBlocks() {
    Random random = new Random(32);
    int slice = NetworkPasses.CHUNK_BYTES;
    List<NetworkPasses.Block> blocks = List.of(
        // one small tensor: one slice
        new NetworkPasses.Block(3, new SegmentSession.Tensor[] {
            tensor(ElementType.FLOAT, random, 3, 5)}),
        // a tensor of exactly one slice, one just over two, a float16 one and an empty one
        new NetworkPasses.Block(64, new SegmentSession.Tensor[] {
            tensor(ElementType.FLOAT, random, 64, slice / 256),
            tensor(ElementType.DOUBLE, random, 64, slice / 256 + 1),
            tensor(ElementType.FLOAT16, random, 64, 7, 3),
            tensor(ElementType.FLOAT, random, 64, 0)}),
        // only empty tensors
        new NetworkPasses.Block(2, new SegmentSession.Tensor[] {
            tensor(ElementType.FLOAT, random, 2, 0)}));
    List<NetworkPasses.Chunk> stored = new ArrayList<>();
    for (NetworkPasses.Block b : blocks) {
      List<NetworkPasses.Chunk> chunks = NetworkPasses.chunks(b);
      for (int i = 0; i < chunks.size(); i++) {
        assertTrue(chunks.get(i).data().length <= slice);
        assertEquals(i == chunks.size() - 1, chunks.get(i).last());
      }
      stored.addAll(chunks);
    }
    // 1 slice; 1 + 3 + 1 slices (the empty tensor adds none); 1 empty slice
    assertEquals(1 + 5 + 1, stored.size());
    Iterator<NetworkPasses.Block> back = NetworkPasses.blocks(stored.iterator());
    for (NetworkPasses.Block b : blocks) {
      NetworkPasses.Block r = back.next();
      assertEquals(b.rows(), r.rows());
      assertEquals(b.tensors().length, r.tensors().length);
      for (int k = 0; k < b.tensors().length; k++) {
        assertEquals(b.tensors()[k].elemType(), r.tensors()[k].elemType());
        assertArrayEquals(b.tensors()[k].shape(), r.tensors()[k].shape());
        byte[] data = b.tensors()[k].toBytes();
        assertArrayEquals(data, r.tensors()[k].toBytes());
        // a range across slices, and the whole value put into a buffer
        int from = data.length / 3;
        byte[] range = new byte[data.length - from - data.length / 5];
        r.tensors()[k].get(from, range, 0, range.length);
        assertArrayEquals(java.util.Arrays.copyOfRange(data, from, from + range.length), range);
        java.nio.ByteBuffer put = java.nio.ByteBuffer.allocateDirect(data.length + 1).put((byte) 7);
        r.tensors()[k].putInto(put);
        assertEquals(data.length + 1, put.position());
        byte[] written = new byte[data.length];
        put.get(1, written);
        assertArrayEquals(data, written);
      }
    }
    assertFalse(back.hasNext());
  }
}
