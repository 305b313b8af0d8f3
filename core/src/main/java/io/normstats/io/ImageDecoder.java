package io.normstats.io;

import io.normstats.InputException;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Decodes image files into pixel levels, as Pillow's {@code Image.open(f).convert(mode)} sees them:
 * the integers stored in the file (0..255 for 8-bit images, 0..65535 for 16-bit ones), channel by
 * channel, with no color management.
 *
 * <p>Decoding is Java's ImageIO (PNG, JPEG, BMP, GIF, TIFF in the JDK) with TwelveMonkeys' plugins
 * for WebP and for the CMYK and YCCK JPEGs the JDK refuses; GIFs give their first frame. What
 * {@link ColorMode} does with the stored channels:
 * <ul>
 *   <li>{@code RGB} (Pillow's {@code convert("RGB")}): 3 channels R, G, B; a gray image's level is
 *       replicated, a palette is looked up, alpha is dropped (not composited);</li>
 *   <li>{@code GRAY} ({@code convert("L")}): 1 channel L; color becomes ITU-R 601-2 luma with
 *       Pillow's integer formula L = (19595 R + 38470 G + 7471 B + 32768) >> 16;</li>
 *   <li>{@code KEEP}: the stored channels, alpha included: L, LA, RGB or RGBA (a palette image is
 *       RGB, or RGBA when its palette has transparency).</li>
 * </ul>
 * EXIF orientation is not applied, as neither Pillow's {@code Image.open} nor torchvision's default
 * loader applies it. JPEG decoders differ: Java's and libjpeg-turbo's (Pillow's) can give levels one
 * apart on some pixels.
 */
public final class ImageDecoder {
  private ImageDecoder() {}

  /** File name extensions read as images (lower case, without the dot), as torchvision's. */
  public static final Set<String> EXTENSIONS = Set.of("png", "jpg", "jpeg", "bmp", "gif", "webp",
      "tif", "tiff");

  /** How the stored channels become the channels whose statistics are computed. */
  public enum ColorMode { RGB, GRAY, KEEP }

  static {
    // Register the plugins on this class's loader: in a Spark executor, the jars of the
    // application are not on the system class path ImageIO scans by itself.
    Thread thread = Thread.currentThread();
    ClassLoader previous = thread.getContextClassLoader();
    thread.setContextClassLoader(ImageDecoder.class.getClassLoader());
    try {
      ImageIO.scanForPlugins();
    } finally {
      thread.setContextClassLoader(previous);
    }
  }

  /** Whether {@code path}'s extension is one of {@link #EXTENSIONS}. */
  public static boolean isImagePath(String path) {
    int dot = path.lastIndexOf('.');
    return dot >= 0 && dot > path.lastIndexOf('/')
        && EXTENSIONS.contains(path.substring(dot + 1).toLowerCase(Locale.ROOT));
  }

  /**
   * A decoded image: {@link #height()} rows of {@link #width()} pixels of {@link #channels()}
   * levels each, read a row at a time with {@link #readRow}.
   */
  public static final class Image {
    private final Raster raster;
    private final int[] lut; // palette images: per index, its levels of the output channels
    private final int[] bands; // component images: the raster band of each output channel
    private final boolean luma;
    private final String channelNames;
    private final int bitDepth;
    private int[] samples = new int[0];

    private Image(Raster raster, int[] lut, int[] bands, boolean luma, String channelNames,
        int bitDepth) {
      this.raster = raster;
      this.lut = lut;
      this.bands = bands;
      this.luma = luma;
      this.channelNames = channelNames;
      this.bitDepth = bitDepth;
    }

    public int height() {
      return raster.getHeight();
    }

    public int width() {
      return raster.getWidth();
    }

    /** The number of output channels: 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA). */
    public int channels() {
      return channelNames.length();
    }

    /** One letter per output channel, in order: "RGB", "L", "LA" or "RGBA". */
    public String channelNames() {
      return channelNames;
    }

    /** Bits per stored level: 8 (levels 0..255) or 16 (0..65535). */
    public int bitDepth() {
      return bitDepth;
    }

    /**
     * Writes row {@code y}'s pixels, each its {@link #channels()} levels times {@code factor}
     * (pixel-interleaved: {@code width() x channels()} values), to {@code out[from..]}.
     *
     * @throws IndexOutOfBoundsException if {@code y} is not a row or {@code out} is too short
     */
    public void readRow(int y, double[] out, int from, int factor) {
      int w = width();
      int c = channels();
      java.util.Objects.checkFromIndexSize(from, w * c, out.length);
      int stored = raster.getNumBands();
      if (samples.length < w * stored) {
        samples = new int[w * stored];
      }
      raster.getPixels(raster.getMinX(), raster.getMinY() + y, w, 1, samples);
      int o = from;
      if (lut != null) {
        for (int x = 0; x < w; x++) {
          int base = samples[x] * c;
          for (int k = 0; k < c; k++) {
            out[o++] = (double) lut[base + k] * factor;
          }
        }
      } else if (luma) {
        for (int x = 0; x < w; x++) {
          int p = x * stored;
          out[o++] = (double) luma(samples[p + bands[0]], samples[p + bands[1]],
              samples[p + bands[2]]) * factor;
        }
      } else {
        for (int x = 0; x < w; x++) {
          int p = x * stored;
          for (int k = 0; k < c; k++) {
            out[o++] = (double) samples[p + bands[k]] * factor;
          }
        }
      }
    }
  }

  /** Pillow's RGB to L: ITU-R 601-2 luma in 16-bit fixed point, rounded half up. */
  static int luma(int r, int g, int b) {
    return (int) ((19595L * r + 38470L * g + 7471L * b + 0x8000) >> 16);
  }

  /**
   * Decodes one image file.
   *
   * @param bytes the file's content
   * @param what the file (or column and row) to name in messages
   * @throws InputException (data) naming {@code what} if no reader knows the format, the file is
   *     truncated or corrupt (a decoder warning counts), its levels are not 8 or 16 bits, or its
   *     channels cannot be shown as {@code mode} asks
   */
  public static Image decode(byte[] bytes, String what, ColorMode mode) {
    BufferedImage image = read(bytes, what);
    ColorModel cm = image.getColorModel();
    Raster raster = image.getRaster();
    if (cm instanceof IndexColorModel icm) {
      return palette(icm, raster, mode);
    }
    int colors = cm.getNumColorComponents();
    boolean alpha = cm.hasAlpha();
    int depth = cm.getComponentSize(0);
    for (int k = 1; k < cm.getNumComponents(); k++) {
      if (cm.getComponentSize(k) != depth) {
        depth = -1;
      }
    }
    if (depth != 8 && depth != 16) {
      throw InputException.data(what + ": " + describe(cm)
          + " levels; only 8- and 16-bit images are read");
    }
    if (colors != 1 && colors != 3) {
      throw InputException.data(what + ": " + colors + " color channels ("
          + cm.getColorSpace().getClass().getSimpleName() + "); only gray and RGB images are read");
    }
    int alphaBand = alpha ? colors : -1;
    return switch (mode) {
      case RGB -> new Image(raster, null, colors == 1 ? new int[] {0, 0, 0}
          : new int[] {0, 1, 2}, false, "RGB", depth);
      case GRAY -> colors == 1 ? new Image(raster, null, new int[] {0}, false, "L", depth)
          : new Image(raster, null, new int[] {0, 1, 2}, true, "L", depth);
      case KEEP -> colors == 1
          ? new Image(raster, null, alpha ? new int[] {0, alphaBand} : new int[] {0}, false,
              alpha ? "LA" : "L", depth)
          : new Image(raster, null, alpha ? new int[] {0, 1, 2, alphaBand} : new int[] {0, 1, 2},
              false, alpha ? "RGBA" : "RGB", depth);
    };
  }

  private static String describe(ColorModel cm) {
    StringBuilder s = new StringBuilder();
    for (int k = 0; k < cm.getNumComponents(); k++) {
      s.append(k == 0 ? "" : "/").append(cm.getComponentSize(k));
    }
    return s.append("-bit").toString();
  }

  /** A palette image: each index looked up into the output channels' levels (8 bits). */
  private static Image palette(IndexColorModel icm, Raster raster, ColorMode mode) {
    int size = 1 << Math.max(icm.getPixelSize(), 1);
    boolean alpha = icm.hasAlpha();
    String names = switch (mode) {
      case RGB -> "RGB";
      case GRAY -> "L";
      case KEEP -> alpha ? "RGBA" : "RGB";
    };
    int c = names.length();
    int[] lut = new int[size * c];
    for (int i = 0; i < size; i++) {
      int index = Math.min(i, icm.getMapSize() - 1);
      int r = icm.getRed(index);
      int g = icm.getGreen(index);
      int b = icm.getBlue(index);
      if (mode == ColorMode.GRAY) {
        lut[i] = luma(r, g, b);
      } else {
        lut[i * c] = r;
        lut[i * c + 1] = g;
        lut[i * c + 2] = b;
        if (c == 4) {
          lut[i * c + 3] = icm.getAlpha(index);
        }
      }
    }
    return new Image(raster, lut, null, false, names, 8);
  }

  /**
   * The first image of the file, with any decoder warning turned into an error. Readers are tried
   * in ImageIO's order (TwelveMonkeys' JPEG reader before the JDK's, which refuses CMYK and YCCK
   * JPEGs) until one can read the format. A JPEG with an embedded RGB or gray ICC profile is read
   * into that profile's color space ({@link #storedType}), so its samples are the stored ones, as
   * Pillow gives them, not converted to sRGB; CMYK and YCCK JPEGs are converted to RGB with their
   * profile (Pillow converts them with a plain formula instead).
   */
  private static BufferedImage read(byte[] bytes, String what) {
    List<ImageReader> readers = new ArrayList<>();
    try (ImageInputStream in = stream(bytes)) {
      ImageIO.getImageReaders(in).forEachRemaining(readers::add);
    } catch (IOException e) {
      throw InputException.data(what + ": cannot be read (" + e.getMessage() + ")", e);
    }
    if (readers.isEmpty()) {
      throw InputException.data(what + ": not an image any reader knows (PNG, JPEG, BMP, GIF, "
          + "WebP or TIFF)");
    }
    InputException first = null;
    for (ImageReader reader : readers) {
      try {
        return read(reader, bytes, what);
      } catch (InputException e) {
        first = first == null ? e : first;
        if (!(e.getCause() instanceof javax.imageio.IIOException)) {
          break; // truncated or corrupt: no other reader will do better
        }
      }
    }
    throw first;
  }

  /**
   * For a JPEG, the image type of its embedded gray or RGB ICC profile (not sRGB), which a reader
   * fills with the decoded samples as they are; null otherwise (the reader's default).
   */
  private static javax.imageio.ImageTypeSpecifier storedType(ImageReader reader)
      throws IOException {
    if (!"jpeg".equalsIgnoreCase(reader.getFormatName())) {
      return null;
    }
    Iterator<javax.imageio.ImageTypeSpecifier> types = reader.getImageTypes(0);
    int colors = -1; // the default type's: a gray conversion of an RGB JPEG is not its profile
    while (types.hasNext()) {
      javax.imageio.ImageTypeSpecifier type = types.next();
      java.awt.color.ColorSpace cs = type.getColorModel().getColorSpace();
      colors = colors < 0 ? cs.getNumComponents() : colors;
      if (cs instanceof java.awt.color.ICC_ColorSpace && !cs.isCS_sRGB()
          && cs.getNumComponents() == colors
          && (cs.getType() == java.awt.color.ColorSpace.TYPE_RGB
              || cs.getType() == java.awt.color.ColorSpace.TYPE_GRAY)) {
        return type;
      }
    }
    return null;
  }

  private static ImageInputStream stream(byte[] bytes) {
    return new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes));
  }

  private static BufferedImage read(ImageReader reader, byte[] bytes, String what) {
    List<String> warnings = new ArrayList<>();
    reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
    try (ImageInputStream in = stream(bytes)) {
      reader.setInput(in, true, true);
      javax.imageio.ImageReadParam param = reader.getDefaultReadParam();
      param.setDestinationType(storedType(reader));
      BufferedImage image = reader.read(0, param);
      if (!warnings.isEmpty()) {
        throw InputException.data(what + ": truncated or corrupt " + format(reader) + " ("
            + warnings.get(0) + ")");
      }
      return image;
    } catch (IOException | RuntimeException e) {
      if (e instanceof InputException ie) {
        throw ie;
      }
      String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
      throw InputException.data(what + ": truncated or corrupt " + format(reader) + " ("
          + message.strip() + ")", e);
    } finally {
      reader.dispose();
    }
  }

  private static String format(ImageReader reader) {
    try {
      return reader.getFormatName().toUpperCase(Locale.ROOT);
    } catch (IOException e) {
      return "image";
    }
  }
}
