package io.normstats.jobs;

import io.normstats.io.ImageDecoder;
import io.normstats.io.ImageTransform;
import io.normstats.spark.ImageStatistics;
import java.util.Locale;
import picocli.CommandLine.Option;

/**
 * How images are read (a picocli mixin): {@code --image-col}, {@code --color},
 * {@code --pixel-values}, {@code --resize} and {@code --center-crop}. Image files themselves come with {@code --format image} (or a name with
 * an image extension under {@code --format auto}).
 */
public final class ImageOptions {
  @Option(names = "--image-col", paramLabel = "COL",
      description = "Read images from this column of the input: binary image bytes, or a struct "
          + "with a 'bytes' field (and a 'path' to name it), as Hugging Face datasets store an "
          + "Image in Parquet.")
  String imageCol;

  @Option(names = "--color", defaultValue = "rgb", paramLabel = "MODE",
      converter = ColorConverter.class,
      description = "rgb|gray|keep: the channels, as Pillow's convert(\"RGB\") (gray replicated, "
          + "palette looked up, alpha dropped) or convert(\"L\"), or as stored (alpha included; "
          + "all images must have the same) (default: ${DEFAULT-VALUE}).")
  ImageDecoder.ColorMode color;

  @Option(names = "--pixel-values", defaultValue = "unit", paramLabel = "SCALE",
      converter = PixelValuesConverter.class,
      description = "unit|raw: values in [0, 1] as torchvision's ToTensor gives them (level/255, "
          + "16-bit level/65535), or the stored levels (default: ${DEFAULT-VALUE}).")
  ImageStatistics.PixelValues pixelValues;

  @Option(names = "--resize", paramLabel = "S",
      description = "Resize each image first, its shorter side to S, as torchvision's Resize(S) "
          + "on a Pillow image (bilinear with antialias; 8-bit images).")
  Integer resize;

  @Option(names = "--center-crop", split = ",", paramLabel = "H[,W]",
      description = "Then take the centre H x W (H x H with one number), as torchvision's "
          + "CenterCrop, padding smaller images with zeros.")
  int[] centerCrop;

  @Option(names = "--normalize", paramLabel = "MEAN,...:STD,...",
      description = "For a model's input (recalibrate): then (x - MEAN) / STD per channel, as "
          + "torchvision's Normalize, e.g. 0.485,0.456,0.406:0.229,0.224,0.225.")
  String normalize;

  /** Whether the input is images: {@code --image-col}, or image files by format or name. */
  boolean images(InputOptions in, org.apache.spark.sql.SparkSession session) {
    return imageCol != null || in.format == io.normstats.spark.input.InputFormat.IMAGE
        || (in.format == io.normstats.spark.input.InputFormat.AUTO && !in.input.contains(",")
            && io.normstats.spark.input.Inputs.resolveFormat(session, in.input)
                == io.normstats.spark.input.InputFormat.IMAGE);
  }

  /**
   * How images become a model's input rows: channels, Resize and CenterCrop, Normalize.
   *
   * @throws io.normstats.InputException (usage) for a bad --resize, --center-crop or --normalize
   */
  io.normstats.spark.input.ImageInputs.Layout layout() {
    float[] mean = null;
    float[] std = null;
    if (normalize != null) {
      String[] parts = normalize.split(":", -1);
      try {
        if (parts.length != 2) {
          throw new NumberFormatException();
        }
        mean = floats(parts[0]);
        std = floats(parts[1]);
      } catch (NumberFormatException e) {
        throw io.normstats.InputException.usage("--normalize takes MEAN,...:STD,... (one of each "
            + "per channel), not " + normalize);
      }
    }
    try {
      return new io.normstats.spark.input.ImageInputs.Layout(color, transform(), mean, std);
    } catch (IllegalArgumentException e) {
      throw io.normstats.InputException.usage("--normalize " + normalize + ": " + e.getMessage());
    }
  }

  private static float[] floats(String list) {
    String[] items = list.split(",");
    float[] out = new float[items.length];
    for (int i = 0; i < items.length; i++) {
      out[i] = Float.parseFloat(items[i].strip());
    }
    return out;
  }

  /**
   * The Resize and CenterCrop the options ask for.
   *
   * @throws io.normstats.InputException (usage) for a size below 1 or more than two crop sizes
   */
  ImageTransform transform() {
    if (resize != null && resize < 1) {
      throw io.normstats.InputException.usage("--resize must be at least 1: " + resize);
    }
    if (centerCrop != null && (centerCrop.length > 2
        || java.util.Arrays.stream(centerCrop).anyMatch(s -> s < 1))) {
      throw io.normstats.InputException.usage("--center-crop takes H or H,W, each at least 1: "
          + java.util.Arrays.toString(centerCrop));
    }
    int h = centerCrop == null ? 0 : centerCrop[0];
    int w = centerCrop == null ? 0 : centerCrop[centerCrop.length - 1];
    return new ImageTransform(resize == null ? 0 : resize, h, w);
  }

  static final class ColorConverter
      implements picocli.CommandLine.ITypeConverter<ImageDecoder.ColorMode> {
    @Override
    public ImageDecoder.ColorMode convert(String value) {
      return ImageDecoder.ColorMode.valueOf(value.toUpperCase(Locale.ROOT));
    }
  }

  static final class PixelValuesConverter
      implements picocli.CommandLine.ITypeConverter<ImageStatistics.PixelValues> {
    @Override
    public ImageStatistics.PixelValues convert(String value) {
      return ImageStatistics.PixelValues.valueOf(value.toUpperCase(Locale.ROOT));
    }
  }
}
