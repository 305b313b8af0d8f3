package io.normstats.exact;

import static io.normstats.testing.ExactOracle.assertMoments;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The SIMD dense-row path against the value-by-value exact path and the BigDecimal oracle: every
 * statistic must be bit-identical, whatever the values, the row count, the width and the blocks.
 */
class DenseBlocksTest {

  @Test
  void theKernelRunsInTheTestJvm() {
    // The build runs the tests with Spark's JVM options, which resolve jdk.incubator.vector; without
    // them every other test here would only compare the slow path with itself.
    assertTrue(DenseBlocks.SIMD, "the SIMD kernel is not available in this JVM");
  }

  /** Column generators: ordinary, adversarial, and ones that force the kernel to fall back. */
  static List<DoubleSupplier> columns(SplittableRandom r) {
    return List.of(
        () -> r.nextGaussian(),
        () -> 1e9 + 10 * r.nextDouble(),
        () -> r.nextInt(256),
        () -> r.nextInt(5) == 0 ? 0.0 : r.nextGaussian() * 1e-3,
        () -> 0x1p50 + r.nextInt(-8, 9),
        () -> Math.scalb(r.nextDouble(1, 2), r.nextInt(-1074, 1024)) * (r.nextBoolean() ? 1 : -1),
        () -> 1e-200 * r.nextDouble(-1, 1),
        () -> 1e160 * (1 + r.nextDouble()),
        () -> r.nextInt(1000) == 0 ? Double.NaN : r.nextGaussian(),
        () -> r.nextInt(700) == 0 ? Double.NEGATIVE_INFINITY : 3 + r.nextDouble(),
        () -> r.nextInt(3) == 0 ? -0.0 : 0.0,
        // A zero minimum or maximum takes its sign from Math.min/max, whatever the row order.
        () -> r.nextInt(3) == 0 ? -0.0 : r.nextBoolean() ? 0.0 : r.nextDouble(),
        () -> r.nextInt(3) == 0 ? 0.0 : r.nextBoolean() ? -0.0 : -r.nextDouble(),
        () -> r.nextBoolean() ? 0.0 : r.nextDouble(),
        () -> r.nextBoolean() ? -0.0 : -r.nextDouble(),
        () -> r.nextInt(2000) == 0 ? 1e30 : r.nextDouble(),
        () -> r.nextInt(2000) == 0 ? 1e-30 : r.nextDouble(),
        () -> r.nextBoolean() ? Double.MAX_VALUE : -Double.MAX_VALUE * r.nextDouble(),
        () -> Double.MIN_VALUE * r.nextInt(0, 1 << 20),
        () -> 0.1);
  }

  static Stream<Arguments> shapes() {
    return Stream.of(
        Arguments.of(1, 1, 3000),
        Arguments.of(7, 1, 2500),
        Arguments.of(16, 1, 4100),
        Arguments.of(33, 1, 1030),
        Arguments.of(3, 5, 1500),
        Arguments.of(2, 40_000, 3));
  }

  @ParameterizedTest(name = "{0} features x {1} values, {2} rows")
  @MethodSource("shapes")
  void simdAndValueByValueGiveIdenticalBits(int features, int perFeature, int rows) {
    SplittableRandom r = new SplittableRandom(features * 31L + rows);
    List<DoubleSupplier> kinds = columns(r);
    int width = features * perFeature;
    double[][] data = new double[rows][width];
    for (int k = 0; k < width; k++) {
      DoubleSupplier kind = kinds.get((k / perFeature * 5 + k) % kinds.size());
      for (int i = 0; i < rows; i++) {
        data[i][k] = kind.getAsDouble();
      }
    }
    MomentAccumulator simd = new MomentAccumulator(features, perFeature, true);
    MomentAccumulator slow = new MomentAccumulator(features, perFeature, false);
    for (double[] row : data) {
      simd.addDenseChannels(row);
      slow.addDenseChannels(row);
    }
    for (int j = 0; j < features; j++) {
      assertEquals(slow.moments(j), simd.moments(j), "feature " + j);
      if (perFeature == 1) {
        int f = j;
        double[] column = java.util.Arrays.stream(data).mapToDouble(row -> row[f])
            .filter(Double::isFinite).toArray();
        if (column.length > 0) {
          assertMoments(column, simd.moments(j), "feature " + j);
        }
      }
    }
  }

  /**
   * Float columns for the float kernel, among them ones whose lanes must not fit: a non-zero
   * value below {@code 2^(M-40)} against the lane's bound {@code 2^M}, NaN, infinities.
   */
  static List<DoubleSupplier> floatColumns(SplittableRandom r) {
    return List.of(
        () -> (float) r.nextGaussian(),
        () -> Math.max(0f, (float) r.nextGaussian()), // ReLU outputs: many zeros
        () -> r.nextInt(3) == 0 ? -0f : Math.max(0f, (float) r.nextGaussian()),
        () -> r.nextInt(3) == 0 ? 0f : Math.min(-0f, (float) r.nextGaussian()),
        () -> (float) (1000 + 1e-3 * r.nextGaussian()),
        () -> (float) Math.scalb(r.nextDouble(1, 2), r.nextInt(-149, 128)),
        () -> r.nextInt(500) == 0 ? (float) 1e-30 : (float) r.nextDouble(),
        () -> r.nextInt(500) == 0 ? Float.NaN : (float) r.nextGaussian(),
        () -> Float.MIN_VALUE * r.nextInt(0, 1 << 20),
        // Bound 2^1 (values up to 2 - 2^-22); 24-bit values at the floor 2^-39 and just under it.
        () -> r.nextInt(4) == 0 ? 2 - 0x1p-22f : fullFloat(r, -39) * (r.nextBoolean() ? 1 : -1),
        () -> r.nextInt(400) == 0 ? fullFloat(r, -40) : 2 - 0x1p-22f * r.nextInt(1, 1 << 20),
        () -> r.nextInt(700) == 0 ? Float.NEGATIVE_INFINITY : fullFloat(r, r.nextInt(-39, 1)),
        () -> fullFloat(r, r.nextInt(-140, -110))); // subnormal floats among small normal ones
  }

  /** A float in [2^e, 2^(e+1)) with random low significand bits. */
  static float fullFloat(SplittableRandom r, int e) {
    return Math.scalb((float) (1 + r.nextInt(1 << 23) * 0x1p-23), e);
  }

  @ParameterizedTest(name = "{0} features x {1} values, {2} rows")
  @MethodSource("shapes")
  void theFloatKernelGivesTheBitsOfTheExactPath(int features, int perFeature, int rows) {
    SplittableRandom r = new SplittableRandom(features * 17L + rows);
    List<DoubleSupplier> kinds = floatColumns(r);
    int width = features * perFeature;
    MomentAccumulator floats = new MomentAccumulator(features, perFeature);
    MomentAccumulator slow = new MomentAccumulator(features, perFeature, false);
    double[][] data = new double[rows][width];
    float[] batch = new float[rows * width];
    for (int i = 0; i < rows; i++) {
      for (int k = 0; k < width; k++) {
        batch[i * width + k] = (float) kinds.get((k / perFeature + k) % kinds.size()).getAsDouble();
        data[i][k] = batch[i * width + k];
      }
      slow.addDenseChannels(data[i]);
    }
    floats.addFloatRows(batch, 0, rows);
    for (int j = 0; j < features; j++) {
      assertEquals(slow.state(j), floats.state(j), "feature " + j);
      assertEquals(slow.moments(j), floats.moments(j), "feature " + j);
      assertEquals(slow.exact(j).varPopToFloat(), floats.exact(j).varPopToFloat());
      if (perFeature != 1) {
        continue;
      }
      int f = j;
      double[] column = java.util.Arrays.stream(data).mapToDouble(row -> row[f])
          .filter(Double::isFinite).toArray();
      assertMoments(column, floats.moments(j), "feature " + j);
    }
  }

  @Test
  void theFloatKernelsFloorIsWhereItsLastSquareLevelStaysExact() {
    // Bound 2^1 (a value of 2 - 2^-22 in every block). Squares of floats just at the floor 2^-39
    // and just under it, chosen so that what is left after the two square levels is near +2^-81:
    // 1,024 of them sum to about 2^-71. At the floor that is 2^53 units of ulp(x)^2 = 2^-124, the
    // most an exact double holds; under it (ulp(x)^2 = 2^-126) it is not exact, and the lane must
    // fall back to the value-by-value path. Against the value-by-value path and the oracle.
    SplittableRandom r = new SplittableRandom(5);
    int rows = 3000;
    float[] batch = new float[rows * 2];
    for (int i = 0; i < rows; i++) {
      boolean big = i % 400 == 0;
      batch[2 * i] = big ? 2 - 0x1p-22f : largeRest(r, -39);
      batch[2 * i + 1] = big ? 2 - 0x1p-22f : largeRest(r, -40);
    }
    MomentAccumulator floats = new MomentAccumulator(2);
    MomentAccumulator slow = new MomentAccumulator(2, 1, false);
    floats.addFloatRows(batch, 0, rows);
    for (int i = 0; i < rows; i++) {
      slow.addDense(new double[] {batch[2 * i], batch[2 * i + 1]});
    }
    for (int j = 0; j < 2; j++) {
      // the exact sums themselves: an error of 2^-126 would not show in the rounded moments
      assertEquals(slow.state(j), floats.state(j), "feature " + j);
      assertEquals(slow.moments(j), floats.moments(j), "feature " + j);
      double[] column = new double[rows];
      for (int i = 0; i < rows; i++) {
        column[i] = batch[2 * i + j];
      }
      assertMoments(column, floats.moments(j), "feature " + j);
    }
  }

  /**
   * A float in [2^e, 2^(e+1)) whose square, after the float kernel's two square levels for the
   * bound 2^1 (grids 2^-39 and 2^-80), leaves more than 0.45 * 2^-81.
   */
  static float largeRest(SplittableRandom r, int e) {
    double k1 = 1.5 * 0x1p13;
    double k2 = 1.5 * 0x1p-28;
    while (true) {
      float x = fullFloat(r, e);
      double p = (double) x * x;
      double p1 = (p + k1) - k1;
      double pr = p - p1;
      double p2 = (pr + k2) - k2;
      if (pr - p2 > 0.45 * 0x1p-81) {
        return x;
      }
    }
  }

  @Test
  void boundsAdaptWhenTheScaleOfAFeatureChanges() {
    // Blocks of tiny, then huge, then ordinary values: each change fails the kernel once, redoes
    // the block exactly, and re-chooses the levels.
    SplittableRandom r = new SplittableRandom(7);
    MomentAccumulator simd = new MomentAccumulator(4, 1, true);
    MomentAccumulator slow = new MomentAccumulator(4, 1, false);
    List<double[]> column = new ArrayList<>();
    double[] scales = {1e-3, 1e12, 1, 1e-250, 1e250, 3};
    for (double scale : scales) {
      for (int i = 0; i < 1500; i++) {
        double[] row = new double[4];
        for (int k = 0; k < 4; k++) {
          row[k] = scale * r.nextGaussian() + k;
        }
        column.add(row);
        simd.addDense(row);
        slow.addDense(row);
      }
    }
    for (int j = 0; j < 4; j++) {
      assertEquals(slow.moments(j), simd.moments(j));
      int f = j;
      assertMoments(column.stream().mapToDouble(row -> row[f]).toArray(), simd.moments(j), "f" + j);
    }
  }

  @ParameterizedTest(name = "{0} channels x {1} values")
  @MethodSource("floatShapes")
  void rowsAddedInBulkEqualRowsAddedOneByOne(int features, int perFeature) {
    // Widths that fill the row stride (8 x 1, 16 x 3 = 48) and ones that leave padding (3 x 1,
    // 5 x 3), batches of any size (some of more than a block's rows, which the float kernel sums
    // where they are), values of every float kind including NaN and zeros of both signs.
    SplittableRandom r = new SplittableRandom(features * 7L + perFeature);
    List<DoubleSupplier> kinds = floatColumns(r);
    int width = features * perFeature;
    MomentAccumulator floats = new MomentAccumulator(features, perFeature);
    MomentAccumulator rows = new MomentAccumulator(features, perFeature);
    MomentAccumulator slow = new MomentAccumulator(features, perFeature, false);
    MomentAccumulator doubles = new MomentAccumulator(features, perFeature);
    MomentAccumulator doubleRows = new MomentAccumulator(features, perFeature);
    // float batches and double batches (the float and the double kernel) in one accumulator
    MomentAccumulator mixed = new MomentAccumulator(features, perFeature);
    List<DoubleSupplier> doubleKinds = columns(r);
    MomentAccumulator mixedSlow = new MomentAccumulator(features, perFeature, false);
    for (int batch = 0; batch < 40; batch++) {
      int n = batch % 5 == 4 ? r.nextInt(0, 2600) : r.nextInt(0, 300);
      int from = r.nextInt(0, 5);
      float[] data = new float[from + n * width + r.nextInt(0, 3)];
      for (int i = 0; i < n; i++) {
        for (int k = 0; k < width; k++) {
          data[from + i * width + k] = (float) kinds.get(k % kinds.size()).getAsDouble();
        }
      }
      floats.addFloatRows(data, from, n);
      double[] asDoubles = new double[data.length];
      for (int i = 0; i < data.length; i++) {
        asDoubles[i] = data[i];
      }
      doubles.addDenseRows(asDoubles, from, n);
      if (batch % 3 == 0) {
        mixed.addFloatRows(data, from, n);
        for (int i = 0; i < n; i++) {
          mixedSlow.addDenseChannels(java.util.Arrays.copyOfRange(asDoubles, from + i * width,
              from + (i + 1) * width));
        }
      } else {
        double[] other = new double[n * width];
        for (int i = 0; i < other.length; i++) {
          other[i] = doubleKinds.get(i % width % doubleKinds.size()).getAsDouble();
        }
        mixed.addDenseRows(other, 0, n);
        for (int i = 0; i < n; i++) {
          mixedSlow.addDenseChannels(java.util.Arrays.copyOfRange(other, i * width,
              (i + 1) * width));
        }
      }
      for (int i = 0; i < n; i++) {
        double[] row = new double[width];
        for (int k = 0; k < width; k++) {
          row[k] = data[from + i * width + k];
        }
        rows.addDenseChannels(row);
        slow.addDenseChannels(row);
        doubleRows.addDenseChannels(row);
      }
    }
    assertEquals(slow.rows(), floats.rows());
    for (int j = 0; j < features; j++) {
      assertEquals(slow.state(j), floats.state(j), "feature " + j);
      assertEquals(slow.moments(j), floats.moments(j), "feature " + j);
      assertEquals(rows.moments(j), floats.moments(j), "feature " + j);
      assertEquals(doubleRows.moments(j), doubles.moments(j), "feature " + j);
      assertEquals(slow.moments(j), doubles.moments(j), "feature " + j);
      assertEquals(mixedSlow.state(j), mixed.state(j), "feature " + j);
    }
    assertEquals(slow.rows(), doubles.rows());
    float[] tooShort = new float[width];
    assertThrows(IndexOutOfBoundsException.class, () -> floats.addFloatRows(tooShort, 1, 1));
    assertThrows(IndexOutOfBoundsException.class,
        () -> doubles.addDenseRows(new double[width], 1, 1));
  }

  @ParameterizedTest(name = "{0} channels x {1} positions")
  @CsvSource({"13, 4", "3, 196", "2, 5000"})
  void channelsFirstItemsGiveTheBitsOfTheExactPath(int channels, int spatial) {
    // Items of a channels-first tensor [n, C, S], each channel's S values summed where they are
    // (as rows of the kernel's 4 or 8 lanes; with 8, the last 4 values of a run of 4 or 196 go
    // through the block buffer; 5,000 positions are more than a flush window of rows), floats by
    // the float kernel and doubles by the general one, of
    // every kind (channel c takes kind c), mixed with rows added one by one; against the value-by-
    // value path over the same values as rows of C.
    SplittableRandom r = new SplittableRandom(channels * 31L + spatial);
    List<DoubleSupplier> floatKinds = floatColumns(r);
    List<DoubleSupplier> doubleKinds = columns(r);
    int lanes = MomentAccumulator.RUN_LANES;
    MomentAccumulator floats = new MomentAccumulator(channels, lanes);
    MomentAccumulator doubles = new MomentAccumulator(channels, lanes);
    MomentAccumulator slowFloats = new MomentAccumulator(channels, 1, false);
    MomentAccumulator slowDoubles = new MomentAccumulator(channels, 1, false);
    long rows = 0;
    for (int batch = 0; batch < 6; batch++) {
      int n = r.nextInt(0, 40_000 / spatial + 2);
      int from = r.nextInt(0, 3);
      float[] f = new float[from + n * channels * spatial];
      double[] d = new double[f.length];
      for (int i = 0; i < n; i++) {
        for (int c = 0; c < channels; c++) {
          for (int p = 0; p < spatial; p++) {
            int k = from + (i * channels + c) * spatial + p;
            f[k] = (float) floatKinds.get((c + batch) % floatKinds.size()).getAsDouble();
            d[k] = doubleKinds.get((c + batch) % doubleKinds.size()).getAsDouble();
          }
        }
      }
      floats.addChannelsFirst(f, from, n, spatial);
      doubles.addChannelsFirst(d, from, n, spatial);
      rows += (long) n * (spatial / lanes);
      for (int i = 0; i < n; i++) {
        for (int p = 0; p < spatial; p++) {
          double[] floatRow = new double[channels];
          double[] doubleRow = new double[channels];
          for (int c = 0; c < channels; c++) {
            floatRow[c] = f[from + (i * channels + c) * spatial + p];
            doubleRow[c] = d[from + (i * channels + c) * spatial + p];
          }
          slowFloats.addDense(floatRow);
          slowDoubles.addDense(doubleRow);
        }
      }
      // a row through the block buffer between the batches (4 values of each channel)
      double[] row = new double[channels * lanes];
      for (int k = 0; k < row.length; k++) {
        row[k] = r.nextGaussian();
      }
      floats.addDenseChannels(row);
      doubles.addDenseChannels(row);
      rows++;
      for (int lane = 0; lane < lanes; lane++) {
        double[] values = new double[channels];
        for (int c = 0; c < channels; c++) {
          values[c] = row[c * lanes + lane];
        }
        slowFloats.addDense(values);
        slowDoubles.addDense(values);
      }
    }
    assertEquals(rows, floats.rows());
    assertEquals(rows, doubles.rows());
    for (int c = 0; c < channels; c++) {
      assertEquals(slowFloats.state(c), floats.state(c), "float channel " + c);
      assertEquals(slowDoubles.state(c), doubles.state(c), "double channel " + c);
    }
    assertThrows(IllegalArgumentException.class,
        () -> new MomentAccumulator(channels).addChannelsFirst(new float[channels * 4], 0, 1, 4));
    assertThrows(IllegalArgumentException.class,
        () -> floats.addChannelsFirst(new float[channels * 6], 0, 1, 6));
    assertThrows(IndexOutOfBoundsException.class,
        () -> floats.addChannelsFirst(new float[channels * spatial], 1, 1, spatial));
  }

  static Stream<Arguments> floatShapes() {
    return Stream.of(Arguments.of(8, 1), Arguments.of(3, 1), Arguments.of(16, 3),
        Arguments.of(5, 3));
  }

  @ParameterizedTest(name = "{0} features x {1} values, floats {2}")
  @MethodSource("columnarShapes")
  void rowsGivenByColumnEqualRowsAddedOneByOne(int features, int perFeature, boolean floats) {
    // Columnar batches of 0 or 500 to 3,000 rows (more than a tile's and a flush's rows), some
    // after a single row through the row buffer (a block pending when a batch arrives); widths
    // below, at and above a tile's 64 positions and with padding; against the value-by-value path
    // and the oracle.
    SplittableRandom r = new SplittableRandom(features * 13L + perFeature + (floats ? 1 : 0));
    List<DoubleSupplier> kinds = floats ? floatColumns(r) : columns(r);
    int width = features * perFeature;
    MomentAccumulator columnar = new MomentAccumulator(features, perFeature);
    MomentAccumulator slow = new MomentAccumulator(features, perFeature, false);
    List<double[]> all = new ArrayList<>();
    for (int batch = 0; batch < 12; batch++) {
      int n = batch == 3 ? 0 : r.nextInt(500, 3000);
      double[][] columns = new double[width][n];
      for (int k = 0; k < width; k++) {
        // a column keeps its kind for 6 batches: sums of thousands of rows between flushes would
        // leave the levels' headroom
        DoubleSupplier kind = kinds.get((k * 7 + batch / 6) % kinds.size());
        for (int i = 0; i < n; i++) {
          columns[k][i] = kind.getAsDouble();
        }
      }
      int[] calls = {0};
      columnar.addColumns(n, (k, from, rows, out, at, stride) -> {
        calls[0]++;
        assertTrue(rows <= DenseBlocks.TILE_ROWS && from + rows <= n, "rows " + from + "+" + rows);
        for (int i = 0; i < rows; i++) {
          out[at + i * stride] = columns[k][from + i];
        }
      });
      int tiles = (n + DenseBlocks.TILE_ROWS - 1) / DenseBlocks.TILE_ROWS;
      assertEquals(tiles * width, calls[0], "one copy per column and tile");
      for (int i = 0; i < n; i++) {
        double[] row = new double[width];
        for (int k = 0; k < width; k++) {
          row[k] = columns[k][i];
        }
        slow.addDenseChannels(row);
        all.add(row);
      }
      if (batch % 2 == 0) {
        continue;
      }
      double[] single = new double[width];
      for (int k = 0; k < width; k++) {
        single[k] = kinds.get(k % kinds.size()).getAsDouble();
      }
      columnar.addDenseChannels(single);
      slow.addDenseChannels(single);
      all.add(single);
    }
    assertEquals(slow.rows(), columnar.rows());
    for (int j = 0; j < features; j++) {
      assertEquals(slow.moments(j), columnar.moments(j), "feature " + j);
      assertEquals(slow.state(j), columnar.state(j), "feature " + j);
      if (perFeature == 1 && j % 5 == 0) {
        int f = j;
        double[] column = all.stream().mapToDouble(row -> row[f]).filter(Double::isFinite)
            .toArray();
        if (column.length > 0) {
          assertMoments(column, columnar.moments(j), "feature " + j);
        }
      }
    }
    assertThrows(IllegalArgumentException.class, () -> columnar.addColumns(-1, (k, f, n, o, a,
        s) -> { }));
  }

  static Stream<Arguments> columnarShapes() {
    return Stream.of(Arguments.of(1, 1, false), Arguments.of(7, 1, false),
        Arguments.of(64, 1, false), Arguments.of(65, 1, false), Arguments.of(203, 1, false),
        Arguments.of(5, 3, false), Arguments.of(70, 1, true), Arguments.of(3, 1, true));
  }

  @Test
  void rowsWrittenInPlaceEqualAddDense() {
    SplittableRandom r = new SplittableRandom(11);
    int d = 6;
    MomentAccumulator inPlace = new MomentAccumulator(d);
    MomentAccumulator copied = new MomentAccumulator(d);
    // two channels of three values: channel c holds features 3c..3c+2 of every row
    MomentAccumulator channelsInPlace = new MomentAccumulator(2, 3);
    MomentAccumulator channelsCopied = new MomentAccumulator(2, 3);
    for (int written = 0; written < 5000; written++) {
      double[] row = new double[d];
      for (int k = 0; k < d; k++) {
        row[k] = r.nextGaussian() * (k + 1);
      }
      if (written % 97 == 0) {
        row[written % d] = Double.NaN;
      }
      inPlace.addDense((out, offset) -> System.arraycopy(row, 0, out, offset, d));
      copied.addDense(row);
      channelsInPlace.addDense((out, offset) -> System.arraycopy(row, 0, out, offset, d));
      channelsCopied.addDenseChannels(row);
    }
    assertEquals(copied.rows(), inPlace.rows());
    for (int j = 0; j < d; j++) {
      assertEquals(copied.moments(j), inPlace.moments(j));
    }
    for (int c = 0; c < 2; c++) {
      assertEquals(channelsCopied.moments(c), channelsInPlace.moments(c));
    }
  }

  /**
   * Runs {@code round} until it allocates nothing (C2 has compiled the kernel and removed its
   * vector boxes) or for up to 20 s, and returns the bytes the last round allocated on this thread.
   */
  private static long bytesAllocatedOnceCompiled(Runnable round) {
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long allocated = Long.MAX_VALUE;
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (allocated != 0 && System.nanoTime() < deadline) {
      long before = threads.getThreadAllocatedBytes(Thread.currentThread().getId());
      round.run();
      allocated = threads.getThreadAllocatedBytes(Thread.currentThread().getId()) - before;
    }
    return allocated;
  }

  /*
   * What the two tests below guard is that no vector is boxed per row: a boxed vector is 64 bytes
   * or more (its object and its array), once per group of positions and operation, so a kernel
   * loop that boxes allocates hundreds of bytes per row. Usually the compiled kernel allocates
   * nothing at all. But in about one JVM in five (seen in CI and here, in the 256-bit execution),
   * C2 compiles the loops so that they box their sums once at the loop's exit: about 6 bytes per
   * row (one box per group and sum per block of 1,024 rows), and that compilation stays. So the
   * bound is 16 bytes per row, which the per-block boxes stay far under and any per-row box
   * exceeds.
   */
  private static final long BYTES_PER_ROW_BOUND = 16;

  @Test
  void addingDenseRowsBoxesNoVectorPerRowOnceCompiled() {
    SplittableRandom r = new SplittableRandom(3);
    double[][] rows = new double[512][32];
    for (double[] row : rows) {
      for (int k = 0; k < row.length; k++) {
        row[k] = r.nextGaussian() * 100 + k;
      }
    }
    MomentAccumulator acc = new MomentAccumulator(32);
    int perRound = 200_000;
    long allocated = bytesAllocatedOnceCompiled(() -> {
      for (int i = 0; i < perRound; i++) {
        acc.addDense(rows[i & 511]);
      }
    });
    assertTrue(allocated <= BYTES_PER_ROW_BOUND * perRound, allocated
        + " bytes allocated by 200,000 compiled dense rows of 32 values");
  }

  @Test
  void addingFloatsBoxesNoVectorPerRowOnceCompiled() {
    // The same for the float kernel: rows of 32 floats (512 a call: whole blocks in place) and
    // channels-first items [16, 8, 196] (each channel's run as 49 rows of 4 lanes).
    SplittableRandom r = new SplittableRandom(4);
    float[] rows = new float[512 * 32];
    float[] items = new float[16 * 8 * 196];
    for (int k = 0; k < rows.length; k++) {
      rows[k] = (float) (r.nextGaussian() * 100 + k % 32);
    }
    for (int k = 0; k < items.length; k++) {
      items[k] = (float) r.nextGaussian();
    }
    MomentAccumulator byRows = new MomentAccumulator(32);
    MomentAccumulator byItems = new MomentAccumulator(8, MomentAccumulator.RUN_LANES);
    long allocated = bytesAllocatedOnceCompiled(() -> {
      for (int i = 0; i < 400; i++) {
        byRows.addFloatRows(rows, 0, 512);
        byItems.addChannelsFirst(items, 0, 16, 196);
      }
    });
    // 204,800 rows of 32 floats and 6,400 items (100,352 kernel rows of 4 lanes)
    assertTrue(allocated <= BYTES_PER_ROW_BOUND * (204_800 + 100_352), allocated
        + " bytes allocated by 204,800 rows and 6,400 items, compiled");
  }
}
