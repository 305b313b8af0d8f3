package io.normstats.exact;

import java.util.Arrays;

/**
 * The dense-row fast path of a {@link MomentAccumulator}: rows are copied into a row-major block
 * buffer, and each block is summed exactly, {@link #LANES} vector positions at a time (4, or 8
 * with 512-bit vectors), by a SIMD kernel ({@link VectorFold}) that needs no per-value branching
 * or integer work.
 *
 * <h2>Exact sums by error-free extraction</h2>
 *
 * <p>For every vector position p the kernel keeps a bound exponent M (all of the block's values
 * satisfy {@code |x| < 2^M}) and splits each value exactly into parts on fixed binary grids with the
 * extraction {@code q = fl(fl(x + c) - c)}, {@code r = x - q} where {@code c = 1.5 * 2^s}: q is x
 * rounded to a multiple of {@code 2^(s-52)} and r is exact (S. M. Rump, T. Ogita, S. Oishi,
 * "Accurate floating-point summation part I", SIAM J. Sci. Comput. 31(1), 2008, ExtractScalar;
 * J. Demmel, H. D. Nguyen, "Fast reproducible floating-point summation", ARITH 2013). Each part is
 * added to a double whose grid and headroom make every addition exact for up to
 * {@value #FLUSH_ROWS} = 2^{@value #HEADROOM_BITS} rows:
 * <ul>
 *   <li>values: two levels, {@code s1 = M + 11} and {@code s2 = M - 31}, exact for every x that
 *       is a multiple of {@code 2^(M-83)};</li>
 *   <li>squares: {@code p = x*x} and {@code e = fma(x, x, -p)} (so {@code x^2 = p + e} exactly),
 *       split over four levels {@code 2M + 11, 2M - 30, 2M - 71, 2M - 112}.</li>
 * </ul>
 * A value that does not fit (beyond the bound, NaN or infinite, or with bits below the last grid)
 * leaves a non-zero remainder or breaks the bound; the kernel checks both per block and lane, and a
 * failed lane's block is redone value by value through {@link ExactSums} (which is exact for every
 * double) with the lane's partial sums restored, and the lane's bound re-chosen from that block.
 * Every {@value #FLUSH_ROWS} rows, and before a merge or serialization, the partial sums (exact
 * doubles) are added to the feature's {@link ExactSums}. The result is therefore exactly the same
 * with or without the kernel, for any block boundaries.
 *
 * <p>Rows of floats (the activations of a float32 network, {@link #addFloats}) take a shorter
 * kernel, {@link VectorFold#sumGroupFloats}, which reads the floats where they are: a float's
 * 24-bit significand needs one value level and two square levels, its square has no rounding
 * error, and what is left of each is added as it is. That holds for floats only, and only while no
 * non-zero value is tiny against the lane's bound, which the kernel checks. Whole blocks are summed
 * in the caller's array; fewer rows, or rows whose width leaves padding, are copied into a block
 * buffer of floats first. Blocks of the two kernels do not share a flush window: their last levels
 * hold parts of different grids. Channels-first tensors ({@link #addRuns}) are summed where they
 * are too: a feature's S contiguous values of an item are S/LANES rows of its LANES lanes.
 *
 * <p>Memory: the block buffer holds {@value #BUFFER_DOUBLES} doubles (64 KiB, so that a block
 * stays in the L1/L2 caches), or {@value #MIN_BLOCK_ROWS} rows of more than 512 positions (128
 * bytes per position); the float block buffer, allocated when float rows first need it, half of
 * that; and each vector position keeps 17 doubles and an int (140 bytes) of state.
 * Rows given column by column ({@link #addColumns}) go through a tile of at most
 * {@value #TILE_ROWS} rows x {@value #TILE_POSITIONS} positions (128 KiB) instead.
 *
 * <p>The kernel uses the JDK's incubating Vector API ({@code jdk.incubator.vector}, which Spark 4
 * adds to every driver and executor JVM). Without it, or with {@code -Dnormstats.simd=false}, blocks
 * are summed value by value through {@link ExactSums}, with identical results.
 */
final class DenseBlocks {
  /** Rows between flushes of the partial sums: 2^HEADROOM_BITS. */
  static final int FLUSH_ROWS = 1024;
  static final int HEADROOM_BITS = 10;
  /**
   * Vector positions the kernel sums at a time: the doubles of one of its vectors, 8 with 512-bit
   * vectors, else 4 ({@link Simd#lanes()}). Only the grouping depends on it, not the sums.
   */
  static final int LANES = Simd.lanes();
  static final int BUFFER_DOUBLES = 1 << 13;
  /**
   * Rows a block holds at least, however wide the rows: a block of one or two rows of thousands of
   * features would pay the kernel's per-group setup for every row or two. (Columnar input does
   * not go through blocks: {@link #addColumns}.)
   */
  static final int MIN_BLOCK_ROWS = 16;
  /**
   * Positions of a tile of {@link #addColumns}: a tile of 64 x {@value #TILE_ROWS} doubles is 128
   * KiB, and its 64 source columns' values (and dictionaries) a few hundred KiB more.
   */
  static final int TILE_POSITIONS = 64;
  /** Rows of a tile of {@link #addColumns}. */
  static final int TILE_ROWS = 256;
  /** Bound exponents the levels support without overflow, underflow or subnormal grids. */
  static final int MIN_EXPONENT = -450;
  static final int MAX_EXPONENT = 500;
  private static final int UNSET = Integer.MIN_VALUE;

  /** Whether the SIMD kernel is available and enabled in this JVM ({@link Simd}). */
  static final boolean SIMD = Simd.available();

  private final MomentAccumulator owner;
  private final boolean simd;
  /** The kernel of the blocks summed since the last flush: the float kernel or the other. */
  private boolean windowOfFloats;
  /** Values per feature: vector position p belongs to feature p / perFeature. */
  private final int perFeature;
  final int positions;
  /** Row stride in the buffer: positions rounded up to whole vectors (the padding stays zero). */
  final int stride;
  final int capacity;
  final double[] buffer;
  private int rows;
  /** The float block buffer (same capacity and stride as {@link #buffer}), allocated on first use. */
  private float[] floats;
  private int floatRows;
  /**
   * One position's values of a float block as doubles, for the value-by-value path; allocated on
   * first use.
   */
  private double[] column;
  private int rowsSinceFlush;
  /** The tile of {@link #addColumns}, allocated on first use. */
  private double[] tile;
  /** Offsets in {@link #laneChecks}, one slot per lane of the kernel's last group. */
  static final int VALUE_REMAINDERS = 0;
  static final int MINIMA = LANES;
  static final int MAXIMA = 2 * LANES;
  static final int SQUARE_REMAINDERS = 3 * LANES;
  /** Offsets in {@link #groupSums}, one slot each: the two value levels, the four square levels. */
  static final int T1 = 0;
  static final int T2 = LANES;
  static final int U1 = 2 * LANES;
  static final int U2 = 3 * LANES;
  static final int U3 = 4 * LANES;
  static final int U4 = 5 * LANES;
  /**
   * The kernel's last lane checks: the sums of the remainders' magnitudes (of the values, then of
   * both passes), the block minima and maxima, and the squares' remainders.
   */
  final double[] laneChecks = new double[4 * LANES];
  /** The zero-sign pass's lane bits: -0.0 seen (one slot from 0), +0.0 seen (from LANES). */
  final long[] zeroBits = new long[2 * LANES];
  /** The kernel's last group's partial sums: two value levels, then four square levels. */
  final double[] groupSums = new double[6 * LANES];

  private final int[] exponent;
  final double[] bound;
  final double[] c1;
  final double[] c2;
  final double[] k1;
  final double[] k2;
  final double[] k3;
  final double[] k4;
  final double[] t1;
  final double[] t2;
  final double[] u1;
  final double[] u2;
  final double[] u3;
  final double[] u4;
  /**
   * {@code 2^(2M-80)}: the float kernel's lane fits only if every non-zero square is at least
   * this, that is every non-zero |x| at least {@code 2^(M-40)} ({@link VectorFold#sumGroupFloats}).
   */
  final double[] squareFloor;
  final double[] min;
  final double[] max;
  /** 0 for a vector position, NaN for the padding lanes of the last group. */
  final double[] padding;

  DenseBlocks(MomentAccumulator owner, int positions, int perFeature, boolean simd) {
    this.owner = owner;
    this.simd = simd;
    this.perFeature = perFeature;
    this.positions = positions;
    this.stride = (positions + LANES - 1) / LANES * LANES;
    this.capacity = Math.max(MIN_BLOCK_ROWS,
        Math.min(FLUSH_ROWS, BUFFER_DOUBLES / Math.max(1, stride)));
    this.buffer = new double[Math.multiplyExact(capacity, stride)];
    this.exponent = new int[stride];
    this.bound = new double[stride];
    this.c1 = new double[stride];
    this.c2 = new double[stride];
    this.k1 = new double[stride];
    this.k2 = new double[stride];
    this.k3 = new double[stride];
    this.k4 = new double[stride];
    this.t1 = new double[stride];
    this.t2 = new double[stride];
    this.u1 = new double[stride];
    this.u2 = new double[stride];
    this.u3 = new double[stride];
    this.u4 = new double[stride];
    this.squareFloor = new double[stride];
    this.min = new double[stride];
    this.max = new double[stride];
    Arrays.fill(min, Double.POSITIVE_INFINITY);
    Arrays.fill(max, Double.NEGATIVE_INFINITY);
    this.padding = new double[stride];
    Arrays.fill(padding, positions, stride, Double.NaN);
    Arrays.fill(exponent, 0, positions, UNSET);
    for (int p = positions; p < stride; p++) {
      setExponent(p, 0); // padding lanes hold zeros, which always fit
    }
  }

  /** The buffer offset where the next row goes; the block is summed first if it is full. */
  int nextRow() {
    if (rows == capacity) {
      sumBlock();
    }
    return rows * stride;
  }

  /** Marks the row at {@link #nextRow()} as written. */
  void rowWritten() {
    rows++;
  }

  /** The rows that can still be written before the block is summed (at least 1). */
  int freeRows() {
    if (rows == capacity) {
      sumBlock();
    }
    return capacity - rows;
  }

  /** Marks {@code n} rows after {@link #nextRow()} as written. */
  void rowsWritten(int n) {
    rows += n;
  }

  /**
   * Adds {@code n} rows of floats stored one after the other from {@code data[from]}, {@code width}
   * values each ({@link #positions}): whole blocks are summed where they are when the rows fill
   * the stride, the rest go through the float block buffer.
   */
  void addFloats(float[] data, int from, int n, int width) {
    for (int left = n, at = from; left > 0; ) {
      int count;
      if (floatRows == 0 && left >= capacity && width == stride) {
        count = capacity;
        sumFloatRows(data, at, count);
      } else {
        count = Math.min(capacity - floatRows, left);
        if (floats == null) {
          floats = new float[buffer.length];
        }
        if (width == stride) {
          System.arraycopy(data, at, floats, floatRows * stride, count * width);
        } else {
          for (int r = 0; r < count; r++) {
            System.arraycopy(data, at + r * width, floats, (floatRows + r) * stride, width);
          }
        }
        floatRows += count;
        if (floatRows == capacity) {
          sumFloatBlock();
        }
      }
      at += count * width;
      left -= count;
    }
  }

  /** Sums the buffered rows and adds every partial sum to the owner's exact sums. */
  void finish() {
    sumBlock();
    sumFloatBlock();
    if (rowsSinceFlush > 0) { // else every partial sum is zero: reading d moments stays O(d)
      flush();
    }
  }

  private void sumBlock() {
    int n = rows;
    if (n == 0) {
      return;
    }
    startWindow(n, false);
    sumRows(0, stride, buffer, 0, stride, n);
    rowsSinceFlush += n;
    rows = 0;
  }

  private void sumFloatBlock() {
    if (floatRows > 0) {
      sumFloatRows(floats, 0, floatRows);
      floatRows = 0;
    }
  }

  /**
   * Sums {@code n} rows of floats by the float kernel: position p of row i at
   * {@code data[at + p + i * stride]}.
   */
  private void sumFloatRows(float[] data, int at, int n) {
    startWindow(n, true);
    for (int g = 0; g < stride; g += LANES) {
      sumFloatGroup(g, data, at + g, stride, n);
    }
    rowsSinceFlush += n;
  }

  /**
   * Sums {@code n} rows of group g's positions from floats by the float kernel, row i of position
   * {@code g + lane} at {@code data[at + lane + i * dataStride]}; the caller keeps the window.
   */
  private void sumFloatGroup(int g, float[] data, int at, int dataStride, int n) {
    for (int p = g; p < Math.min(g + LANES, positions); p++) {
      owner.finiteCount[p / perFeature] += n;
    }
    boolean allFit = false;
    if (simd) {
      for (int lane = 0; lane < LANES; lane++) {
        if (exponent[g + lane] == UNSET) {
          int count = column(data, at + lane, dataStride, n);
          setExponent(g + lane, boundExponent(largestFinite(column, 0, 1, count)));
        }
      }
      allFit = VectorFold.sumGroupFloats(this, g, data, at, dataStride, n);
    }
    if (!allFit) {
      for (int lane = 0; lane < LANES && g + lane < positions; lane++) {
        if (!simd || !laneFits(g, lane)) {
          int count = column(data, at + lane, dataStride, n);
          sumSlowly(g + lane, column, 0, 1, count);
        }
      }
    }
  }

  /**
   * Adds {@code items} items of a channels-first tensor {@code [items, C, S]} held from
   * {@code data[from]} (C = features, perFeature == {@code LANES}, S = {@code spatial}): the first
   * {@code runRows * LANES} of item n's S values of feature j,
   * {@code data[from + (n * C + j) * S ..]}, as {@code runRows = S / LANES} rows of the
   * feature's {@code LANES} positions, summed where they are by the float kernel (from
   * {@code floatData}) or the general one (from {@code doubles} if {@code floatData} is null). The
   * caller adds the rest of each run, {@code S % LANES} values.
   */
  void addRuns(float[] floatData, double[] doubles, int from, int items, int spatial) {
    int runRows = spatial / LANES;
    boolean floatRuns = floatData != null;
    int features = positions / LANES;
    for (int item = 0; item < items; item++) {
      int base = from + item * features * spatial;
      for (int first = 0; first < runRows; first += FLUSH_ROWS) {
        int n = Math.min(FLUSH_ROWS, runRows - first);
        startWindow(n, floatRuns);
        for (int j = 0; j < features; j++) {
          int at = base + j * spatial + first * LANES;
          if (floatRuns) {
            sumFloatGroup(j * LANES, floatData, at, LANES, n);
          } else {
            sumRows(j * LANES, j * LANES + LANES, doubles, at, LANES, n);
          }
        }
        rowsSinceFlush += n;
      }
    }
  }

  /**
   * Copies one position's values of a float block (row i at {@code data[at + i * dataStride]})
   * into {@link #column} as doubles, and returns how many: {@code n}.
   */
  private int column(float[] data, int at, int dataStride, int n) {
    if (column == null) {
      column = new double[FLUSH_ROWS];
    }
    for (int i = 0, k = at; i < n; i++, k += dataStride) {
      column[i] = data[k];
    }
    return n;
  }

  /**
   * Flushes the partial sums if {@code n} more rows would leave the levels' headroom, or if they
   * are summed by the other kernel than the rows since the last flush.
   */
  private void startWindow(int n, boolean floats) {
    if (rowsSinceFlush + n > FLUSH_ROWS || rowsSinceFlush > 0 && floats != windowOfFloats) {
      flush();
    }
    windowOfFloats = floats;
  }

  /**
   * Adds {@code n} rows of every position, given column by column: {@code columns} copies each
   * position's values into a tile of at most {@value #TILE_ROWS} rows and {@value #TILE_POSITIONS}
   * positions, which the kernel sums before the next tile is copied. The same sums as rows through
   * {@link #nextRow()}, for any {@code n}; what differs is the memory traffic of a wide row: a
   * tile's source columns, destination and kernel state stay in the L2 cache, where a block of
   * {@value #MIN_BLOCK_ROWS} rows of thousands of columns fetches each column's values (for a
   * dictionary-encoded Parquet column, its dictionary too) again for every block.
   */
  void addColumns(int n, MomentAccumulator.ColumnCopier columns) {
    sumBlock();
    int width = Math.min(stride, TILE_POSITIONS);
    if (tile == null) {
      tile = new double[TILE_ROWS * width];
    }
    for (int from = 0; from < n; ) {
      int r = Math.min(TILE_ROWS, n - from);
      startWindow(r, false);
      for (int first = 0; first < stride; first += width) {
        int end = Math.min(first + width, stride);
        int w = end - first;
        for (int p = first; p < end; p++) {
          if (p < positions) {
            columns.copy(p, from, r, tile, p - first, w);
          } else {
            for (int i = 0; i < r; i++) {
              tile[p - first + i * w] = 0; // padding lanes hold zeros
            }
          }
        }
        sumRows(first, end, tile, 0, w, r);
      }
      rowsSinceFlush += r;
      from += r;
    }
  }

  /**
   * Sums {@code n} rows of positions {@code first} (a multiple of {@code LANES}) to {@code end}
   * (the same or {@link #stride}) held in {@code data}: position p of row i at
   * {@code data[at + (p - first) + i * dataStride]}.
   */
  private void sumRows(int first, int end, double[] data, int at, int dataStride, int n) {
    for (int p = first; p < Math.min(end, positions); p++) {
      owner.finiteCount[p / perFeature] += n;
    }
    for (int g = first; g < end; g += LANES) {
      int k = at + g - first;
      boolean allFit = false;
      if (simd) {
        initExponents(g, data, k, dataStride, n);
        allFit = VectorFold.sumGroup(this, g, data, k, dataStride, n);
      }
      if (!allFit) {
        for (int lane = 0; lane < LANES && g + lane < positions; lane++) {
          if (!simd || !laneFits(g, lane)) {
            sumSlowly(g + lane, data, k + lane, dataStride, n);
          }
        }
      }
    }
  }

  /** Whether the kernel's last group fitted in {@code lane}: the check of {@link VectorFold}. */
  private boolean laneFits(int g, int lane) {
    double b = bound[g + lane];
    return laneChecks[VALUE_REMAINDERS + lane] == 0 && Math.abs(laneChecks[MINIMA + lane]) < b
        && Math.abs(laneChecks[MAXIMA + lane]) < b;
  }

  /**
   * Chooses the bound of every position of group g that has none from the block's values (position
   * g + lane of row i at {@code data[at + lane + i * dataStride]}).
   */
  private void initExponents(int g, double[] data, int at, int dataStride, int n) {
    for (int lane = 0; lane < LANES; lane++) {
      if (exponent[g + lane] == UNSET) {
        setExponent(g + lane, boundExponent(largestFinite(data, at + lane, dataStride, n)));
      }
    }
  }

  private static double largestFinite(double[] data, int at, int dataStride, int n) {
    double largest = 0;
    for (int i = 0, k = at; i < n; i++, k += dataStride) {
      double a = Math.abs(data[k]);
      if (a > largest && a <= Double.MAX_VALUE) {
        largest = a;
      }
    }
    return largest;
  }

  /** The smallest M with {@code largest < 2^M}. */
  private static int boundExponent(double largest) {
    return largest == 0 ? 0 : Math.getExponent(largest) + 1;
  }

  /**
   * The block's values of position p (row i at {@code data[at + i * dataStride]}), one by one
   * through the owner's exact sums.
   */
  private void sumSlowly(int p, double[] data, int at, int dataStride, int n) {
    int feature = p / perFeature;
    for (int i = 0, k = at; i < n; i++, k += dataStride) {
      owner.addBlockValue(feature, data[k]);
    }
    int m = boundExponent(largestFinite(data, at, dataStride, n));
    if (m != exponent[p]) {
      flush(p);
      setExponent(p, m);
    }
  }

  private void setExponent(int p, int m) {
    exponent[p] = m;
    if (m < MIN_EXPONENT || m > MAX_EXPONENT) {
      // No levels: every lane result is NaN, so the lane always takes the exact slow path.
      bound[p] = c1[p] = c2[p] = k1[p] = k2[p] = k3[p] = k4[p] = squareFloor[p] = Double.NaN;
      return;
    }
    int s1 = m + HEADROOM_BITS + 1;
    int s2 = s1 - 52 + HEADROOM_BITS;
    int q1 = 2 * m + HEADROOM_BITS + 1;
    int step = 52 - HEADROOM_BITS - 1;
    bound[p] = Math.scalb(1.0, m);
    c1[p] = 1.5 * Math.scalb(1.0, s1);
    c2[p] = 1.5 * Math.scalb(1.0, s2);
    k1[p] = 1.5 * Math.scalb(1.0, q1);
    k2[p] = 1.5 * Math.scalb(1.0, q1 - step);
    k3[p] = 1.5 * Math.scalb(1.0, q1 - 2 * step);
    k4[p] = 1.5 * Math.scalb(1.0, q1 - 3 * step);
    squareFloor[p] = Math.scalb(1.0, 2 * m - 80);
  }

  private void flush() {
    for (int p = 0; p < positions; p++) {
      flush(p);
    }
    rowsSinceFlush = 0;
  }

  /** Adds position p's partial sums (exact doubles) to its feature's exact sums, and clears them. */
  private void flush(int p) {
    int f = p / perFeature;
    owner.addPartialSums(f, t1[p], t2[p], u1[p], u2[p], u3[p], u4[p], min[p], max[p]);
    t1[p] = t2[p] = u1[p] = u2[p] = u3[p] = u4[p] = 0;
    min[p] = Double.POSITIVE_INFINITY;
    max[p] = Double.NEGATIVE_INFINITY;
  }
}
