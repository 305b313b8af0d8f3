package io.normstats.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.spark.input.IdxSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java Pipeline example of the ML stages guide ({@code docs/guides/ml-stages.md}) is the code in
 * {@link PipelineExample}, and it runs.
 */
class GuideExampleTest {

  @Test
  void theReadmeExampleIsThisCodeAndItRuns(@TempDir Path dir) throws Exception {
    String source = Files.readString(
        Path.of("app/src/test/java/io/normstats/examples/PipelineExample.java"));
    String example = between(source, "    // README example begins\n", "    // README example ends\n")
        .lines().map(l -> l.startsWith("    ") ? l.substring(4) : l)
        .collect(java.util.stream.Collectors.joining("\n", "", "\n"));
    String readme = Files.readString(Path.of("docs/guides/ml-stages.md"));
    String block = between(readme, "```java\n", "```\n");
    assertEquals(example, block, "the ML stages guide's Java block differs from PipelineExample");

    SparkSession spark = SparkSession.builder().master("local[2]").appName("GuideExampleTest")
        .config("spark.ui.enabled", "false").getOrCreate();
    try {
      String images = dir.resolve("images.parquet").toString();
      IdxSource.read(spark, "sample-data/fashion-mnist/t10k-images-idx3-ubyte.gz", 2)
          .write().parquet(images);
      String modelDir = dir.resolve("model").toString();
      Dataset<Row> output = PipelineExample.run(spark, images, modelDir);
      List<Row> out = output.select("normalized").limit(50).collectAsList();
      List<Row> direct = PipelineModel.load(modelDir).transform(spark.read().parquet(images))
          .select("normalized").limit(50).collectAsList();
      assertEquals(50, out.size());
      for (int i = 0; i < 50; i++) {
        double[] y = ((Vector) out.get(i).get(0)).toArray();
        assertArrayEquals(((Vector) direct.get(i).get(0)).toArray(), y);
        double mean = java.util.Arrays.stream(y).average().orElseThrow();
        assertTrue(Math.abs(mean) < 1e-9, "LayerNorm output has mean 0: " + mean);
      }
    } finally {
      spark.stop();
    }
  }

  private static String between(String text, String start, String end) {
    int a = text.indexOf(start);
    int b = text.indexOf(end, a + start.length());
    assertTrue(a >= 0 && b > a, "markers " + start.strip() + " ... " + end.strip());
    return text.substring(a + start.length(), b);
  }
}
