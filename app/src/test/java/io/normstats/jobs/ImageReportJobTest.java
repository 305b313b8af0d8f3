package io.normstats.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.normstats.io.ImageDecoder;
import io.normstats.io.ImageTransform;
import io.normstats.spark.input.ImageInputs;
import io.normstats.testing.ExactOracle;
import io.normstats.testing.Jobs;
import io.normstats.testing.TestSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * report on images: the images laid out as [C, H, W] after --resize and --center-crop, one feature
 * per channel and pixel, drawn as mean and standard deviation images; each feature's statistics
 * are the exact ones of the values at that place (BigDecimal oracle over {@link ImageInputs#values},
 * whose layout python/tests/test_images.py checks against torchvision's); images of one size need
 * no crop, images of several sizes do.
 */
class ImageReportJobTest {
  private static SparkSession spark;
  @TempDir static Path tmp;

  @BeforeAll
  static void start() {
    spark = TestSpark.session("ImageReportJobTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  @Test
  void pixelsAreFeaturesDrawnAsImages() throws Exception {
    Path out = tmp.resolve("report");
    Jobs.ok("report", "--input", "sample-data/images/photos", "--resize", "20", "--center-crop",
        "16,12", "--batch-sizes", "2,4", "--output", out.toString());
    JsonNode report = new ObjectMapper().readTree(out.resolve("report.json").toFile());
    assertEquals("[3,16,12]", report.get("header").get("image_shape").toString());
    JsonNode features = report.get("compare").get("exact").get("features");
    assertEquals(3 * 16 * 12, features.size());
    List<Path> files;
    try (Stream<Path> s = Files.list(Path.of("sample-data/images/photos"))) {
      files = s.sorted().toList();
    }
    ImageInputs.Layout layout = new ImageInputs.Layout(ImageDecoder.ColorMode.RGB,
        new ImageTransform(20, 16, 12), null, null);
    float[][] rows = new float[files.size()][];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = ImageInputs.values(Files.readAllBytes(files.get(i)), files.get(i).toString(),
          layout);
    }
    for (int j : new int[] {0, 100, 191, 192, 400, 575}) {
      double[] column = new double[rows.length];
      for (int i = 0; i < rows.length; i++) {
        column[i] = rows[i][j];
      }
      JsonNode f = features.get(j);
      ExactOracle.assertNearest(ExactOracle.Exact.of(column).sum(),
          java.math.BigDecimal.valueOf(rows.length), f.get("mean").asDouble(), "feature " + j);
    }
    String html = Files.readString(out.resolve("report.html"));
    assertTrue(html.contains("mean (channel 2)"));
    assertTrue(html.contains("pixel levels of channel B"));
    // the pixel statistics are the stats job's over the same resize and crop, which
    // ImageStatsJobTest and test_images.py check against Pillow
    Path stats = tmp.resolve("stats");
    Jobs.ok("stats", "--input", "sample-data/images/photos", "--resize", "20", "--center-crop",
        "16,12", "--output", stats.toString());
    JsonNode expected = new ObjectMapper().readTree(stats.resolve("stats.json").toFile());
    JsonNode images = report.get("images");
    assertEquals(expected.get("normalize"), images.get("normalize"));
    assertEquals("[\"R\",\"G\",\"B\"]", images.get("channels").toString());
    for (JsonNode counts : images.get("level_histograms")) {
      long total = 0;
      for (JsonNode c : counts) {
        total += c.asLong();
      }
      assertEquals(files.size() * 16 * 12, total);
    }
    assertTrue(html.contains(ReportHtmlText.normalize(expected.get("normalize"))), html);
  }

  /** The Normalize line as the report prints it, from stats.json's lists. */
  static final class ReportHtmlText {
    static String normalize(JsonNode n) {
      return "transforms.Normalize(mean=" + list(n.get("mean")) + ", std=" + list(n.get("std"))
          + ")";
    }

    private static String list(JsonNode values) {
      StringBuilder s = new StringBuilder("[");
      for (int i = 0; i < values.size(); i++) {
        s.append(i == 0 ? "" : ", ").append(values.get(i).asDouble());
      }
      return s.append(']').toString();
    }
  }

  @Test
  void imagesOfOneSizeAreDrawnAsTheyAre() throws Exception {
    Path out = tmp.resolve("one-size");
    // a 10 x 10 and a 32 x 24 image, then the 32 x 24 one twice
    Path dir = tmp.resolve("same");
    Files.createDirectories(dir);
    Files.copy(Path.of("sample-data/images/synthetic/rgba_10x10.png"), dir.resolve("a.png"));
    Files.copy(Path.of("sample-data/images/synthetic/rgb_32x24.png"), dir.resolve("b.png"));
    Jobs.Run mixed = Jobs.run("report", "--input", dir.toString(), "--batch-sizes", "2",
        "--output", out.toString());
    assertEquals(2, mixed.exitCode(), mixed.stderr());
    Files.delete(dir.resolve("a.png"));
    Files.copy(dir.resolve("b.png"), dir.resolve("c.png"));
    Jobs.ok("report", "--input", dir.toString(), "--batch-sizes", "2", "--output",
        out.toString());
    JsonNode report = new ObjectMapper().readTree(out.resolve("report.json").toFile());
    assertEquals("[3,24,32]", report.get("header").get("image_shape").toString());
  }

  @Test
  void imagesOfSeveralSizesNeedACrop() {
    Jobs.Run run = Jobs.run("report", "--input", "sample-data/images/photos", "--output",
        tmp.resolve("no-crop").toString());
    assertEquals(2, run.exitCode(), run.stderr());
    assertTrue(run.stderr().contains("a report on images needs them of one size, these go from "
        + "300x451 to 427x640: pass --center-crop"), run.stderr());
  }
}
