package io.normstats.onnx;

import com.esotericsoftware.kryo.DefaultSerializer;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import io.normstats.InputException;
import java.util.Arrays;

/**
 * The input of a network that normstats feeds: its name, element type and shape
 * {@code [N, d1, ..., dk]}, where {@code -1} marks a dimension the model leaves open (a symbolic
 * {@code dim_param} such as the batch dimension N, or none at all).
 *
 * <p>Each row's feature vector of length {@code d1 * ... * dk} is laid out row-major (C order) into
 * one item {@code [d1, ..., dk]} of the batch: for an image model {@code [N, 1, 28, 28]}, the 784
 * pixels of a Fashion-MNIST image in their IDX order.
 *
 * @param name the graph input's name
 * @param type its element type
 * @param shape its dimensions, {@code -1} where open; {@code shape[0]} is the batch dimension
 */
@DefaultSerializer(JavaSerializer.class) // Spark's Kryo cannot serialize records
public record NetworkInput(String name, ElementType type, long[] shape)
    implements java.io.Serializable {

  /** The batch size the model fixes ({@code shape[0]}), or -1 when it is open. */
  public long fixedBatchSize() {
    return shape[0];
  }

  /**
   * The shape of one item (without the batch dimension) that a feature vector of {@code length}
   * values fills. An open item dimension is taken from the length when it is the only one.
   *
   * @throws InputException (usage) naming the input, its shape and the length when they do not fit
   */
  public long[] itemShape(int length) {
    long[] item = Arrays.copyOfRange(shape, 1, shape.length);
    long known = 1;
    int open = -1;
    for (int i = 0; i < item.length; i++) {
      if (item[i] < 0) {
        if (open >= 0) {
          throw mismatch(length, " has two open item dimensions");
        }
        open = i;
      } else {
        known *= item[i];
      }
    }
    if (open >= 0) {
      if (known == 0 || length % known != 0) {
        throw mismatch(length, "");
      }
      item[open] = length / known;
    } else if (known != length) {
      throw mismatch(length, "");
    }
    return item;
  }

  private InputException mismatch(int length, String why) {
    long perRow = 1;
    for (int i = 1; i < shape.length; i++) {
      perRow *= Math.max(shape[i], 1);
    }
    boolean allKnown = Arrays.stream(shape, 1, shape.length).allMatch(d -> d >= 0);
    return InputException.usage("the input rows have " + length + " values, but the model's input '"
        + name + "' has shape " + describe() + (why.isEmpty() ? "" : " and" + why)
        + (allKnown ? " (" + perRow + " values per row)" : ""));
  }

  /** The shape as ONNX tools print it: {@code [N, 1, 28, 28]}, open dimensions as {@code ?}. */
  public String describe() {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < shape.length; i++) {
      if (i > 0) {
        b.append(", ");
      }
      b.append(shape[i] < 0 ? (i == 0 ? "N" : "?") : Long.toString(shape[i]));
    }
    return b.append(']').toString();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof NetworkInput n && n.name.equals(name) && n.type == type
        && Arrays.equals(n.shape, shape);
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Arrays.hashCode(shape);
  }

  @Override
  public String toString() {
    return name + " " + type + " " + describe();
  }
}
