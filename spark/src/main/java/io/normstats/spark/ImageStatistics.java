package io.normstats.spark;

import com.esotericsoftware.kryo.DefaultSerializer;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import io.normstats.InputException;
import io.normstats.exact.ExactMoments;
import io.normstats.exact.FeatureMoments;
import io.normstats.exact.MomentAccumulator;
import io.normstats.io.ImageDecoder;
import io.normstats.io.ImageTransform;
import io.normstats.result.DatasetStatistics;
import io.normstats.result.FeatureStatistics;
import io.normstats.result.ImageSize;
import io.normstats.result.PixelStatistics;
import java.io.Serializable;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The exact per-channel statistics of a dataset of images: the mean and standard deviation that go
 * into torchvision's {@code transforms.Normalize(mean, std)}, over every pixel of every image (of
 * any sizes), correctly rounded and the same bits for any partitioning.
 *
 * <p>Images come from files, read with Spark's {@code binaryFile} source ({@link #readFiles}), or
 * from a column of any DataFrame: {@code binary}, or a struct with a {@code bytes} field and
 * optionally a {@code path} field (the Hugging Face datasets layout, {@code struct<bytes: binary,
 * path: string>}). The executors decode them ({@link ImageDecoder}: ImageIO with TwelveMonkeys'
 * plugins) and add each image's levels, a row of pixels at a time, to exact sums per channel.
 *
 * <p>With {@link Options#transform()}, each image is first resized and center-cropped as
 * torchvision's evaluation transforms do ({@link ImageTransform}); the sizes reported are then
 * those after the transform.
 *
 * <p>Pixel values: with {@link PixelValues#UNIT} (the default) they are torchvision {@code
 * ToTensor}'s, level / 255 for 8-bit images and level / 65535 for 16-bit ones, exactly (8-bit
 * levels are summed as level x 257 on the 16-bit scale, and every statistic is divided by 65535
 * before its one rounding: {@link ExactMoments#dividedBy}); with {@link PixelValues#RAW} they are
 * the levels (0..255 or 0..65535), and images of both depths are refused.
 */
public final class ImageStatistics {
  private ImageStatistics() {}

  /** Pixel values as ToTensor gives them (in [0, 1]) or as stored (levels). */
  public enum PixelValues { UNIT, RAW }

  /**
   * How images are read.
   *
   * @param color which channels ({@link ImageDecoder.ColorMode})
   * @param values the pixel values' scale
   * @param skipInvalid leave undecodable and null images out (counted and listed) instead of
   *     failing
   * @param transform torchvision's Resize and CenterCrop, applied to each image first
   *     ({@link ImageTransform#NONE}: none)
   */
  @DefaultSerializer(JavaSerializer.class) // Spark's Kryo cannot serialize records
  public record Options(ImageDecoder.ColorMode color, PixelValues values, boolean skipInvalid,
      ImageTransform transform) implements Serializable {
    /** Options without a transform. */
    public Options(ImageDecoder.ColorMode color, PixelValues values, boolean skipInvalid) {
      this(color, values, skipInvalid, ImageTransform.NONE);
    }
  }

  /** Skipped images listed in a {@link PixelStatistics}; the rest are counted. */
  public static final int LISTED = 100;

  /**
   * The image files at {@code path} (a file, a directory, read recursively, or a glob; several
   * separated by commas) with Spark's {@code binaryFile} source: columns {@code path} and
   * {@code content}, only the files whose extension is an image's ({@link ImageDecoder#EXTENSIONS},
   * any case).
   *
   * @throws InputException (usage) if there are no image files there
   */
  public static Dataset<Row> readFiles(SparkSession spark, String path) {
    return readFiles(spark, path, java.util.Map.of());
  }

  /**
   * As {@link #readFiles(SparkSession, String)}, with options of Spark's file sources, set after
   * {@code recursiveFileLookup=true} (which they can override).
   */
  public static Dataset<Row> readFiles(SparkSession spark, String path,
      java.util.Map<String, String> options) {
    Dataset<Row> files = spark.read().format("binaryFile").option("recursiveFileLookup", "true")
        .options(options).load(path.split(","));
    Column extension = functions.lower(functions.regexp_extract(functions.col("path"),
        "\\.([^./]+)$", 1));
    Dataset<Row> images = files.where(extension.isin(ImageDecoder.EXTENSIONS.stream()
        .sorted().toArray())).select("path", "content");
    if (images.isEmpty()) {
      throw InputException.usage("input " + path + " has no image files ("
          + String.join(", ", ImageDecoder.EXTENSIONS.stream().sorted().toList()) + ")");
    }
    return images;
  }

  /**
   * The statistics of the images of {@code imageCol}.
   *
   * @param df the rows, one image each
   * @param imageCol a {@code binary} column, or a struct with a {@code bytes} (binary) field and
   *     optionally a {@code path} (string) field
   * @param pathCol a string column naming each image in messages, or null (then the struct's
   *     {@code path}, else the row's position is not known: "an image of column C")
   * @param what the input, to name in messages
   * @throws InputException (usage) if the column is missing or of another type; (data) for an
   *     image that cannot be decoded or a null image (unless skipped), images of different channel
   *     counts with {@code KEEP}, or of both depths with {@code RAW}, and for no images at all
   */
  public static PixelStatistics compute(Dataset<Row> df, String imageCol, String pathCol,
      String what, Options options) {
    Column[] columns = imageColumn(df.schema(), imageCol);
    Column name = pathCol != null ? FeatureSelection.quoted(pathCol) : columns[1];
    Column bytes = columns[0];
    JavaRDD<Row> rows = df.select(name, bytes).toJavaRDD();
    String column = imageCol;
    Partial total = rows.mapPartitions(it -> {
      Partial p = new Partial();
      while (it.hasNext()) {
        Row r = it.next();
        String image = r.isNullAt(0) ? "an image of column '" + column + "' of " + what
            : "image " + readable(r.getString(0));
        if (r.isNullAt(1)) {
          p.invalid(image, InputException.data(image + " is null"), options);
          continue;
        }
        p.add((byte[]) r.get(1), image, options);
      }
      TaskHook.afterWork("image statistics");
      return Collections.singletonList(p).iterator();
    }).treeReduce(Partial::merge, rows.getNumPartitions() > 64 ? 3 : 2);
    if (total.images == 0) {
      throw InputException.data("input " + what + " has no images"
          + (total.skipped > 0 ? " that could be read (" + total.skipped + " skipped)" : ""));
    }
    return total.result(options);
  }

  /**
   * The bytes of image column {@code imageCol} of {@code schema}, and its images' names (the
   * struct's {@code path}, else a null string).
   *
   * @return {bytes, name}
   * @throws InputException (usage) if the column is missing, or neither binary nor a struct with a
   *     binary {@code bytes} field
   */
  public static Column[] imageColumn(StructType schema, String imageCol) {
    StructField field = FeatureSelection.field(schema, imageCol);
    Column column = FeatureSelection.quoted(imageCol);
    Column none = functions.lit(null).cast("string");
    if (field.dataType() instanceof BinaryType) {
      return new Column[] {column, none};
    }
    if (field.dataType() instanceof StructType struct
        && hasField(struct, "bytes", DataTypes.BinaryType)) {
      return new Column[] {column.getField("bytes"),
          hasField(struct, "path", DataTypes.StringType) ? column.getField("path") : none};
    }
    throw InputException.usage("column '" + imageCol + "' is " + field.dataType().simpleString()
        + ", not binary image bytes or a struct with a 'bytes' field (as Hugging Face's Image)");
  }

  private static boolean hasField(StructType struct, String name, DataType type) {
    for (StructField f : struct.fields()) {
      if (f.name().equals(name) && f.dataType().equals(type)) {
        return true;
      }
    }
    return false;
  }

  /** A path as a person reads it: a local file URI without its scheme. */
  public static String readable(String path) {
    if (path.startsWith("file:")) {
      try {
        return new URI(path).getPath();
      } catch (java.net.URISyntaxException e) {
        return path;
      }
    }
    return path;
  }

  /** One task's images, and the exact merge of two tasks'. */
  static final class Partial implements Serializable {
    private static final long serialVersionUID = 1L;
    String channels; // the channel letters, from the first image
    String firstImage;
    MomentAccumulator acc;
    long images;
    long skipped;
    List<String> skippedImages = new ArrayList<>();
    ImageSize smallest;
    ImageSize largest;
    boolean eightBit;
    boolean sixteenBit;
    long[][] histograms;
    String eightBitImage;
    String sixteenBitImage;
    private transient double[] row;

    void add(byte[] bytes, String image, Options options) {
      ImageDecoder.Image decoded;
      ImageTransform.Levels levels = null;
      try {
        decoded = ImageDecoder.decode(bytes, image, options.color());
        if (!options.transform().isIdentity()) {
          levels = options.transform().apply(ImageTransform.Levels.of(decoded), image);
        }
      } catch (InputException e) {
        invalid(image, e, options);
        return;
      }
      if (levels != null) {
        add(levels, image, options);
        return;
      }
      start(decoded.channelNames(), image);
      int factor = 1;
      if (decoded.bitDepth() == 8) {
        eightBit = true;
        eightBitImage = eightBitImage == null ? image : eightBitImage;
        factor = options.values() == PixelValues.UNIT ? 257 : 1;
      } else {
        sixteenBit = true;
        sixteenBitImage = sixteenBitImage == null ? image : sixteenBitImage;
      }
      int w = decoded.width();
      int c = decoded.channels();
      if (row == null || row.length < w * c) {
        row = new double[w * c];
      }
      int shift = decoded.bitDepth() == 16 ? 8 : 0;
      for (int y = 0; y < decoded.height(); y++) {
        decoded.readRow(y, row, 0, factor);
        for (int i = 0; i < w * c; i++) {
          histograms[i % c][((int) row[i] / factor) >> shift]++;
        }
        acc.addDenseRows(row, 0, w);
      }
      counted(new ImageSize(decoded.height(), decoded.width()));
    }

    /** Adds a transformed image's levels (8-bit). */
    private void add(ImageTransform.Levels levels, String image, Options options) {
      start(levels.channelNames(), image);
      eightBit = true;
      eightBitImage = eightBitImage == null ? image : eightBitImage;
      int factor = options.values() == PixelValues.UNIT ? 257 : 1;
      int w = levels.width();
      int c = levels.channels();
      if (row == null || row.length < w * c) {
        row = new double[w * c];
      }
      for (int y = 0; y < levels.height(); y++) {
        for (int i = 0; i < w * c; i++) {
          int level = levels.data()[y * w * c + i];
          histograms[i % c][level]++;
          row[i] = (double) level * factor;
        }
        acc.addDenseRows(row, 0, w);
      }
      counted(new ImageSize(levels.height(), w));
    }

    private void start(String names, String image) {
      if (channels == null) {
        channels = names;
        firstImage = image;
        acc = new MomentAccumulator(channels.length());
        histograms = new long[channels.length()][256];
      } else if (!channels.equals(names)) {
        throw channelsDiffer(firstImage, channels, image, names);
      }
    }

    private void counted(ImageSize size) {
      smallest = smallest == null || size.smallerThan(smallest) ? size : smallest;
      largest = largest == null || largest.smallerThan(size) ? size : largest;
      images++;
    }

    void invalid(String image, InputException e, Options options) {
      if (!options.skipInvalid()) {
        throw e;
      }
      skipped++;
      skippedImages.add(e.getMessage());
      if (skippedImages.size() > 2 * LISTED) {
        trim();
      }
    }

    private void trim() {
      Collections.sort(skippedImages);
      skippedImages = new ArrayList<>(skippedImages.subList(0,
          Math.min(LISTED, skippedImages.size())));
    }

    Partial merge(Partial o) {
      if (o.channels != null) {
        if (channels == null) {
          channels = o.channels;
          firstImage = o.firstImage;
          acc = o.acc;
          histograms = o.histograms;
        } else if (!channels.equals(o.channels)) {
          throw channelsDiffer(firstImage, channels, o.firstImage, o.channels);
        } else {
          acc.merge(o.acc);
          for (int j = 0; j < histograms.length; j++) {
            for (int b = 0; b < 256; b++) {
              histograms[j][b] += o.histograms[j][b];
            }
          }
        }
      }
      images += o.images;
      skipped += o.skipped;
      skippedImages.addAll(o.skippedImages);
      trim();
      if (o.smallest != null) {
        smallest = smallest == null || o.smallest.smallerThan(smallest) ? o.smallest : smallest;
        largest = largest == null || largest.smallerThan(o.largest) ? o.largest : largest;
      }
      eightBit |= o.eightBit;
      sixteenBit |= o.sixteenBit;
      eightBitImage = eightBitImage == null ? o.eightBitImage : eightBitImage;
      sixteenBitImage = sixteenBitImage == null ? o.sixteenBitImage : sixteenBitImage;
      return this;
    }

    PixelStatistics result(Options options) {
      if (options.values() == PixelValues.RAW && eightBit && sixteenBit) {
        throw InputException.data("raw pixel values need images of one depth: " + eightBitImage
            + " is 8-bit, " + sixteenBitImage + " 16-bit (pixel values 'unit' scale each to "
            + "[0, 1])");
      }
      long divisor = options.values() == PixelValues.UNIT ? 65535 : 1;
      List<FeatureStatistics> features = new ArrayList<>();
      for (int j = 0; j < channels.length(); j++) {
        FeatureMoments levels = acc.moments(j);
        ExactMoments e = acc.exact(j).dividedBy(divisor);
        features.add(new FeatureStatistics(String.valueOf(channels.charAt(j)), j,
            new FeatureMoments(e.count(), e.mean(), e.varPop(), e.varSamp(), e.stdPop(),
                e.stdSamp(), levels.min() / divisor, levels.max() / divisor, 0, 0)));
      }
      trim();
      List<Integer> depths = new ArrayList<>();
      if (eightBit) {
        depths.add(8);
      }
      if (sixteenBit) {
        depths.add(16);
      }
      return new PixelStatistics(new DatasetStatistics(images, features), images, skipped,
          List.copyOf(skippedImages), smallest, largest, List.copyOf(depths), histograms);
    }

    private static InputException channelsDiffer(String a, String ca, String b, String cb) {
      return InputException.data("images of different channels with color 'keep': " + a + " has "
          + ca + ", " + b + " has " + cb + " (color 'rgb' or 'gray' makes them alike)");
    }
  }
}
