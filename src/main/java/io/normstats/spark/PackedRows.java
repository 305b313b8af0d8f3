package io.normstats.spark;

import io.normstats.minibatch.BatchMoments;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A row of doubles as the fewest bytes that give every value back bit for bit: the records the
 * minibatch pass shuffles. One byte per value when every value is an integer in [0, 255] (8-bit
 * pixels: the shuffle of Fashion-MNIST is 8 times smaller than as doubles), four when every value is
 * a float, else eight. A leading byte says which; -0.0 and NaN payloads are kept (they take the
 * wider forms).
 */
final class PackedRows {
  static final byte UNSIGNED_BYTES = 1;
  static final byte FLOATS = 2;
  static final byte DOUBLES = 3;

  /** Little-endian views of a packed row's floats (as int bits) and doubles. */
  private static final VarHandle FLOAT_BITS =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle DOUBLE_VALUES =
      MethodHandles.byteArrayViewVarHandle(double[].class, ByteOrder.LITTLE_ENDIAN);

  private PackedRows() {}

  /** Packs {@code values[0 .. length)}. */
  static byte[] pack(double[] values, int length) {
    // 8-bit data (the common case) is written as it is tested, in one branch-free pass that stops
    // at the first value that does not fit, and never pays for the float test
    byte[] small = new byte[1 + length];
    small[0] = UNSIGNED_BYTES;
    boolean bytes = true;
    for (int k = 0; k < length; k++) {
      double x = values[k];
      int b = (int) x;
      small[1 + k] = (byte) b;
      if (!((b == x) & ((b & ~0xFF) == 0) & (Double.doubleToRawLongBits(x) != Long.MIN_VALUE))) {
        bytes = false;
        break;
      }
    }
    if (bytes) {
      return small;
    }
    boolean floats = true;
    for (int k = 0; k < length && floats; k++) {
      floats = Double.doubleToRawLongBits((float) values[k])
          == Double.doubleToRawLongBits(values[k]);
    }
    if (floats) {
      byte[] out = new byte[1 + 4 * length];
      out[0] = FLOATS;
      ByteBuffer buffer = ByteBuffer.wrap(out, 1, 4 * length).slice().order(ByteOrder.LITTLE_ENDIAN);
      for (int k = 0; k < length; k++) {
        buffer.putFloat((float) values[k]);
      }
      return out;
    }
    byte[] out = new byte[1 + 8 * length];
    out[0] = DOUBLES;
    ByteBuffer.wrap(out, 1, 8 * length).slice().order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer()
        .put(values, 0, length);
    return out;
  }

  /**
   * Whether a row packed by {@link #pack} holds one byte per value: its values are all 8-bit
   * ({@link BatchMoments#isUnsignedByte}).
   */
  static boolean isUnsignedBytes(byte[] packed) {
    return packed[0] == UNSIGNED_BYTES;
  }

  /**
   * Value {@code k} of a row packed by {@link #pack} from {@code length} values, without unpacking
   * the others.
   *
   * @throws IllegalStateException if {@code packed} is not a packed row of {@code length} values
   */
  static double valueAt(byte[] packed, int length, int k) {
    int width = width(packed, length);
    java.util.Objects.checkIndex(k, length);
    return switch (width) {
      case 1 -> packed[1 + k] & 0xFF;
      case 4 -> Float.intBitsToFloat((int) FLOAT_BITS.get(packed, 1 + 4 * k));
      default -> (double) DOUBLE_VALUES.get(packed, 1 + 8 * k);
    };
  }

  /** The bytes per value of a packed row of {@code length} values; checks its form and size. */
  private static int width(byte[] packed, int length) {
    int width = switch (packed[0]) {
      case UNSIGNED_BYTES -> 1;
      case FLOATS -> 4;
      case DOUBLES -> 8;
      default -> throw new IllegalStateException("not a packed row: form " + packed[0]);
    };
    if (packed.length != 1 + width * length) {
      throw new IllegalStateException("a packed row of " + (packed.length - 1) / width
          + " values where " + length + " were expected");
    }
    return width;
  }

  /**
   * Unpacks a row of {@code length} values into {@code out[offset .. offset + length)}.
   *
   * @throws IllegalStateException if {@code packed} does not hold {@code length} values
   */
  static void unpack(byte[] packed, int length, double[] out, int offset) {
    int width = width(packed, length);
    switch (width) {
      case 1 -> {
        for (int k = 0; k < length; k++) {
          out[offset + k] = packed[1 + k] & 0xFF;
        }
      }
      case 4 -> {
        ByteBuffer buffer = ByteBuffer.wrap(packed, 1, 4 * length).slice()
            .order(ByteOrder.LITTLE_ENDIAN);
        for (int k = 0; k < length; k++) {
          out[offset + k] = buffer.getFloat();
        }
      }
      default -> ByteBuffer.wrap(packed, 1, 8 * length).slice().order(ByteOrder.LITTLE_ENDIAN)
          .asDoubleBuffer().get(out, offset, length);
    }
  }
}
