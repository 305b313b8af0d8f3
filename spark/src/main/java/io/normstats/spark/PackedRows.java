package io.normstats.spark;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A row of doubles as the fewest bytes that give every value back bit for bit: the rows the exact
 * pass keeps ({@link KeptRows}) and the minibatch pass shuffles. One byte per value when every
 * value is an integer in [0, 255] (8-bit pixels: the shuffle of Fashion-MNIST is 8 times smaller
 * than as doubles), four when every value is a float, else eight. A leading byte says which; -0.0
 * and NaN payloads are kept (they take the wider forms).
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

  /** The most bytes a packed row of {@code length} values takes: its form byte and 8 per value. */
  static int maxBytes(int length) {
    return 1 + 8 * length;
  }

  /** The bytes of the packed row of {@code length} values that starts at {@code packed[at]}. */
  static int bytes(byte[] packed, int at, int length) {
    return 1 + switch (packed[at]) {
      case UNSIGNED_BYTES -> length;
      case FLOATS -> 4 * length;
      case DOUBLES -> 8 * length;
      default -> throw new IllegalStateException("not a packed row: form " + packed[at]);
    };
  }

  /**
   * Packs {@code values[from .. from + length)} into {@code out} from {@code out[at]}, which has
   * room for {@link #maxBytes} bytes.
   *
   * @return the bytes written
   */
  static int pack(double[] values, int from, int length, byte[] out, int at) {
    // 8-bit data (the common case; BatchMoments.isUnsignedByte, inlined) is written as it is
    // tested, in one branch-free pass that stops at the first value that does not fit, and never
    // pays for the float test
    out[at] = UNSIGNED_BYTES;
    boolean bytes = true;
    for (int k = 0; k < length; k++) {
      double x = values[from + k];
      int b = (int) x;
      out[at + 1 + k] = (byte) b;
      if (!((b == x) & ((b & ~0xFF) == 0) & (Double.doubleToRawLongBits(x) != Long.MIN_VALUE))) {
        bytes = false;
        break;
      }
    }
    if (bytes) {
      return 1 + length;
    }
    boolean floats = true;
    for (int k = from; k < from + length && floats; k++) {
      floats = Double.doubleToRawLongBits((float) values[k])
          == Double.doubleToRawLongBits(values[k]);
    }
    if (floats) {
      out[at] = FLOATS;
      for (int k = 0; k < length; k++) {
        FLOAT_BITS.set(out, at + 1 + 4 * k, Float.floatToRawIntBits((float) values[from + k]));
      }
      return 1 + 4 * length;
    }
    out[at] = DOUBLES;
    ByteBuffer.wrap(out, at + 1, 8 * length).slice().order(ByteOrder.LITTLE_ENDIAN)
        .asDoubleBuffer().put(values, from, length);
    return 1 + 8 * length;
  }

  /**
   * Whether a row packed by {@link #pack} holds one byte per value: its values are all 8-bit
   * ({@link io.normstats.minibatch.BatchMoments#isUnsignedByte}).
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
