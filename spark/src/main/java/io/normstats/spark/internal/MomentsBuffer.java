package io.normstats.spark.internal;

import io.normstats.exact.ScalarMoments;
import java.nio.ByteBuffer;

/**
 * The aggregation buffer of {@link ExactAggregate} for one group and column: one
 * {@link ScalarMoments} for a numeric column, or one per element for a vector or array column
 * (with the NULL rows counted apart, since a NULL row has no length).
 *
 * <p>Serialized (between partial and final aggregation, when the aggregation falls back to
 * sorting, and in a streaming query's state store): a numeric column's state is exactly
 * {@link ScalarMoments#toBytes()}, 45 to 62 bytes for a group of a few values of similar
 * magnitude; an array column's is the NULL rows (8-byte big-endian long), the length (4-byte int,
 * -1 before the first non-NULL row) and each element's {@link ScalarMoments#write} in order.
 */
public final class MomentsBuffer {
  /** The state of a numeric column (null for an array column). */
  final ScalarMoments scalar;
  /** The per-element states of an array column (null before its first non-NULL row). */
  ScalarMoments[] elements;
  /** The NULL rows of an array column. */
  long nullRows;

  private MomentsBuffer(ScalarMoments scalar) {
    this.scalar = scalar;
  }

  /** An empty buffer for a numeric column. */
  static MomentsBuffer ofScalar() {
    return new MomentsBuffer(new ScalarMoments());
  }

  /** An empty buffer for a vector or array column. */
  static MomentsBuffer ofArray() {
    return new MomentsBuffer(null);
  }

  /**
   * The element states for a row of {@code length} values, created on the first row.
   *
   * @throws IllegalArgumentException if an earlier row had another length
   */
  ScalarMoments[] elements(int length, String function) {
    if (elements == null) {
      elements = new ScalarMoments[length];
      for (int i = 0; i < length; i++) {
        elements[i] = new ScalarMoments();
      }
    } else if (elements.length != length) {
      throw new IllegalArgumentException(function + ": rows of " + elements.length + " and "
          + length + " values in one group; every vector or array must have the same length");
    }
    return elements;
  }

  /** Finds the two lengths in the message of {@link #elements}'s failure. */
  public static final java.util.regex.Pattern LENGTH_MISMATCH =
      java.util.regex.Pattern.compile("rows of (\\d+) and (\\d+) values in one group");

  /** Adds {@code other}'s values to this buffer, exactly. */
  void merge(MomentsBuffer other, String function) {
    if (scalar != null) {
      scalar.merge(other.scalar);
      return;
    }
    nullRows += other.nullRows;
    if (other.elements != null) {
      ScalarMoments[] mine = elements(other.elements.length, function);
      for (int i = 0; i < mine.length; i++) {
        mine[i].merge(other.elements[i]);
      }
    }
  }

  byte[] toBytes() {
    if (scalar != null) {
      return scalar.toBytes();
    }
    int size = 12;
    if (elements != null) {
      for (ScalarMoments m : elements) {
        size += m.serializedSize();
      }
    }
    ByteBuffer out = ByteBuffer.allocate(size);
    out.putLong(nullRows);
    out.putInt(elements == null ? -1 : elements.length);
    if (elements != null) {
      for (ScalarMoments m : elements) {
        m.write(out);
      }
    }
    return out.array();
  }

  /**
   * The per-element states of an array state ({@code exact_state} of a vector or array column):
   * one {@link ScalarMoments} per element, or null when the group had only NULL rows.
   *
   * @throws IllegalArgumentException if the bytes are not such a state
   */
  public static ScalarMoments[] elementsOf(byte[] arrayState) {
    return fromBytes(arrayState, true).elements;
  }

  /**
   * The buffer {@link #toBytes()} wrote.
   *
   * @throws IllegalArgumentException if the bytes are not such a state
   */
  static MomentsBuffer fromBytes(byte[] bytes, boolean array) {
    if (!array) {
      return new MomentsBuffer(ScalarMoments.fromBytes(bytes));
    }
    ByteBuffer in = ByteBuffer.wrap(bytes);
    MomentsBuffer b = ofArray();
    b.nullRows = in.getLong();
    int length = in.getInt();
    if (length >= 0) {
      b.elements = new ScalarMoments[length];
      for (int i = 0; i < length; i++) {
        b.elements[i] = ScalarMoments.read(in);
      }
    }
    return b;
  }
}
