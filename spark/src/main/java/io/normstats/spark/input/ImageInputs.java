package io.normstats.spark.input;

import com.esotericsoftware.kryo.DefaultSerializer;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import io.normstats.InputException;
import io.normstats.io.ImageDecoder;
import io.normstats.io.ImageTransform;
import io.normstats.spark.ImageStatistics;
import io.normstats.spark.InputOrder;
import io.normstats.spark.OrderedInput;
import java.io.Serializable;
import java.util.Arrays;
import java.util.Map;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Images as a network's input: each image decoded, resized and center-cropped as torchvision's
 * evaluation transforms, turned into values as {@code ToTensor} (level / 255 in float32) and
 * normalized as {@code Normalize(mean, std)} ((x - mean) / std in float32, per channel), laid out
 * channel-major: a row of C*H*W floats, the {@code [C, H, W]} item of a model's {@code [N, C, H,
 * W]} input. The rows keep their origin, so the input order is the files' (by name) and, for an
 * image column, its rows' ({@link OrderedInput}).
 */
public final class ImageInputs {
  private ImageInputs() {}

  /** The column of the images' values ({@code array<float>}, C*H*W each). */
  public static final String COLUMN = "image";

  /**
   * How images become rows.
   *
   * @param color the channels ({@link ImageDecoder.ColorMode}): rgb gives C = 3, gray 1
   * @param transform torchvision's Resize and CenterCrop ({@link ImageTransform})
   * @param mean per channel, Normalize's mean, or null for none
   * @param std per channel, Normalize's std (with {@code mean})
   */
  @DefaultSerializer(JavaSerializer.class) // Spark's Kryo cannot serialize records
  public record Layout(ImageDecoder.ColorMode color, ImageTransform transform, float[] mean,
      float[] std) implements Serializable {
    /**
     * @throws IllegalArgumentException if only one of mean and std is given, their lengths
     *     differ, or a std is not positive
     */
    public Layout {
      if ((mean == null) != (std == null) || (mean != null && mean.length != std.length)) {
        throw new IllegalArgumentException("normalize needs as many means as stds");
      }
      if (std != null) {
        for (float s : std) {
          if (!(s > 0)) {
            throw new IllegalArgumentException("normalize's std must be positive: "
                + Arrays.toString(std));
          }
        }
      }
    }
  }

  /**
   * The images at {@code path} as rows of {@link #COLUMN}, in the files' order.
   *
   * @param path image files ({@code --format image}: a file, a directory read recursively, a glob,
   *     several separated by commas) or, with {@code imageCol}, an input of {@code format}
   * @param imageCol null for image files; else the input's binary image column, or a struct with
   *     a {@code bytes} field (and a {@code path} naming the image)
   * @throws InputException (usage) as {@link Inputs#readImages} or {@link Inputs#readOrdered}, or
   *     for an image column of another type; (data, when the rows are read) for an image that
   *     cannot be decoded or transformed, or a normalization of another channel count
   */
  public static OrderedInput ordered(SparkSession spark, String path, InputFormat format,
      Map<String, String> readOptions, String imageCol, Layout layout) {
    Dataset<Row> source;
    if (imageCol == null) {
      Dataset<Row> files = Inputs.readImages(spark, path, readOptions);
      source = files.select(functions.col("path"), functions.col("content"),
          functions.col("_metadata.file_path").as(InputOrder.FILE_COLUMN),
          functions.col("_metadata.file_block_start").as(InputOrder.START_COLUMN));
    } else {
      OrderedInput input = Inputs.readOrdered(spark, path, format, readOptions);
      Column[] image = ImageStatistics.imageColumn(input.data().schema(), imageCol);
      Column name = image[1];
      Column bytes = image[0];
      source = input.withOrigin().select(name, bytes, functions.col(InputOrder.FILE_COLUMN),
          functions.col(InputOrder.START_COLUMN));
    }
    StructType schema = new StructType()
        .add(COLUMN, DataTypes.createArrayType(DataTypes.FloatType, false), false)
        .add(InputOrder.FILE_COLUMN, DataTypes.StringType)
        .add(InputOrder.START_COLUMN, DataTypes.LongType);
    String what = path;
    String column = imageCol;
    MapFunction<Row, Row> toValues = r -> {
      String image = r.isNullAt(0)
          ? (column == null ? "an image" : "an image of column '" + column + "'") + " of " + what
          : "image " + ImageStatistics.readable(r.getString(0));
      if (r.isNullAt(1)) {
        throw InputException.data(image + " is null");
      }
      return RowFactory.create(values((byte[]) r.get(1), image, layout), r.get(2), r.get(3));
    };
    Dataset<Row> withOrigin = source.map(toValues, Encoders.row(schema));
    return new OrderedInput(withOrigin.select(COLUMN), withOrigin);
  }

  /**
   * One image's values, channel-major: level / 255 (16-bit: / 65535) in float32, then
   * (x - mean[c]) / std[c] in float32, as torchvision's ToTensor and Normalize compute them.
   *
   * @throws InputException (data) naming {@code what} as {@link ImageDecoder#decode} and
   *     {@link ImageTransform#apply}, or for a normalization of another channel count
   */
  public static float[] values(byte[] bytes, String what, Layout layout) {
    ImageDecoder.Image decoded = ImageDecoder.decode(bytes, what, layout.color());
    ImageTransform.Levels levels = layout.transform().apply(ImageTransform.Levels.of(decoded),
        what);
    int c = levels.channels();
    int hw = levels.height() * levels.width();
    if (layout.mean() != null && layout.mean().length != c) {
      throw InputException.data(what + " has " + c + " channels (" + levels.channelNames()
          + "), normalize gives " + layout.mean().length);
    }
    float max = levels.bitDepth() == 8 ? 255f : 65535f;
    float[] out = new float[c * hw];
    int[] data = levels.data();
    for (int p = 0; p < hw; p++) {
      for (int ch = 0; ch < c; ch++) {
        float v = data[p * c + ch] / max;
        if (layout.mean() != null) {
          v = (v - layout.mean()[ch]) / layout.std()[ch];
        }
        out[ch * hw + p] = v;
      }
    }
    return out;
  }
}
