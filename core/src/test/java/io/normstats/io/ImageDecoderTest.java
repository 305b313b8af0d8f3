package io.normstats.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.InputException;
import io.normstats.io.ImageDecoder.ColorMode;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * {@link ImageDecoder} on images built pixel by pixel and written losslessly (PNG, BMP): the
 * levels read back are the ones written, in the channels each color mode asks for; Pillow's luma
 * formula on hand-computed values; and the one-line errors.
 */
class ImageDecoderTest {
  static final SplittableRandom RANDOM = new SplittableRandom(12);

  static byte[] encode(BufferedImage image, String format) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    assertTrue(ImageIO.write(image, format, out), format);
    return out.toByteArray();
  }

  /** An image of the given type with random levels in every band; levels[y][x * bands + b]. */
  static int[][] fill(BufferedImage image, int max) {
    WritableRaster r = image.getRaster();
    int bands = r.getNumBands();
    int[][] levels = new int[image.getHeight()][image.getWidth() * bands];
    for (int y = 0; y < image.getHeight(); y++) {
      for (int i = 0; i < levels[y].length; i++) {
        levels[y][i] = RANDOM.nextInt(max + 1);
      }
      r.setPixels(0, y, image.getWidth(), 1, levels[y]);
    }
    return levels;
  }

  static double[] row(ImageDecoder.Image image, int y, int factor) {
    double[] out = new double[image.width() * image.channels() + 2];
    image.readRow(y, out, 2, factor);
    return Arrays.copyOfRange(out, 2, out.length);
  }

  @Test
  void rgbPngGivesItsLevelsInEveryMode() throws IOException {
    BufferedImage image = new BufferedImage(7, 5, BufferedImage.TYPE_3BYTE_BGR);
    int[][] levels = fill(image, 255);
    byte[] png = encode(image, "png");
    ImageDecoder.Image rgb = ImageDecoder.decode(png, "a.png", ColorMode.RGB);
    assertEquals("RGB", rgb.channelNames());
    assertEquals(8, rgb.bitDepth());
    assertEquals(5, rgb.height());
    assertEquals(7, rgb.width());
    ImageDecoder.Image gray = ImageDecoder.decode(png, "a.png", ColorMode.GRAY);
    assertEquals("L", gray.channelNames());
    for (int y = 0; y < 5; y++) {
      double[] expected = Arrays.stream(levels[y]).asDoubleStream().toArray();
      assertArrayEquals(expected, row(rgb, y, 1), "row " + y);
      assertArrayEquals(Arrays.stream(expected).map(v -> v * 257).toArray(), row(rgb, y, 257));
      double[] l = row(gray, y, 1);
      for (int x = 0; x < 7; x++) {
        int r = levels[y][3 * x];
        int g = levels[y][3 * x + 1];
        int b = levels[y][3 * x + 2];
        assertEquals((19595L * r + 38470L * g + 7471L * b + 32768) >> 16, (long) l[x]);
      }
    }
  }

  @Test
  void pillowsLumaOnHandComputedValues() {
    // Pillow: Image.new("RGB", (1, 1), c).convert("L").getpixel((0, 0))
    assertEquals(76, ImageDecoder.luma(255, 0, 0));
    assertEquals(150, ImageDecoder.luma(0, 255, 0));
    assertEquals(29, ImageDecoder.luma(0, 0, 255));
    assertEquals(255, ImageDecoder.luma(255, 255, 255));
    assertEquals(0, ImageDecoder.luma(0, 0, 0));
    assertEquals(128, ImageDecoder.luma(128, 128, 128));
  }

  @Test
  void grayIsReplicatedForRgbAndSixteenBitLevelsAreKept() throws IOException {
    BufferedImage image = new BufferedImage(4, 3, BufferedImage.TYPE_USHORT_GRAY);
    int[][] levels = fill(image, 65535);
    byte[] png = encode(image, "png");
    ImageDecoder.Image rgb = ImageDecoder.decode(png, "g16.png", ColorMode.RGB);
    assertEquals(16, rgb.bitDepth());
    ImageDecoder.Image keep = ImageDecoder.decode(png, "g16.png", ColorMode.KEEP);
    assertEquals("L", keep.channelNames());
    for (int y = 0; y < 3; y++) {
      double[] r = row(rgb, y, 1);
      for (int x = 0; x < 4; x++) {
        for (int c = 0; c < 3; c++) {
          assertEquals(levels[y][x], r[3 * x + c]);
        }
      }
      assertArrayEquals(Arrays.stream(levels[y]).asDoubleStream().toArray(), row(keep, y, 1));
    }
  }

  @Test
  void alphaIsDroppedButKeptWithKeep() throws IOException {
    BufferedImage image = new BufferedImage(3, 2, BufferedImage.TYPE_4BYTE_ABGR);
    int[][] levels = fill(image, 255); // raster bands R, G, B, A
    byte[] png = encode(image, "png");
    ImageDecoder.Image rgb = ImageDecoder.decode(png, "rgba.png", ColorMode.RGB);
    ImageDecoder.Image keep = ImageDecoder.decode(png, "rgba.png", ColorMode.KEEP);
    assertEquals("RGBA", keep.channelNames());
    for (int y = 0; y < 2; y++) {
      double[] r = row(rgb, y, 1);
      for (int x = 0; x < 3; x++) {
        for (int c = 0; c < 3; c++) {
          assertEquals(levels[y][4 * x + c], r[3 * x + c]);
        }
      }
      assertArrayEquals(Arrays.stream(levels[y]).asDoubleStream().toArray(), row(keep, y, 1));
    }
  }

  @Test
  void aPaletteIsLookedUp() throws IOException {
    byte[] reds = new byte[256];
    byte[] greens = new byte[256];
    byte[] blues = new byte[256];
    for (int i = 0; i < 256; i++) {
      reds[i] = (byte) RANDOM.nextInt(256);
      greens[i] = (byte) RANDOM.nextInt(256);
      blues[i] = (byte) RANDOM.nextInt(256);
    }
    IndexColorModel palette = new IndexColorModel(8, 256, reds, greens, blues);
    BufferedImage image = new BufferedImage(9, 6, BufferedImage.TYPE_BYTE_INDEXED, palette);
    int[][] indices = fill(image, 255);
    // (256 colours: the JDK's BMP and GIF writers store palettes of a few colours as 2- and
    // 4-bit pixels that do not read back; sample-data/images has small palettes Pillow wrote)
    for (String format : new String[] {"png", "bmp", "gif"}) {
      ImageDecoder.Image rgb = ImageDecoder.decode(encode(image, format), "p." + format,
          ColorMode.RGB);
      ImageDecoder.Image gray = ImageDecoder.decode(encode(image, format), "p." + format,
          ColorMode.GRAY);
      for (int y = 0; y < 6; y++) {
        double[] r = row(rgb, y, 1);
        double[] l = row(gray, y, 1);
        for (int x = 0; x < 9; x++) {
          int i = indices[y][x];
          int red = reds[i] & 0xff;
          int green = greens[i] & 0xff;
          int blue = blues[i] & 0xff;
          assertEquals(red, r[3 * x], format);
          assertEquals(green, r[3 * x + 1], format);
          assertEquals(blue, r[3 * x + 2], format);
          assertEquals(ImageDecoder.luma(red, green, blue), l[x], format);
        }
      }
    }
  }

  @Test
  void badFilesAreDataErrorsNamingThem() throws IOException {
    BufferedImage image = new BufferedImage(40, 30, BufferedImage.TYPE_3BYTE_BGR);
    fill(image, 255);
    for (String format : new String[] {"png", "jpeg"}) {
      byte[] whole = encode(image, format);
      byte[] truncated = Arrays.copyOf(whole, whole.length / 2);
      InputException e = assertThrows(InputException.class,
          () -> ImageDecoder.decode(truncated, "cut." + format, ColorMode.RGB));
      assertEquals(InputException.DATA, e.exitCode());
      assertTrue(e.getMessage().startsWith("cut." + format + ": truncated or corrupt"),
          e.getMessage());
    }
    InputException text = assertThrows(InputException.class,
        () -> ImageDecoder.decode("hello".getBytes(), "notes.png", ColorMode.RGB));
    assertTrue(text.getMessage().startsWith("notes.png: not an image"), text.getMessage());
  }

  @Test
  void imagePathsByExtensionInAnyCase() {
    assertTrue(ImageDecoder.isImagePath("a/b/c.PNG"));
    assertTrue(ImageDecoder.isImagePath("x.jpeg"));
    assertTrue(ImageDecoder.isImagePath("file:/d/x.webp"));
    assertTrue(!ImageDecoder.isImagePath("a.png/readme"));
    assertTrue(!ImageDecoder.isImagePath("notes.txt"));
    assertTrue(!ImageDecoder.isImagePath("png"));
  }
}
