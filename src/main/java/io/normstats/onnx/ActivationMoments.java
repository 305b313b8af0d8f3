package io.normstats.onnx;

import io.normstats.InputException;
import io.normstats.exact.ExactMoments;
import io.normstats.exact.MomentAccumulator;
import java.io.Serializable;
import java.util.Arrays;

/**
 * The exact per-channel moments of some captured tensors (the inputs of BatchNormalization
 * layers), accumulated batch by batch: for a tensor of shape {@code [N, C, D1, ..., Dk]} each
 * channel c is one feature over all {@code N * D1 * ... * Dk} values (the BatchNorm2d/3d
 * statistics); for {@code [N, C]} each element is a channel (BatchNorm1d).
 *
 * <p>The tensors arrive channels-last, {@code [N, S, C]} with {@code S = D1 * ... * Dk}, as
 * {@link OnnxModel#capturingChannelsLast} outputs them: each (item, position) is then one
 * contiguous row of C values of a {@link MomentAccumulator} of C features, so the exact SIMD path
 * sums many rows per block whatever the spatial size; the values are the float32 (or float64)
 * activations exactly. Merging is exact, so the moments are
 * bit-for-bit the same for any split of the rows into tasks and batches.
 *
 * <p>Memory: per tensor, the accumulator's exact state (1,720 bytes per channel) and, on the
 * dense path, its row buffer (64 KiB, or 16 rows of more than 512 values).
 */
public final class ActivationMoments implements Serializable {
  private static final long serialVersionUID = 1L;

  private final String[] names;
  private final MomentAccumulator[] moments;
  private final long[][] itemShapes;

  /**
   * Empty moments for the named tensors.
   *
   * @param names what each tensor is (the BatchNormalization whose input it is), for messages
   */
  public ActivationMoments(String[] names) {
    this.names = names.clone();
    this.moments = new MomentAccumulator[names.length];
    this.itemShapes = new long[names.length][];
  }

  /** The number of tensors. */
  public int size() {
    return names.length;
  }

  /**
   * Adds the first {@code rows} items of tensor k from a float batch laid out channels-last: shape
   * {@code [n, S, C]}, each item's S positions of C channels (see
   * {@link OnnxModel#capturingChannelsLast}). The moments are those of the channels-first
   * tensor: {@link #itemShape} is then {@code [C, S]}.
   *
   * @throws InputException (data) if the item shape differs from earlier batches'
   */
  public void addChannelsLast(int k, long[] shape, float[] data, int rows) {
    addChannelsLast(k, shape, data, null, rows);
  }

  /** As {@link #addChannelsLast(int, long[], float[], int)}, from a double batch. */
  public void addChannelsLast(int k, long[] shape, double[] data, int rows) {
    addChannelsLast(k, shape, null, data, rows);
  }

  /** Adds from {@code f} if it is not null, else from {@code d}. */
  private void addChannelsLast(int k, long[] shape, float[] f, double[] d, int rows) {
    long[] channelsFirst = {shape[0], shape[2], shape[1]};
    MomentAccumulator acc = accumulator(k, channelsFirst);
    int positions = Math.toIntExact(rows * shape[1]);
    if (f != null) {
      acc.addFloatRows(f, 0, positions);
    } else {
      acc.addDenseRows(d, 0, positions);
    }
  }

  private MomentAccumulator accumulator(int k, long[] shape) {
    if (shape.length < 2) {
      throw InputException.usage("the input of " + names[k] + " has shape "
          + Arrays.toString(shape) + "; BatchNormalization needs [N, C, ...]");
    }
    long[] item = Arrays.copyOfRange(shape, 1, shape.length);
    if (moments[k] == null) {
      int c = Math.toIntExact(item[0]);
      moments[k] = new MomentAccumulator(c);
      itemShapes[k] = item;
    } else if (!Arrays.equals(itemShapes[k], item)) {
      throw InputException.data("the input of " + names[k] + " has items of shape "
          + Arrays.toString(itemShapes[k]) + " and " + Arrays.toString(item));
    }
    return moments[k];
  }

  private static int spatial(long[] shape) {
    long s = 1;
    for (int i = 2; i < shape.length; i++) {
      s *= shape[i];
    }
    return Math.toIntExact(s);
  }

  /**
   * Adds everything {@code other} accumulated, exactly, and returns this.
   *
   * @throws IllegalArgumentException if the tensors or their shapes differ
   */
  public ActivationMoments merge(ActivationMoments other) {
    if (!Arrays.equals(names, other.names)) {
      throw new IllegalArgumentException("cannot merge moments of other tensors");
    }
    for (int k = 0; k < names.length; k++) {
      if (other.moments[k] == null) {
        continue;
      }
      if (moments[k] == null) {
        moments[k] = other.moments[k];
        itemShapes[k] = other.itemShapes[k];
        continue;
      }
      if (!Arrays.equals(itemShapes[k], other.itemShapes[k])) {
        throw InputException.data("the input of " + names[k] + " has items of shape "
            + Arrays.toString(itemShapes[k]) + " and " + Arrays.toString(other.itemShapes[k]));
      }
      moments[k].merge(other.moments[k]);
    }
    return this;
  }

  /**
   * The exact moments of each channel of tensor k.
   *
   * @throws InputException (data) if no batch was added, or the tensor held NaN or infinite
   *     values (naming the tensor and how many)
   */
  public ExactMoments[] exact(int k) {
    MomentAccumulator acc = moments[k];
    if (acc == null) {
      throw InputException.data("no rows reached " + names[k]);
    }
    long invalid = 0;
    for (int c = 0; c < acc.features(); c++) {
      invalid += acc.nanCount(c);
    }
    if (invalid > 0) {
      throw InputException.data("the input of " + names[k] + " has " + invalid
          + " NaN or infinite values (an input row with NaN or infinities, or an overflow in "
          + "the network)");
    }
    ExactMoments[] out = new ExactMoments[acc.features()];
    for (int c = 0; c < out.length; c++) {
      out[c] = acc.exact(c);
    }
    return out;
  }

  /** The item shape {@code [C, S]} of tensor k, or null before its first batch. */
  public long[] itemShape(int k) {
    return itemShapes[k] == null ? null : itemShapes[k].clone();
  }

  /** The number of items (rows of the input) added to tensor k. */
  public long items(int k) {
    if (moments[k] == null) {
      return 0;
    }
    return moments[k].rows() / spatial(prepend(itemShapes[k]));
  }

  private static long[] prepend(long[] item) {
    long[] s = new long[item.length + 1];
    System.arraycopy(item, 0, s, 1, item.length);
    return s;
  }
}
