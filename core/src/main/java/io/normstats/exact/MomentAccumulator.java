package io.normstats.exact;

import com.esotericsoftware.kryo.DefaultSerializer;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import java.io.Serializable;
import java.util.Arrays;
import java.util.Objects;

/**
 * Exact first and second moments of {@code features} numeric features over a stream of rows.
 *
 * <p>Per feature it keeps the exact sum of the values and of their squares ({@link ExactSums}), the
 * min and max, and the numbers of valid, missing (null) and NaN or infinite values. Rows arrive as
 * dense vectors ({@link #addDense}), sparse vectors ({@link #addSparse}: absent elements are zeros),
 * missing vectors ({@link #addMissingRow}), or element by element ({@link #beginRow} then
 * {@link #add}/{@link #addNull} per feature). Accumulators built over any split of the rows and
 * {@link #merge merged} in any order hold exactly the same state values, so {@link #moments} is
 * bit-for-bit independent of partitioning, row order and retries.
 *
 * <p>Dense rows are buffered and summed in blocks by a SIMD kernel (see {@link DenseBlocks}: about
 * 1.6 ns per value on one core of the machine in BENCHMARKS.md, against about 25 ns value by value);
 * other rows go value by value through {@link ExactSums}. Adding a row allocates nothing and does
 * no BigInteger work; {@link #moments} does the one correctly rounded division per statistic.
 *
 * <p>Memory: 1,720 bytes per feature ({@code 8 * (67 + 142) + 48}) for the exact state, plus, once
 * dense rows arrive, 140 bytes per vector element and a row buffer of 64 KiB, or of 16 rows when
 * rows are wider than 512 values, and once columns arrive ({@link #addColumns}) a tile of 128 KiB;
 * with 512-bit kernels, channels-first items ({@link #addChannelsFirst}) take a second such set
 * for their runs (8 positions per feature). Only the exact state is serialized. Instances are not
 * thread-safe.
 */
// Java serialization under Spark's Kryo too: Kryo's field serializer skips writeObject, which
// flushes the values still pending in the transient blocks, and would lose them
@DefaultSerializer(JavaSerializer.class)
public final class MomentAccumulator implements Serializable {
  private static final long serialVersionUID = 1L;

  private final int features;
  private final int valuesPerRow;
  /** Rows seen, of every kind; a feature's implicit zeros are values it was not given. */
  private long rows;
  /** Finite values per feature; the dense-row path adds whole blocks and corrects for non-finite. */
  final long[] finiteCount;
  private final long[] nullCount;
  private final long[] nanCount;
  private final double[] min;
  private final double[] max;
  private final ExactSums sums;
  private final ExactSums squares;
  /** The dense-row fast path, created on the first dense row; never serialized (see writeObject). */
  private transient DenseBlocks blocks;
  /**
   * The channels-first path when the kernel's vectors hold more than {@value #RUN_LANES} values
   * ({@link DenseBlocks#LANES} positions per feature); else {@link #blocks} serves it. Never
   * serialized.
   */
  private transient DenseBlocks runBlocks;
  private final boolean simd;

  /**
   * Creates an empty accumulator.
   *
   * @param features the number of features (vector length), {@code >= 0}
   * @throws IllegalArgumentException if {@code features < 0}
   */
  public MomentAccumulator(int features) {
    this(features, 1);
  }

  /**
   * Creates an empty accumulator whose features each take {@code valuesPerRow} values per row: the
   * channels of BatchNorm2d, where channel c of a channel-major vector of length C*H*W holds the
   * H*W elements {@code c*H*W .. (c+1)*H*W - 1}. Add rows with {@link #addDenseChannels},
   * {@link #addSparseChannels} or element by element.
   *
   * @throws IllegalArgumentException if {@code features < 0} or {@code valuesPerRow < 1}
   */
  public MomentAccumulator(int features, int valuesPerRow) {
    this(features, valuesPerRow, DenseBlocks.SIMD);
  }

  /** As {@link #MomentAccumulator(int, int)}, with the SIMD kernel for dense rows on or off. */
  MomentAccumulator(int features, int valuesPerRow, boolean simd) {
    if (features < 0 || valuesPerRow < 1) {
      throw new IllegalArgumentException("features must be >= 0 and values per row >= 1: "
          + features + ", " + valuesPerRow);
    }
    this.features = features;
    this.valuesPerRow = valuesPerRow;
    this.finiteCount = new long[features];
    this.nullCount = new long[features];
    this.nanCount = new long[features];
    this.min = new double[features];
    this.max = new double[features];
    Arrays.fill(min, Double.POSITIVE_INFINITY);
    Arrays.fill(max, Double.NEGATIVE_INFINITY);
    this.sums = ExactSums.ofValues(features);
    this.squares = ExactSums.ofSquares(features);
    this.simd = simd;
  }

  /** The number of features. */
  public int features() {
    return features;
  }

  /** The number of rows added. */
  public long rows() {
    return rows;
  }

  /**
   * Adds one row given as a dense vector.
   *
   * @param values exactly {@link #features()} values; NaN and infinities are counted, not summed
   * @throws IllegalArgumentException if {@code values.length != features()}, or the features have
   *     several values per row (use {@link #addDenseChannels})
   */
  public void addDense(double[] values) {
    checkLength(values.length);
    if (valuesPerRow != 1) {
      throw new IllegalArgumentException("features of " + valuesPerRow
          + " values per row take rows through addDenseChannels");
    }
    addDenseRow(values);
  }

  private void addDenseRow(double[] values) {
    DenseBlocks b = blocks();
    int offset = b.nextRow();
    System.arraycopy(values, 0, b.buffer, offset, values.length);
    b.rowWritten();
    rows++;
  }

  /**
   * Adds {@code rows} dense rows stored one after the other from {@code data[from]}: row r is
   * {@code data[from + r * w .. from + (r + 1) * w)} with {@code w = features() * valuesPerRow}
   * values, channel-major as {@link #addDenseChannels} (for example a network's activations,
   * channels last). The same as adding each row with {@link #addDenseChannels}, without a row
   * array: the values go straight into the block buffer.
   *
   * @throws IndexOutOfBoundsException if {@code data} holds fewer than {@code rows} rows from
   *     {@code from}
   */
  public void addDenseRows(double[] data, int from, int rows) {
    addRows(data, from, rows);
  }

  /**
   * As {@link #addDenseRows}, for rows of floats (a float32 network's activations): they are summed
   * by the SIMD kernel for floats (fewer extraction levels: see {@link DenseBlocks}), in place
   * where whole blocks of rows fill the kernel's stride, with the same exact results.
   *
   * @throws IndexOutOfBoundsException if {@code data} holds fewer than {@code rows} rows from
   *     {@code from}
   */
  public void addFloatRows(float[] data, int from, int rows) {
    int width = features * valuesPerRow;
    Objects.checkFromIndexSize(from, Math.multiplyExact(rows, width), data.length);
    blocks().addFloats(data, from, rows, width);
    this.rows += rows;
  }

  /**
   * Adds {@code items} items of a channels-first tensor {@code [items, C, S]} of floats held from
   * {@code data[from]} (a float32 network's activations as it computes them), C =
   * {@link #features()}, S a multiple of {@value #RUN_LANES}: each item's S values of channel j,
   * contiguous at {@code data[from + (n * C + j) * S ..]}, are values of feature j. The
   * accumulator must have {@value #RUN_LANES} values per row: the values are summed where they
   * are, each run of S as rows of the kernel's vector width (exact sums do not depend on how a
   * feature's values are arranged; {@link #rows()} grows by {@code items * S / 4}, whatever the
   * width). For other S, an accumulator of S values per row takes the items as rows
   * ({@link #addFloatRows}).
   *
   * @throws IllegalArgumentException if the accumulator has not {@value #RUN_LANES} values per
   *     row, or {@code spatial} is not a positive multiple of {@value #RUN_LANES}
   * @throws IndexOutOfBoundsException if {@code data} holds fewer than {@code items} items from
   *     {@code from}
   */
  public void addChannelsFirst(float[] data, int from, int items, int spatial) {
    addRuns(data, null, data.length, from, items, spatial);
  }

  /** As {@link #addChannelsFirst(float[], int, int, int)}, for a tensor of doubles. */
  public void addChannelsFirst(double[] data, int from, int items, int spatial) {
    addRuns(null, data, data.length, from, items, spatial);
  }

  /**
   * Values per row of an accumulator that takes channels-first items: 4 on every machine, since
   * the values per row are part of the state tasks send and merge (the kernel's own width, 4 or 8
   * values, is not).
   */
  public static final int RUN_LANES = 4;

  private void addRuns(float[] f, double[] d, int length, int from, int items, int spatial) {
    if (valuesPerRow != RUN_LANES || spatial <= 0 || spatial % RUN_LANES != 0) {
      throw new IllegalArgumentException("channels-first items of " + spatial
          + " values per channel need a positive multiple of " + RUN_LANES
          + " and an accumulator of " + RUN_LANES + " values per row; this one has "
          + valuesPerRow);
    }
    Objects.checkFromIndexSize(from,
        Math.multiplyExact(Math.multiplyExact(items, features), spatial), length);
    int lanes = DenseBlocks.LANES;
    if (spatial >= lanes) {
      runBlocks().addRuns(f, d, from, items, spatial);
    }
    int tail = spatial % lanes; // 0, or RUN_LANES with 8 lanes
    if (tail != 0) {
      addRunTails(f, d, from, items, spatial, tail);
    }
    this.rows += (long) items * (spatial / RUN_LANES);
  }

  /**
   * Adds the last {@code tail} values of every item's run of every channel, which
   * {@link DenseBlocks#addRuns} leaves: one row of {@code features * tail} values per item, through
   * the block buffer ({@code tail == valuesPerRow}).
   */
  private void addRunTails(float[] f, double[] d, int from, int items, int spatial, int tail) {
    DenseBlocks b = blocks();
    for (int item = 0; item < items; item++) {
      int offset = b.nextRow();
      for (int j = 0; j < features; j++) {
        int at = from + (item * features + j) * spatial + spatial - tail;
        int to = offset + j * tail;
        if (f != null) {
          for (int k = 0; k < tail; k++) {
            b.buffer[to + k] = f[at + k];
          }
        } else {
          System.arraycopy(d, at, b.buffer, to, tail);
        }
      }
      b.rowWritten();
    }
  }

  /**
   * Adds rows of doubles ({@link #addDenseRows}) through the block buffer.
   *
   * @throws IndexOutOfBoundsException if {@code data} holds fewer than {@code rows} rows from
   *     {@code from}
   */
  private void addRows(double[] data, int from, int rows) {
    int width = features * valuesPerRow;
    Objects.checkFromIndexSize(from, Math.multiplyExact(rows, width), data.length);
    DenseBlocks b = blocks();
    // one copy per block when rows fill the stride (no padding), else one per row
    int run = b.stride == width ? Integer.MAX_VALUE : 1;
    for (int left = rows, at = from; left > 0; ) {
      int n = Math.min(b.freeRows(), left);
      int offset = b.nextRow();
      for (int r = 0; r < n; r += run) {
        int count = Math.min(run, n - r) * width;
        System.arraycopy(data, at + r * width, b.buffer, offset + r * b.stride, count);
      }
      b.rowsWritten(n);
      this.rows += n;
      at += n * width;
      left -= n;
    }
  }

  /**
   * Copies one column of a columnar block of rows into a tile: rows {@code from} to
   * {@code from + rows - 1} of column {@code column} (a vector position, 0 to
   * {@code features * valuesPerRow - 1}) go to {@code out[at + r * stride]}, r = 0 to
   * {@code rows - 1}, as doubles. Every value must be written: a column with nulls is not a dense
   * block.
   */
  @FunctionalInterface
  public interface ColumnCopier {
    /** Copies the values as described above; called once per column and tile. */
    void copy(int column, int from, int rows, double[] out, int at, int stride);
  }

  /**
   * Adds {@code rows} dense rows given column by column (a columnar batch without nulls: Parquet,
   * ORC, Arrow): the same moments as adding each row with {@link #addDense} (or
   * {@link #addDenseChannels}), read in tiles of up to 256 rows x 64 columns so that a wide
   * table's columns are read in long runs. Finite-ness is checked per value as for rows.
   *
   * @param rows the number of rows, at least 0
   * @param columns copies each column's values into the tiles; see {@link ColumnCopier}
   * @throws IllegalArgumentException if {@code rows < 0}
   */
  public void addColumns(int rows, ColumnCopier columns) {
    if (rows < 0) {
      throw new IllegalArgumentException("rows must be >= 0: " + rows);
    }
    blocks().addColumns(rows, columns);
    this.rows += rows;
  }

  /**
   * Writes one dense row where the accumulator keeps it (for readers of columnar or off-heap data:
   * no intermediate array per row).
   */
  @FunctionalInterface
  public interface RowWriter {
    /**
     * Writes the row's {@code features() * valuesPerRow} values, channel-major as
     * {@link #addDenseChannels}, to {@code out[offset]} onward; every one must be written (a
     * NaN or infinite value counts as invalid, as in {@link #addDense}).
     */
    void write(double[] out, int offset);
  }

  /**
   * Adds one dense row that {@code writer} writes in place: the same as {@link #addDenseChannels}
   * with an array of those values.
   */
  public void addDense(RowWriter writer) {
    DenseBlocks b = blocks();
    writer.write(b.buffer, b.nextRow());
    b.rowWritten();
    rows++;
  }

  private DenseBlocks blocks() {
    if (blocks == null) {
      blocks = new DenseBlocks(this, Math.multiplyExact(features, valuesPerRow), valuesPerRow,
          simd && DenseBlocks.SIMD);
    }
    return blocks;
  }

  /** The blocks of channels-first runs ({@link #runBlocks}). */
  private DenseBlocks runBlocks() {
    if (DenseBlocks.LANES == valuesPerRow) {
      return blocks();
    }
    if (runBlocks == null) {
      runBlocks = new DenseBlocks(this, Math.multiplyExact(features, DenseBlocks.LANES),
          DenseBlocks.LANES, simd && DenseBlocks.SIMD);
    }
    return runBlocks;
  }

  /** Sums the buffered dense rows into the exact sums (before reading or merging). */
  private void finish() {
    if (blocks != null) {
      blocks.finish();
    }
    if (runBlocks != null) {
      runBlocks.finish();
    }
  }

  /** A value of a dense block taken value by value: its finite count was already added. */
  void addBlockValue(int j, double x) {
    if (Double.isFinite(x)) {
      min[j] = Math.min(min[j], x);
      max[j] = Math.max(max[j], x);
      sums.add(j, x);
      squares.addSquare(j, x);
    } else {
      finiteCount[j]--;
      nanCount[j]++;
    }
  }

  /** Adds exact partial sums of values and squares, and a minimum and maximum, to feature j. */
  void addPartialSums(int j, double t1, double t2, double u1, double u2, double u3, double u4,
      double lo, double hi) {
    sums.add(j, t1);
    sums.add(j, t2);
    squares.add(j, u1);
    squares.add(j, u2);
    squares.add(j, u3);
    squares.add(j, u4);
    min[j] = Math.min(min[j], lo);
    max[j] = Math.max(max[j], hi);
  }

  private void writeObject(java.io.ObjectOutputStream out) throws java.io.IOException {
    finish();
    out.defaultWriteObject();
  }

  /**
   * Adds one row given as a sparse vector of length {@link #features()}: {@code values[k]} at index
   * {@code indices[k]}, every other element 0. Indices must be distinct and in range.
   *
   * @throws IllegalArgumentException if {@code indices.length != values.length}
   * @throws ArrayIndexOutOfBoundsException if an index is outside {@code [0, features())}
   */
  public void addSparse(int[] indices, double[] values) {
    if (indices.length != values.length) {
      throw new IllegalArgumentException(
          "sparse vector has " + indices.length + " indices but " + values.length + " values");
    }
    addSparse(indices, values, indices.length);
  }

  /**
   * Adds one sparse row given by the first {@code count} entries of {@code indices} and
   * {@code values} (reusable arrays), as {@link #addSparse(int[], double[])}.
   *
   * @throws ArrayIndexOutOfBoundsException if an index is outside {@code [0, features())} or
   *     {@code count} exceeds an array's length
   */
  public void addSparse(int[] indices, double[] values, int count) {
    rows++;
    for (int k = 0; k < count; k++) {
      addValue(indices[k], values[k]);
    }
  }

  /** Adds one row whose whole vector is missing: every feature counts its values as nulls. */
  public void addMissingRow() {
    rows++;
    for (int j = 0; j < features; j++) {
      nullCount[j] += valuesPerRow;
    }
  }

  /**
   * Adds one dense channel-major row of {@code features * valuesPerRow} values: element k goes to
   * feature {@code k / valuesPerRow}.
   *
   * @throws IllegalArgumentException if the row has another length
   */
  public void addDenseChannels(double[] values) {
    if (values.length != features * valuesPerRow) {
      throw new IllegalArgumentException("vector of length " + values.length + " where "
          + features + " channels of " + valuesPerRow + " values are expected");
    }
    addDenseRow(values);
  }

  /**
   * Adds one sparse channel-major row (absent elements are zeros): element k goes to feature
   * {@code k / valuesPerRow}.
   */
  public void addSparseChannels(int[] indices, double[] values) {
    addSparseChannels(indices, values, indices.length);
  }

  /** As {@link #addSparseChannels(int[], double[])}, with the first {@code count} entries. */
  public void addSparseChannels(int[] indices, double[] values, int count) {
    rows++;
    for (int k = 0; k < count; k++) {
      addValue(indices[k] / valuesPerRow, values[k]);
    }
  }

  /**
   * Starts a row given element by element: follow with one {@link #add} or {@link #addNull} per
   * value (a feature given fewer than its values per row counts the rest as zeros).
   */
  public void beginRow() {
    rows++;
  }

  /** Adds the value of feature {@code j} in the current row; NaN and infinities are counted only. */
  public void add(int j, double x) {
    addValue(j, x);
  }

  /** Records that feature {@code j} is missing (null) in the current row. */
  public void addNull(int j) {
    nullCount[j]++;
  }

  private void addValue(int j, double x) {
    if (Double.isFinite(x)) {
      finiteCount[j]++;
      min[j] = Math.min(min[j], x);
      max[j] = Math.max(max[j], x);
      sums.add(j, x);
      squares.addSquare(j, x);
    } else {
      nanCount[j]++;
    }
  }

  /**
   * Adds everything {@code other} accumulated to this accumulator, exactly.
   *
   * @throws IllegalArgumentException if the feature counts differ
   */
  public void merge(MomentAccumulator other) {
    if (other.features != features || other.valuesPerRow != valuesPerRow) {
      throw new IllegalArgumentException(
          "cannot merge moments of " + other.features + " features into " + features);
    }
    finish();
    other.finish();
    rows += other.rows;
    for (int j = 0; j < features; j++) {
      finiteCount[j] += other.finiteCount[j];
      nullCount[j] += other.nullCount[j];
      nanCount[j] += other.nanCount[j];
      min[j] = Math.min(min[j], other.min[j]);
      max[j] = Math.max(max[j], other.max[j]);
    }
    sums.merge(other.sums);
    squares.merge(other.squares);
  }

  /** The number of NaN or infinite values seen in feature {@code j}. */
  public long nanCount(int j) {
    finish();
    return nanCount[j];
  }

  /** The number of missing values seen in feature {@code j}. */
  public long nullCount(int j) {
    return nullCount[j];
  }

  /**
   * The correctly rounded statistics of feature {@code j} (see {@link FeatureMoments}).
   *
   * @throws IndexOutOfBoundsException if {@code j} is not in {@code [0, features())}
   */
  public FeatureMoments moments(int j) {
    ExactMoments exact = exact(j);
    double[] range = range(j);
    if (exact.count() == 0) {
      return new FeatureMoments(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
          Double.NaN, Double.NaN, nullCount[j], nanCount[j]);
    }
    return new FeatureMoments(exact.count(), exact.mean(), exact.varPop(), exact.varSamp(),
        exact.stdPop(), exact.stdSamp(), range[0], range[1], nullCount[j], nanCount[j]);
  }

  /** Feature j's finite min and max, with 0 when it has implicit zeros. */
  private double[] range(int j) {
    if (implicitZeros(j) > 0) {
      return new double[] {Math.min(min[j], 0.0), Math.max(max[j], 0.0)};
    }
    return new double[] {min[j], max[j]};
  }

  /**
   * The exact moments of feature {@code j}, to round to double or float.
   *
   * @throws IndexOutOfBoundsException if {@code j} is not in {@code [0, features())}
   */
  public ExactMoments exact(int j) {
    java.util.Objects.checkIndex(j, features);
    finish();
    long n = finiteCount[j] + implicitZeros(j);
    return new ExactMoments(n, sums.toBigInteger(j), sums.lowExponent(), squares.toBigInteger(j),
        squares.lowExponent());
  }

  /**
   * Feature {@code j}'s exact state, to store and merge later ({@link ScalarMoments}): its
   * {@link ScalarMoments#toFeatureMoments()} equals {@link #moments(int)}.
   *
   * @throws IndexOutOfBoundsException if {@code j} is not in {@code [0, features())}
   */
  public ScalarMoments state(int j) {
    java.util.Objects.checkIndex(j, features);
    finish();
    double[] range = range(j);
    return ScalarMoments.ofParts(finiteCount[j] + implicitZeros(j), nullCount[j], nanCount[j],
        range[0], range[1], sums.toBigInteger(j), squares.toBigInteger(j));
  }

  /** The zeros of sparse rows and short element-by-element rows that feature j was not given. */
  private long implicitZeros(int j) {
    return rows * valuesPerRow - finiteCount[j] - nullCount[j] - nanCount[j];
  }

  private void checkLength(int length) {
    if (length != features) {
      throw new IllegalArgumentException(
          "vector of length " + length + " where " + features + " features are expected");
    }
  }
}
