package io.normstats.io;

import com.esotericsoftware.kryo.DefaultSerializer;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import io.normstats.InputException;

/**
 * torchvision's evaluation transforms on decoded images: {@code Resize(S)} (the shorter side to
 * S) and {@code CenterCrop(H, W)}, as torchvision applies them to Pillow images, bit for bit.
 *
 * <p>Resize is Pillow's bilinear resampling with antialias ({@code Image.resize(size,
 * Image.BILINEAR)}, which torchvision calls for a Pillow image): a separable convolution with the
 * triangle filter widened by the downscaling factor, coefficients rounded to 22-bit fixed point,
 * horizontal pass then vertical pass, each rounding to 8-bit levels (Pillow's {@code
 * Resample.c}). The new size is torchvision's: the shorter side becomes S and the longer
 * {@code int(S * long / short)}. CenterCrop takes the window at {@code int(round((h - H) / 2))},
 * {@code int(round((w - W) / 2))} (Python's round: half to even) and pads a smaller image with
 * zeros first, as {@code transforms.functional.center_crop}. Both work on 8-bit levels, as
 * Pillow's do; 16-bit images are refused.
 *
 * @param resize the shorter side after resizing, or 0 for no resize
 * @param cropHeight the crop's height, or 0 for no crop
 * @param cropWidth the crop's width (0 with no crop)
 */
@DefaultSerializer(JavaSerializer.class) // Spark's Kryo cannot serialize records
public record ImageTransform(int resize, int cropHeight, int cropWidth)
    implements java.io.Serializable {
  /** Pillow's {@code PRECISION_BITS} for 8-bit images: 32 - 8 - 2. */
  static final int PRECISION_BITS = 22;

  /** The identity: no resize, no crop. */
  public static final ImageTransform NONE = new ImageTransform(0, 0, 0);

  /**
   * @throws IllegalArgumentException if a size is negative, or only one crop side is given
   */
  public ImageTransform {
    if (resize < 0 || cropHeight < 0 || cropWidth < 0 || (cropHeight == 0) != (cropWidth == 0)) {
      throw new IllegalArgumentException("resize and crop sizes must be positive (crop: both): "
          + resize + ", " + cropHeight + "x" + cropWidth);
    }
  }

  /** Whether this transform changes anything. */
  public boolean isIdentity() {
    return resize == 0 && cropHeight == 0;
  }

  /**
   * An image's levels, row-major and pixel-interleaved: {@code data[(y * width + x) * channels +
   * c]}.
   */
  public record Levels(int height, int width, int channels, int bitDepth, String channelNames,
      int[] data) {
    /** All levels of a decoded image. */
    public static Levels of(ImageDecoder.Image image) {
      int w = image.width();
      int c = image.channels();
      int[] data = new int[image.height() * w * c];
      double[] row = new double[w * c];
      for (int y = 0; y < image.height(); y++) {
        image.readRow(y, row, 0, 1);
        for (int i = 0; i < row.length; i++) {
          data[y * w * c + i] = (int) row[i];
        }
      }
      return new Levels(image.height(), w, c, image.bitDepth(), image.channelNames(), data);
    }
  }

  /**
   * The transformed image.
   *
   * @param what the image, to name in messages
   * @throws InputException (data) for a 16-bit image to resize or crop
   */
  public Levels apply(Levels image, String what) {
    if (isIdentity()) {
      return image;
    }
    if (image.channelNames().contains("A")) {
      throw InputException.data(what + ": resize and center crop of images with alpha are not "
          + "supported (Pillow premultiplies alpha); use color rgb or gray");
    }
    if (image.bitDepth() != 8) {
      throw InputException.data(what + ": resize and center crop take 8-bit images, as Pillow's; "
          + "this one is " + image.bitDepth() + "-bit");
    }
    Levels out = image;
    if (resize > 0) {
      int h = image.height();
      int w = image.width();
      int shorter = Math.min(h, w);
      int longer = Math.max(h, w);
      int newLong = (int) ((double) resize * longer / shorter);
      int newW = w <= h ? resize : newLong;
      int newH = w <= h ? newLong : resize;
      out = resize(out, newW, newH);
    }
    if (cropHeight > 0) {
      out = centerCrop(out, cropHeight, cropWidth);
    }
    return out;
  }

  /** Pillow's bilinear {@code resize((width, height))} of an 8-bit image. */
  static Levels resize(Levels in, int width, int height) {
    if (width == in.width() && height == in.height()) {
      return in;
    }
    Coefficients horizontal = Coefficients.of(in.width(), width);
    Coefficients vertical = Coefficients.of(in.height(), height);
    int c = in.channels();
    Levels temp = in;
    int first = 0;
    boolean needHorizontal = width != in.width();
    boolean needVertical = height != in.height();
    if (needHorizontal) {
      // only the rows the vertical pass reads
      first = needVertical ? vertical.min[0] : 0;
      int last = needVertical ? vertical.min[height - 1] + vertical.count[height - 1]
          : in.height();
      int rows = last - first;
      int[] data = new int[rows * width * c];
      for (int y = 0; y < rows; y++) {
        int src = (y + first) * in.width() * c;
        for (int x = 0; x < width; x++) {
          int min = horizontal.min[x];
          int n = horizontal.count[x];
          int k0 = x * horizontal.size;
          for (int ch = 0; ch < c; ch++) {
            long ss = 1L << (PRECISION_BITS - 1);
            for (int k = 0; k < n; k++) {
              ss += (long) in.data()[src + (min + k) * c + ch] * horizontal.fixed[k0 + k];
            }
            data[(y * width + x) * c + ch] = clip8(ss);
          }
        }
      }
      temp = new Levels(rows, width, c, 8, in.channelNames(), data);
    }
    if (!needVertical) {
      return temp;
    }
    int[] data = new int[height * width * c];
    int rowLength = width * c;
    for (int y = 0; y < height; y++) {
      int min = vertical.min[y] - first;
      int n = vertical.count[y];
      int k0 = y * vertical.size;
      for (int i = 0; i < rowLength; i++) {
        long ss = 1L << (PRECISION_BITS - 1);
        for (int k = 0; k < n; k++) {
          ss += (long) temp.data()[(min + k) * rowLength + i] * vertical.fixed[k0 + k];
        }
        data[y * rowLength + i] = clip8(ss);
      }
    }
    return new Levels(height, width, c, 8, in.channelNames(), data);
  }

  /** Pillow's {@code clip8}: a fixed-point sum to an 8-bit level. */
  private static int clip8(long in) {
    if (in >= (1L << PRECISION_BITS << 8)) {
      return 255;
    }
    if (in <= 0) {
      return 0;
    }
    return (int) (in >> PRECISION_BITS);
  }

  /**
   * Pillow's {@code precompute_coeffs} for the bilinear filter (support 1) and
   * {@code normalize_coeffs_8bpc}: per output pixel, the first input pixel, how many, and the
   * weights in 22-bit fixed point.
   */
  record Coefficients(int size, int[] min, int[] count, int[] fixed) {
    static Coefficients of(int inSize, int outSize) {
      double scale = (double) inSize / outSize;
      double filterScale = Math.max(scale, 1.0);
      double support = 1.0 * filterScale;
      int size = (int) Math.ceil(support) * 2 + 1;
      int[] min = new int[outSize];
      int[] count = new int[outSize];
      int[] fixed = new int[outSize * size];
      double[] k = new double[size];
      for (int xx = 0; xx < outSize; xx++) {
        double center = (xx + 0.5) * scale;
        double ww = 0.0;
        double ss = 1.0 / filterScale;
        int xmin = (int) (center - support + 0.5);
        if (xmin < 0) {
          xmin = 0;
        }
        int xmax = (int) (center + support + 0.5);
        if (xmax > inSize) {
          xmax = inSize;
        }
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
          double w = bilinear((x + xmin - center + 0.5) * ss);
          k[x] = w;
          ww += w;
        }
        for (int x = 0; x < xmax; x++) {
          if (ww != 0.0) {
            k[x] /= ww;
          }
          fixed[xx * size + x] = k[x] < 0 ? (int) (-0.5 + k[x] * (1 << PRECISION_BITS))
              : (int) (0.5 + k[x] * (1 << PRECISION_BITS));
        }
        min[xx] = xmin;
        count[xx] = xmax;
      }
      return new Coefficients(size, min, count, fixed);
    }

    private static double bilinear(double x) {
      if (x < 0.0) {
        x = -x;
      }
      return x < 1.0 ? 1.0 - x : 0.0;
    }
  }

  /** torchvision's {@code center_crop}: zero padding to the crop size first, then the window. */
  static Levels centerCrop(Levels in, int height, int width) {
    int c = in.channels();
    int padLeft = width > in.width() ? (width - in.width()) / 2 : 0;
    int padTop = height > in.height() ? (height - in.height()) / 2 : 0;
    int padRight = width > in.width() ? (width - in.width() + 1) / 2 : 0;
    int padBottom = height > in.height() ? (height - in.height() + 1) / 2 : 0;
    int paddedW = in.width() + padLeft + padRight;
    int paddedH = in.height() + padTop + padBottom;
    int top = (int) Math.rint((paddedH - height) / 2.0);
    int left = (int) Math.rint((paddedW - width) / 2.0);
    int[] data = new int[height * width * c];
    for (int y = 0; y < height; y++) {
      int sy = y + top - padTop;
      if (sy < 0 || sy >= in.height()) {
        continue;
      }
      for (int x = 0; x < width; x++) {
        int sx = x + left - padLeft;
        if (sx < 0 || sx >= in.width()) {
          continue;
        }
        System.arraycopy(in.data(), (sy * in.width() + sx) * c, data, (y * width + x) * c, c);
      }
    }
    return new Levels(height, width, c, in.bitDepth(), in.channelNames(), data);
  }
}
