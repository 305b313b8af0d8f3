package io.normstats.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.normstats.testing.Jobs;
import io.normstats.testing.TestSpark;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stats job on images: {@code sample-data/images} (PNG of every mode, BMP, GIF, WebP, TIFF,
 * JPEG photographs, a Hugging Face style Parquet file) against {@code expected.json}, the exact
 * statistics of the pixel values as Pillow decodes the files, from integer sums and fractions
 * ({@code make_images.py}); raw levels on images built here against a BigInteger oracle; and the
 * errors.
 */
class ImageStatsJobTest {
  private static SparkSession spark;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static JsonNode expected;
  @TempDir static Path tmp;

  @BeforeAll
  static void start() throws IOException {
    spark = TestSpark.session("ImageStatsJobTest");
    expected = JSON.readTree(Path.of("sample-data/images/expected.json").toFile());
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static JsonNode stats(String name, String... args) throws IOException {
    Path out = tmp.resolve(name);
    String[] all = Arrays.copyOf(args, args.length + 2);
    all[args.length] = "--output";
    all[args.length + 1] = out.toString();
    Jobs.ok("stats", all);
    return JSON.readTree(out.resolve("stats.json").toFile());
  }

  /** Every field of every channel equals the oracle's, to the bit, and so does Normalize. */
  private static void assertLikePillow(JsonNode oracle, JsonNode actual) {
    assertEquals(oracle.get("images").asLong(), actual.get("images").get("count").asLong());
    assertEquals(oracle.get("images").asLong(), actual.get("rows").asLong());
    JsonNode features = actual.get("features");
    assertEquals(oracle.get("features").size(), features.size());
    for (int c = 0; c < features.size(); c++) {
      JsonNode e = oracle.get("features").get(c);
      JsonNode a = features.get(c);
      for (String field : List.of("name", "count", "mean", "var_pop", "var_samp", "std_pop", "min",
          "max")) {
        assertEquals(e.get(field).asText(), a.get(field).asText(),
            e.get("name").asText() + " " + field);
      }
      assertEquals(e.get("mean").asDouble(), actual.get("normalize").get("mean").get(c)
          .asDouble());
      assertEquals(e.get("std_pop").asDouble(), actual.get("normalize").get("std").get(c)
          .asDouble());
    }
  }

  @Test
  void everyFormatAndModeIsPillowsPixelsExactly() throws IOException {
    JsonNode rgb = stats("synthetic-rgb", "--input", "sample-data/images/synthetic", "--format",
        "image");
    assertLikePillow(expected.get("synthetic").get("rgb"), rgb);
    assertEquals(0, rgb.get("images").get("skipped").asLong());
    assertEquals("[8,16]", rgb.get("images").get("bit_depths").toString());
    assertEquals(6, rgb.get("images").get("sizes").get("min").get("height").asInt()); // 5x6
    assertEquals(32, rgb.get("images").get("sizes").get("max").get("width").asInt()); // 32x24
    assertLikePillow(expected.get("synthetic").get("gray"), stats("synthetic-gray", "--input",
        "sample-data/images/synthetic", "--format", "image", "--color", "gray"));
  }

  @Test
  void photographsPngAndJpegAndPartitionsGiveTheSameBits() throws IOException {
    assertLikePillow(expected.get("photos_png").get("rgb"), stats("png", "--input",
        "sample-data/images/photos/*.png"));
    assertLikePillow(expected.get("photos_png").get("gray"), stats("png-gray", "--input",
        "sample-data/images/photos/*.png", "--color", "gray"));
    assertLikePillow(expected.get("photos_jpeg").get("rgb"), stats("jpeg", "--input",
        "sample-data/images/photos/*.jpg"));
    stats("png-3", "--input", "sample-data/images/photos/*.png", "--partitions", "3");
    assertArrayEquals(Files.readAllBytes(tmp.resolve("png/stats.json")),
        Files.readAllBytes(tmp.resolve("png-3/stats.json")));
  }

  @Test
  void aHuggingFaceParquetColumnOfStructsGivesTheBitsOfItsFiles() throws IOException {
    JsonNode column = stats("hf", "--input", "sample-data/images/hf/images.parquet",
        "--image-col", "image");
    assertLikePillow(expected.get("hf").get("rgb"), column);
    // the same images as files (the column holds the synthetic PNGs and camera.png)
    Path dir = tmp.resolve("hf-in");
    Files.createDirectories(dir);
    try (java.util.stream.Stream<Path> pngs = Files.list(Path.of("sample-data/images/synthetic"))) {
      for (Path p : pngs.filter(p -> p.toString().endsWith(".png")).toList()) {
        Files.copy(p, dir.resolve(p.getFileName()));
      }
    }
    Files.copy(Path.of("sample-data/images/photos/camera.png"), dir.resolve("camera.png"));
    JsonNode files = stats("hf-files", "--input", dir.toString(), "--partitions", "3");
    assertEquals(column.get("features"), files.get("features"));
    assertEquals(column.get("normalize"), files.get("normalize"));
  }

  /** Writes a 16-bit gray PNG and an 8-bit RGB PNG of known levels into {@code dir}. */
  private static long[][] levels(Path dir, boolean sixteen) throws IOException {
    Files.createDirectories(dir);
    BufferedImage a = new BufferedImage(3, 2, BufferedImage.TYPE_3BYTE_BGR);
    int[] pa = {0, 1, 2, 250, 251, 252, 7, 8, 9, 255, 254, 253, 100, 101, 102, 33, 34, 35};
    a.getRaster().setPixels(0, 0, 3, 2, pa);
    ImageIO.write(a, "png", dir.resolve("a.png").toFile());
    long[][] channels = new long[3][];
    for (int c = 0; c < 3; c++) {
      long[] v = new long[6];
      for (int i = 0; i < 6; i++) {
        v[i] = pa[3 * i + c];
      }
      channels[c] = v;
    }
    if (sixteen) {
      BufferedImage b = new BufferedImage(2, 1, BufferedImage.TYPE_USHORT_GRAY);
      b.getRaster().setPixels(0, 0, 2, 1, new int[] {65535, 1000});
      ImageIO.write(b, "png", dir.resolve("b.png").toFile());
    }
    return channels;
  }

  private static double nearest(BigInteger num, BigInteger den) {
    return new BigDecimal(num).divide(new BigDecimal(den), MathContext.DECIMAL128).doubleValue();
  }

  @Test
  void rawLevelsAreTheStoredIntegersAndDepthsMustNotMix() throws IOException {
    long[][] channels = levels(tmp.resolve("raw-in"), false);
    JsonNode raw = stats("raw", "--input", tmp.resolve("raw-in").toString(), "--format", "image",
        "--pixel-values", "raw");
    for (int c = 0; c < 3; c++) {
      long s1 = Arrays.stream(channels[c]).sum();
      long s2 = Arrays.stream(channels[c]).map(v -> v * v).sum();
      long n = channels[c].length;
      JsonNode f = raw.get("features").get(c);
      // 34-digit quotients of small integers: their nearest doubles are these
      assertEquals(nearest(BigInteger.valueOf(s1), BigInteger.valueOf(n)), f.get("mean").asDouble());
      assertEquals(nearest(BigInteger.valueOf(n * s2 - s1 * s1), BigInteger.valueOf(n * n)),
          f.get("var_pop").asDouble());
      assertEquals(Arrays.stream(channels[c]).max().getAsLong(), f.get("max").asLong());
    }
    levels(tmp.resolve("mixed-in"), true);
    Jobs.Run mixed = Jobs.run("stats", "--input", tmp.resolve("mixed-in").toString(), "--format",
        "image", "--pixel-values", "raw", "--output", tmp.resolve("mixed").toString());
    assertEquals(1, mixed.exitCode(), mixed.stderr());
    assertTrue(mixed.stderr().contains("raw pixel values need images of one depth"),
        mixed.stderr());
    assertFalse(Files.exists(tmp.resolve("mixed")));
    // unit values: 8-bit levels / 255 and 16-bit / 65535, one exact scale
    JsonNode unit = stats("unit", "--input", tmp.resolve("mixed-in").toString(), "--format",
        "image");
    long s1 = Arrays.stream(channels[0]).map(v -> v * 257).sum() + 65535 + 1000;
    assertEquals(nearest(BigInteger.valueOf(s1), BigInteger.valueOf(8 * 65535L)),
        unit.get("features").get(0).get("mean").asDouble());
  }

  @Test
  void badImagesAreOneLineErrorsOrSkippedAndListed() throws IOException {
    Path dir = tmp.resolve("bad-in");
    levels(dir, false);
    byte[] png = Files.readAllBytes(dir.resolve("a.png"));
    Files.write(dir.resolve("cut.png"), Arrays.copyOf(png, png.length / 2));
    Jobs.Run failed = Jobs.run("stats", "--input", dir.toString(), "--format", "image",
        "--output", tmp.resolve("bad").toString());
    assertEquals(1, failed.exitCode(), failed.stderr());
    assertTrue(failed.stderr().contains("cut.png: truncated or corrupt PNG"), failed.stderr());
    assertFalse(Files.exists(tmp.resolve("bad")));

    JsonNode skipped = stats("skip", "--input", dir.toString(), "--format", "image", "--handle-invalid",
        "skip");
    assertEquals(1, skipped.get("images").get("count").asLong());
    assertEquals(1, skipped.get("images").get("skipped").asLong());
    assertTrue(skipped.get("images").get("skipped_images").get(0).asText().contains("cut.png"));

    Path empty = tmp.resolve("no-images");
    Files.createDirectories(empty);
    Files.writeString(empty.resolve("notes.txt"), "no images here");
    Jobs.Run none = Jobs.run("stats", "--input", empty.toString(), "--format", "image",
        "--output", tmp.resolve("none").toString());
    assertEquals(2, none.exitCode(), none.stderr());
    assertTrue(none.stderr().contains("has no image files"), none.stderr());

    Jobs.Run keep = Jobs.run("stats", "--input", "sample-data/images/synthetic", "--format",
        "image", "--color", "keep", "--output", tmp.resolve("keep").toString());
    assertEquals(1, keep.exitCode(), keep.stderr());
    assertTrue(keep.stderr().contains("images of different channels with color 'keep'"),
        keep.stderr());

    Jobs.Run features = Jobs.run("stats", "--input", "sample-data/images/synthetic", "--format",
        "image", "--num-channels", "3", "--output", tmp.resolve("features").toString());
    assertEquals(2, features.exitCode(), features.stderr());
    assertTrue(features.stderr().contains("--num-channels does not apply to images"),
        features.stderr());

    Jobs.Run column = Jobs.run("stats", "--input", "sample-data/images/hf/images.parquet",
        "--image-col", "label", "--output", tmp.resolve("column").toString());
    assertEquals(2, column.exitCode(), column.stderr());
    assertTrue(column.stderr().contains("column 'label' is bigint, not binary image bytes"),
        column.stderr());
  }
}
