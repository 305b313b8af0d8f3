package io.normstats.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.normstats.testing.Jobs;
import io.normstats.testing.TestSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * recalibrate on image inputs: files and a Hugging Face column laid out as the model's input give
 * the same exact statistics (the same images, in another order), and the errors say how to lay
 * images out.
 * (python/tests/test_images.py checks the layout against torchvision's tensors built with Pillow.)
 */
class ImageRecalibrateJobTest {
  static final String MODEL = "sample-data/zoo/resnet/legacy.onnx"; // input [N, 1, 28, 28]
  private static SparkSession spark;
  @TempDir static Path tmp;

  @BeforeAll
  static void start() {
    spark = TestSpark.session("ImageRecalibrateJobTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  @Test
  void filesAndAHuggingFaceColumnOfTheSameImagesGiveTheSameStatistics() throws Exception {
    // hf/images.parquet holds the synthetic PNGs and camera.png; the 8-bit ones as files:
    Path dir = tmp.resolve("pngs");
    Files.createDirectories(dir);
    for (String name : new String[] {"bw_9x7.png", "gray_17x9.png", "gray_alpha_5x6.png",
        "palette_20x15.png", "rgb_32x24.png", "rgba_10x10.png"}) {
      Files.copy(Path.of("sample-data/images/synthetic", name), dir.resolve(name));
    }
    Files.copy(Path.of("sample-data/images/photos/camera.png"), dir.resolve("camera.png"));
    String[] layout = {"--model", MODEL, "--color", "gray", "--resize", "28", "--center-crop",
        "28", "--normalize", "0.5:0.25", "--approximations", "none"};
    Jobs.ok("recalibrate", concat(new String[] {"--input", dir.toString(), "--output",
        tmp.resolve("files").toString()}, layout));
    // the column holds gray16_12x8.png too, which resize refuses: leave it out with a filter
    spark.read().parquet("sample-data/images/hf/images.parquet")
        .where("image.path != 'gray16_12x8.png'").write()
        .parquet(tmp.resolve("hf.parquet").toString());
    Jobs.ok("recalibrate", concat(new String[] {"--input", tmp.resolve("hf.parquet").toString(),
        "--image-col", "image", "--output", tmp.resolve("column").toString()}, layout));
    ObjectMapper json = new ObjectMapper();
    JsonNode a = json.readTree(tmp.resolve("files/recalibrate.json").toFile());
    JsonNode b = json.readTree(tmp.resolve("column/recalibrate.json").toFile());
    assertEquals(7, a.get("rows").asLong());
    assertEquals(7, b.get("rows").asLong());
    for (int i = 0; i < a.get("layers").size(); i++) {
      assertEquals(a.get("layers").get(i).get("mean"), b.get("layers").get(i).get("mean"));
      assertEquals(a.get("layers").get(i).get("var_pop"), b.get("layers").get(i).get("var_pop"));
    }
  }

  private static String[] concat(String[] a, String[] b) {
    String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, all, a.length, b.length);
    return all;
  }

  @Test
  void errorsSayHowToLayImagesOut() {
    Jobs.Run size = Jobs.run("recalibrate", "--model", MODEL, "--input",
        "sample-data/images/photos/camera.png", "--output", tmp.resolve("size").toString());
    assertEquals(2, size.exitCode(), size.stderr());
    assertTrue(size.stderr().contains("for images, --color (rgb: 3 channels, gray: 1), --resize "
        + "and --center-crop choose C, H and W"), size.stderr());
    assertFalse(Files.exists(tmp.resolve("size")));
    Jobs.Run normalize = Jobs.run("recalibrate", "--model", MODEL, "--input",
        "sample-data/images/photos", "--color", "gray", "--normalize", "0.5,0.4:0.25",
        "--output", tmp.resolve("normalize").toString());
    assertEquals(2, normalize.exitCode(), normalize.stderr());
    assertTrue(normalize.stderr().contains("normalize needs as many means as stds"),
        normalize.stderr());
    Jobs.Run features = Jobs.run("recalibrate", "--model", MODEL, "--input",
        "sample-data/images/photos", "--vector-col", "x", "--output",
        tmp.resolve("features").toString());
    assertEquals(2, features.exitCode(), features.stderr());
    assertTrue(features.stderr().contains("do not apply to images"), features.stderr());
  }
}
