package io.normstats.sql;

import io.normstats.InputException;
import io.normstats.exact.FeatureMoments;
import io.normstats.io.ImageDecoder;
import io.normstats.io.ImageTransform;
import io.normstats.result.DatasetStatistics;
import io.normstats.result.FeatureStatistics;
import io.normstats.result.PixelStatistics;
import io.normstats.spark.ExactStatistics;
import io.normstats.spark.FeatureSelection;
import io.normstats.spark.ImageStatistics;
import io.normstats.spark.input.Inputs;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The exact statistics of a DataFrame's features as a DataFrame: the public, stable entry point
 * for programs (and the Python package's {@code normstats.exact_stats}) to what the stats job
 * computes, with the columns of its stats.parquet. The engine behind it
 * ({@link ExactStatistics}) may change; this does not.
 */
public final class ExactStats {
  private ExactStats() {}

  /**
   * The columns of the statistics table, one row per feature, as the stats job's stats.parquet:
   * name, index (0-based position), count (valid values), mean, var_pop, var_samp, std_pop,
   * std_samp, min, max (null where undefined: no valid value, or var_samp of one), null_count and
   * nan_count (NaN or infinite values, left out of the statistics).
   */
  public static final StructType SCHEMA = new StructType()
      .add("name", DataTypes.StringType, false)
      .add("index", DataTypes.IntegerType, false)
      .add("count", DataTypes.LongType, false)
      .add("mean", DataTypes.DoubleType, true)
      .add("var_pop", DataTypes.DoubleType, true)
      .add("var_samp", DataTypes.DoubleType, true)
      .add("std_pop", DataTypes.DoubleType, true)
      .add("std_samp", DataTypes.DoubleType, true)
      .add("min", DataTypes.DoubleType, true)
      .add("max", DataTypes.DoubleType, true)
      .add("null_count", DataTypes.LongType, false)
      .add("nan_count", DataTypes.LongType, false);

  /** {@code result}'s features as rows of {@link #SCHEMA}, in feature order. */
  public static List<Row> rows(DatasetStatistics result) {
    List<Row> rows = new ArrayList<>(result.features().size());
    for (FeatureStatistics f : result.features()) {
      FeatureMoments m = f.moments();
      rows.add(RowFactory.create(f.name(), f.index(), m.count(), orNull(m.mean()),
          orNull(m.varPop()), orNull(m.varSamp()), orNull(m.stdPop()), orNull(m.stdSamp()),
          orNull(m.min()), orNull(m.max()), m.nullCount(), m.nanCount()));
    }
    return rows;
  }

  private static Double orNull(double v) {
    return Double.isNaN(v) ? null : v;
  }

  /**
   * The exact statistics of {@code df}'s features as a DataFrame of {@link #SCHEMA} (one row
   * per feature or channel, ordered by index), computed in one pass when called: the stats job's
   * stats.parquet, for programs (the Python package's {@code normstats.exact_stats} calls this).
   *
   * @param features the numeric scalar columns, or null
   * @param vectorColumn a Vector, array&lt;double&gt; or array&lt;float&gt; column, or null; with
   *     neither given, every numeric scalar column or else the only vector column
   * @param channels 0 for one statistic per vector element; C for one per channel of vectors of
   *     length C*H*W in channel-major order (BatchNorm2d)
   * @throws IllegalArgumentException for an unknown or non-numeric column, both features and
   *     vectorColumn given, or channels that do not divide the vector length
   * @throws InputException (data) for vectors of different lengths
   */
  public static Dataset<Row> of(Dataset<Row> df, List<String> features, String vectorColumn,
      int channels) {
    DatasetStatistics result;
    try {
      if (features != null && vectorColumn != null) {
        throw InputException.usage("give either features or a vector column, not both");
      }
      FeatureSelection selection = FeatureSelection.resolveDeferred(df, features, vectorColumn);
      if (channels != 0) {
        selection = selection.withChannels(channels);
      }
      result = ExactStatistics.compute(df, selection);
    } catch (InputException e) {
      if (e.exitCode() == InputException.USAGE) {
        throw new IllegalArgumentException(e.getMessage(), e);
      }
      throw e;
    }
    return df.sparkSession().createDataFrame(rows(result), SCHEMA);
  }


  /**
   * The exact per-channel statistics of images ({@link ImageStatistics}), for programs: the
   * Python package's {@code normstats.image_stats} calls this.
   *
   * @param spark the session
   * @param path image files (a file, a directory read recursively, a glob, or several separated
   *     by commas), or null to read {@code df}
   * @param df rows with an image column, or null to read {@code path}
   * @param imageCol with {@code df}: a binary column, or a struct with a {@code bytes} field (and
   *     a {@code path} field naming the image), as Hugging Face datasets store an Image
   * @param color {@code rgb}, {@code gray} or {@code keep} ({@link ImageDecoder.ColorMode})
   * @param pixelValues {@code unit} (ToTensor's [0, 1]) or {@code raw} (the stored levels)
   * @param skipInvalid leave undecodable and null images out, counted, instead of failing
   * @param resize torchvision's Resize: the shorter side to this, or 0
   * @param cropHeight torchvision's CenterCrop height, or 0
   * @param cropWidth its width, or 0
   * @return the table ({@link #SCHEMA}, one row per channel) and the images' result
   * @throws IllegalArgumentException for a missing path or column, a column of another type,
   *     no image files, or an unknown color or pixelValues
   * @throws InputException (data) for an image that cannot be decoded (unless skipped), and for
   *     no images
   */
  public static Images images(SparkSession spark, String path, Dataset<Row> df, String imageCol,
      String color, String pixelValues, boolean skipInvalid, int resize, int cropHeight,
      int cropWidth) {
    try {
      if ((path == null) == (df == null)) {
        throw InputException.usage("give either a path of image files or a DataFrame");
      }
      ImageDecoder.ColorMode mode = parse(ImageDecoder.ColorMode.class, "color", color);
      ImageStatistics.PixelValues values = parse(ImageStatistics.PixelValues.class,
          "pixel_values", pixelValues);
      ImageTransform transform;
      try {
        transform = new ImageTransform(resize, cropHeight, cropWidth);
      } catch (IllegalArgumentException e) {
        throw InputException.usage(e.getMessage());
      }
      ImageStatistics.Options options = new ImageStatistics.Options(mode, values, skipInvalid,
          transform);
      PixelStatistics result;
      if (path != null) {
        result = ImageStatistics.compute(Inputs.readImages(spark, path, Map.of()), "content",
            "path", path, options);
      } else {
        if (imageCol == null) {
          throw InputException.usage("name the DataFrame's image column (image_col)");
        }
        result = ImageStatistics.compute(df, imageCol, null, "the DataFrame", options);
      }
      return new Images(spark.createDataFrame(rows(result.statistics()), SCHEMA), result);
    } catch (InputException e) {
      if (e.exitCode() == InputException.USAGE) {
        throw new IllegalArgumentException(e.getMessage(), e);
      }
      throw e;
    }
  }

  private static <E extends Enum<E>> E parse(Class<E> type, String what, String value) {
    try {
      return Enum.valueOf(type, value.toUpperCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException | NullPointerException e) {
      throw InputException.usage(what + " must be one of " + java.util.Arrays.stream(
          type.getEnumConstants()).map(c -> c.name().toLowerCase(java.util.Locale.ROOT)).toList()
          + ", not " + value);
    }
  }

  /**
   * The statistics of images: {@code table} as {@link #of} gives it, one row per channel, and the
   * full result (images counted and skipped, sizes, Normalize's lists).
   */
  public record Images(Dataset<Row> table, PixelStatistics result) {}
}
