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
 * <p>The tensors arrive as the network computes them, channels-first {@code [N, C, D1, ..., Dk]}
 * ({@link OnnxModel#capturing}), and are summed where they are: with {@code S = D1 * ... * Dk} a
 * multiple of 4, each item's S contiguous values of a channel are S/4 rows of that channel's four
 * SIMD lanes ({@link MomentAccumulator#addChannelsFirst}); otherwise each item is a row of C
 * channels of S values ({@link MomentAccumulator#addFloatRows}; {@code [N, C]} is S = 1). The
 * values are the float32 (or float64) activations exactly. Merging is exact, so the moments are
 * bit-for-bit the same for any split of the rows into tasks and batches.
 *
 * <p>Memory: per tensor, the accumulator's exact state (1,720 bytes per channel, and 140 bytes of
 * kernel state per SIMD lane: 4 per channel, or S per channel when S is not a multiple of 4) and
 * its row buffer (64 KiB, or 16 items of more than 512 values).
 */
public final class ActivationMoments implements Serializable {
  private static final long serialVersionUID = 1L;

  private final String[] names;
  private final MomentAccumulator[] moments;
  private final long[][] itemShapes;
  private final long[] items;

  /**
   * Empty moments for the named tensors.
   *
   * @param names what each tensor is (the BatchNormalization whose input it is), for messages
   */
  public ActivationMoments(String[] names) {
    this.names = names.clone();
    this.moments = new MomentAccumulator[names.length];
    this.itemShapes = new long[names.length][];
    this.items = new long[names.length];
  }

  /** The number of tensors. */
  public int size() {
    return names.length;
  }

  /**
   * Adds the first {@code rows} items of tensor k from a float batch of shape
   * {@code [n, C, D1, ..., Dk]} (n >= rows; k >= 0), row-major as ONNX Runtime outputs it: the
   * moments of each channel c over the items' {@code D1 * ... * Dk} values of c.
   * {@link #itemShape} is then {@code [C, D1, ..., Dk]}.
   *
   * @throws InputException (usage) if the shape has fewer than 2 dimensions; (data) if the item
   *     shape differs from earlier batches'
   */
  public void add(int k, long[] shape, float[] data, int rows) {
    add(k, shape, data, null, rows);
  }

  /** As {@link #add(int, long[], float[], int)}, from a double batch. */
  public void add(int k, long[] shape, double[] data, int rows) {
    add(k, shape, null, data, rows);
  }

  /** Adds from {@code f} if it is not null, else from {@code d}. */
  private void add(int k, long[] shape, float[] f, double[] d, int rows) {
    MomentAccumulator acc = accumulator(k, shape);
    int spatial = spatial(shape);
    if (spatial == 0) {
      // items without values (a zero-sized dimension): counted, nothing to sum
    } else if (spatial % MomentAccumulator.RUN_LANES == 0) {
      if (f != null) {
        acc.addChannelsFirst(f, 0, rows, spatial);
      } else {
        acc.addChannelsFirst(d, 0, rows, spatial);
      }
    } else if (f != null) { // items as rows of C channels of S values
      acc.addFloatRows(f, 0, rows);
    } else {
      acc.addDenseRows(d, 0, rows);
    }
    items[k] += rows;
  }

  private MomentAccumulator accumulator(int k, long[] shape) {
    if (shape.length < 2) {
      throw InputException.usage("the input of " + names[k] + " has shape "
          + Arrays.toString(shape) + "; BatchNormalization needs [N, C, ...]");
    }
    long[] item = Arrays.copyOfRange(shape, 1, shape.length);
    if (moments[k] == null) {
      int c = Math.toIntExact(item[0]);
      int spatial = spatial(shape);
      moments[k] = new MomentAccumulator(c,
          spatial % MomentAccumulator.RUN_LANES == 0 ? MomentAccumulator.RUN_LANES : spatial);
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
        items[k] = other.items[k];
        continue;
      }
      if (!Arrays.equals(itemShapes[k], other.itemShapes[k])) {
        throw InputException.data("the input of " + names[k] + " has items of shape "
            + Arrays.toString(itemShapes[k]) + " and " + Arrays.toString(other.itemShapes[k]));
      }
      moments[k].merge(other.moments[k]);
      items[k] += other.items[k];
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

  /** The item shape {@code [C, D1, ..., Dk]} of tensor k, or null before its first batch. */
  public long[] itemShape(int k) {
    return itemShapes[k] == null ? null : itemShapes[k].clone();
  }

  /** The number of items (rows of the input) added to tensor k. */
  public long items(int k) {
    return items[k];
  }
}
