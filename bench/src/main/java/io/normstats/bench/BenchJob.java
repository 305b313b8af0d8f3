package io.normstats.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.normstats.InputException;
import io.normstats.jobs.Main;
import io.normstats.jobs.SparkOptions;
import io.normstats.ml.BatchNorm;
import io.normstats.onnx.NetworkInput;
import io.normstats.onnx.OnnxModel;
import io.normstats.onnx.RecalibrationResult;
import io.normstats.onnx.spark.ModelFiles;
import io.normstats.onnx.spark.NetworkPasses;
import io.normstats.onnx.spark.NetworkRecalibration;
import io.normstats.spark.ExactStatistics;
import io.normstats.spark.FeatureSelection;
import io.normstats.spark.input.IdxSource;
import io.normstats.spark.input.InputFormat;
import io.normstats.spark.input.Inputs;
import io.normstats.spark.internal.ColumnarScan;
import io.normstats.spark.internal.InternalRows;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.commons.io.FileUtils;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.LocalOutputFile;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.Types;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.ml.feature.StandardScaler;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.stat.Summarizer;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.StructType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/**
 * {@code normstats bench}: normstats against Spark's own statistics, in one JVM on the same data.
 *
 * <p>It generates the data (seeded), then runs the contenders of each section alternately
 * {@code --repeats} times after one warm-up round, and prints every time, the medians, and the
 * ratios the project targets (BENCHMARKS.md):
 * <ul>
 *   <li>fit: BatchNorm.fit against a naive double sum of x and x^2 over the same cached rows of
 *       dense vectors (the floor), and StandardScaler(withMean, withStd).fit;</li>
 *   <li>stats: the stats job on Parquet scalar columns against Spark SQL avg + var_pop and
 *       VectorAssembler + Summarizer (mean, variance);</li>
 *   <li>scaling: the exact statistics of 1/8 against all of the rows, and of 64 against 1,024
 *       features with the same number of values per feature;</li>
 *   <li>wide: the stats job on Parquet files of the same number of values in 32 to 10,000 columns
 *       against the read floor of the 32- and 3,000-column files ({@link #readFloor}), and the
 *       report job against it on 3,000 columns;</li>
 *   <li>compare: the compare job (4 batch sizes) against the stats job on Fashion-MNIST images,
 *       and the report job's minibatch phases against its exact phase (from its report.json);</li>
 *   <li>recalibrate: on a zoo network and 10,000 Fashion-MNIST images, all recalibration passes
 *       against one ONNX Runtime pass over the full graph, and (when {@code --python} has torch)
 *       that pass against torch's eager inference and the job against torch's
 *       {@code update_bn}.</li>
 *   <li>accuracy: how far Spark SQL's {@code var_pop} and ML's {@code Summarizer} variance are
 *       from normstats' exact one (relative error, computed with BigDecimal), on {@code --rows}
 *       values of 1e9 + 10 U(0,1) and of 2^50 + integers in [-1000, 1000), in 1 and 8
 *       partitions: the README's accuracy table.</li>
 *   <li>images: the stats job on {@code --image-count} image files (224x224 crops of the sample
 *       photographs, as PNG and as JPEG) against the usual single-machine loop (torchvision
 *       {@code ToTensor} over a {@code DataLoader} with a worker per core, float64 sums:
 *       {@code sample-data/images/torch_image_stats.py}) when {@code --python} has torch;</li>
 *   <li>cold: the cold start of {@code jobs/normstats stats} on the {@code --images} (the 60,000
 *       training images by default), each run a new process, on the JVM running the bench (Java
 *       17) against {@code --new-jdk} with the launcher's ahead-of-time cache (written by the
 *       warm-up round if missing); the outputs must be the same bits.</li>
 * </ul>
 * A benchmark, not a test: the ratios are reported, not asserted; {@code --smoke} runs a small
 * version for CI.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Benchmarks normstats against Spark's Summarizer, StandardScaler and SQL "
        + "aggregates on generated data and Fashion-MNIST; prints medians and ratios."})
public final class BenchJob implements Callable<Integer> {
  private static final String FASHION =
      "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
  private static final String ZOO_MODEL = "sample-data/zoo/resnet/dynamo.onnx";
  private static final List<String> SECTIONS = List.of("fit", "stats", "scaling", "wide", "groupby",
      "compare", "recalibrate", "accuracy", "cold", "images");
  private static final String JDK25 = "/usr/lib/jvm/temurin-25-jdk-amd64";

  @Option(names = "--rows", defaultValue = "2000000", paramLabel = "N",
      description = "Rows of generated data (default: ${DEFAULT-VALUE}).")
  long rows;

  @Option(names = "--features", defaultValue = "32", paramLabel = "D",
      description = "Features (vector length, Parquet columns) (default: ${DEFAULT-VALUE}).")
  int features;

  @Option(names = "--repeats", defaultValue = "5", paramLabel = "R",
      description = "Timed rounds per section, after one warm-up round (default: ${DEFAULT-VALUE}).")
  int repeats;

  @Option(names = "--images", defaultValue = FASHION, paramLabel = "IDX",
      description = "IDX images for the compare section; skipped if missing "
          + "(default: ${DEFAULT-VALUE}).")
  String images;

  @Option(names = "--model", defaultValue = ZOO_MODEL, paramLabel = "MODEL.onnx",
      description = "The ONNX model of the recalibrate section (default: ${DEFAULT-VALUE}).")
  String model;

  @Option(names = "--recalibrate-rows", defaultValue = "10000", paramLabel = "N",
      description = "Images of the recalibrate section (default: ${DEFAULT-VALUE}; --smoke: 2000).")
  int recalibrateRows;

  @Option(names = "--torch-arch", paramLabel = "ARCH",
      description = "The architecture torch_baseline.py builds for --model (default: the name of "
          + "the model's directory, a zoo name; resnet18 for the model torch_baseline.py "
          + "--export writes).")
  String torchArch;

  @Option(names = "--new-jdk", defaultValue = JDK25, paramLabel = "JAVA_HOME",
      description = "The JDK 25 or later of the cold section, against the JVM running the bench "
          + "(default: ${DEFAULT-VALUE}; skipped if missing).")
  String newJdk;

  @Option(names = "--image-count", defaultValue = "2000", paramLabel = "N",
      description = "Images of the images section: 224x224 crops of sample-data/images/photos, "
          + "written as PNG and as JPEG (default: ${DEFAULT-VALUE}; --smoke: 40).")
  int imageCount;

  @Option(names = "--python", defaultValue = "python3", paramLabel = "PYTHON",
      description = "The Python with torch and torchvision for the recalibrate section's torch "
          + "comparison (default: ${DEFAULT-VALUE}; skipped if it lacks them).")
  String python;

  @Option(names = "--sections", split = ",",
      defaultValue = "fit,stats,scaling,wide,groupby,compare,recalibrate,accuracy,cold,images",
      paramLabel = "S", description = "Sections to run (default: ${DEFAULT-VALUE}).")
  List<String> sections;

  @Option(names = "--smoke", description = "A quick run for CI: 20,000 rows, 8 features, 1 round, "
      + "wide tables of 200,000 values, and the compare and recalibrate sections on 2,000 sample "
      + "images.")
  boolean smoke;

  @Mixin SparkOptions spark;

  private final PrintStream out = System.out;

  /**
   * Runs the bench, {@code jobs/normstats bench [options]} (which runs this class on the bench
   * module's classpath), and exits with its code: 0 done, 2 usage error.
   */
  public static void main(String[] args) {
    System.exit(run(new PrintWriter(System.err, true), args));
  }

  /** Runs the bench with errors going to {@code err}; returns the exit code. */
  static int run(PrintWriter err, String... args) {
    return Main.execute(new CommandLine(new BenchJob()), err, args);
  }
  private final List<String> ratios = new ArrayList<>();

  @Override
  public Integer call() throws IOException {
    if (smoke) {
      rows = 20_000;
      features = 8;
      repeats = 1;
      if (images.equals(FASHION)) {
        images = "sample-data/fashion-mnist/t10k-images-idx3-ubyte.gz";
      }
      recalibrateRows = Math.min(recalibrateRows, 2000);
      imageCount = Math.min(imageCount, 40);
    }
    if (rows < 8 || features < 1 || repeats < 1) {
      throw InputException.usage("--rows must be >= 8, --features and --repeats >= 1");
    }
    for (String s : sections) {
      if (!SECTIONS.contains(s)) {
        throw InputException.usage("unknown section '" + s + "' (" + String.join(", ", SECTIONS)
            + ")");
      }
    }
    SparkSession session = spark.session("bench");
    session.sparkContext().setLogLevel("WARN");
    Path work = Files.createTempDirectory("normstats-bench");
    try {
      out.printf(Locale.ROOT, "normstats bench: %,d rows x %d features, %d rounds, master %s, "
          + "%d cores, Java %s%n", rows, features, repeats, session.sparkContext().master(),
          Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"));
      if (sections.contains("fit")) {
        fit(session);
      }
      if (sections.contains("stats")) {
        stats(session, work);
      }
      if (sections.contains("scaling")) {
        scaling(session);
      }
      if (sections.contains("wide")) {
        wide(session, work);
      }
      if (sections.contains("groupby")) {
        groupBy(session);
      }
      if (sections.contains("compare")) {
        compare(work);
      }
      if (sections.contains("recalibrate")) {
        recalibrate(session, work);
      }
      if (sections.contains("accuracy")) {
        accuracy(session);
      }
      if (sections.contains("cold")) {
        cold(work);
      }
      if (sections.contains("images")) {
        images(session, work);
      }
      out.println();
      out.println("ratios (target in brackets):");
      ratios.forEach(out::println);
    } finally {
      FileUtils.deleteQuietly(work.toFile());
    }
    return 0;
  }

  /** A cached DataFrame of {@code n} rows of {@code d}-element dense vectors, column "features". */
  static Dataset<Row> vectors(SparkSession session, long n, int d) {
    StructType schema = new StructType().add("features", new VectorUDT());
    MapFunction<Long, Row> row = i -> {
      SplittableRandom r = new SplittableRandom(i * 0x9E3779B97F4A7C15L);
      double[] v = new double[d];
      for (int j = 0; j < d; j++) {
        v[j] = r.nextGaussian() * (j + 1) + j;
      }
      return RowFactory.create(Vectors.dense(v));
    };
    int partitions = session.sparkContext().defaultParallelism();
    Dataset<Row> df = session.range(0, n, 1, partitions)
        .map(row, Encoders.row(schema)).cache();
    df.count();
    return df;
  }

  private void fit(SparkSession session) {
    Dataset<Row> df = vectors(session, rows, features);
    Map<String, Supplier<Object>> contenders = new LinkedHashMap<>();
    contenders.put("normstats BatchNorm.fit", () -> new BatchNorm().setInputCol("features").fit(df));
    contenders.put("Spark StandardScaler.fit", () -> new StandardScaler().setWithMean(true)
        .setWithStd(true).setInputCol("features").fit(df));
    contenders.put("naive double sum of x, x^2", () -> naiveSums(df, features));
    Map<String, Double> median = run("fit: " + label(df), contenders);
    // issue 34 point 9: the floor is the naive sum; StandardScaler's ratio follows from it
    ratio("StandardScaler.fit / BatchNorm.fit", median, "Spark StandardScaler.fit",
        "normstats BatchNorm.fit", "reported");
    ratio("BatchNorm.fit / naive double sum (cost of exactness)", median,
        "normstats BatchNorm.fit", "naive double sum of x, x^2", "<= 2");
    df.unpersist();
  }

  /** Sums of x and x^2 per feature in plain doubles, reading the cached rows as normstats does. */
  static double[] naiveSums(Dataset<Row> df, int d) {
    JavaRDD<InternalRow> rows = InternalRows.of(df);
    return rows.mapPartitions(it -> {
      double[] sums = new double[2 * d];
      while (it.hasNext()) {
        ArrayData values = it.next().getStruct(0, 4).getArray(3);
        for (int j = 0; j < d; j++) {
          double x = values.getDouble(j);
          sums[j] += x;
          sums[d + j] += x * x;
        }
      }
      return Collections.singletonList(sums).iterator();
    }).reduce((a, b) -> {
      for (int j = 0; j < a.length; j++) {
        a[j] += b[j];
      }
      return a;
    });
  }

  private void stats(SparkSession session, Path work) {
    String parquet = work.resolve("scalars.parquet").toString();
    Column[] columns = new Column[features];
    for (int j = 0; j < features; j++) {
      columns[j] = functions.randn(j).multiply(j + 1).plus(j).alias("f" + j);
    }
    session.range(0, rows, 1, session.sparkContext().defaultParallelism()).select(columns)
        .write().parquet(parquet);
    Dataset<Row> df = session.read().parquet(parquet);
    String[] names = df.columns();
    List<Column> aggregates = new ArrayList<>();
    for (String c : names) {
      aggregates.add(functions.avg(c));
      aggregates.add(functions.var_pop(c));
    }
    int[] round = {0};
    Map<String, Supplier<Object>> contenders = new LinkedHashMap<>();
    contenders.put("normstats stats job", () -> job("stats", parquet, work, round));
    contenders.put("Spark SQL avg + var_pop", () -> df.agg(aggregates.get(0),
        aggregates.subList(1, aggregates.size()).toArray(new Column[0])).collectAsList());
    contenders.put("VectorAssembler + Summarizer", () -> new VectorAssembler().setInputCols(names)
        .setOutputCol("v").transform(df)
        .select(Summarizer.metrics("mean", "variance").summary(functions.col("v"))).first());
    Map<String, Double> median = run("stats: Parquet, " + rows + " rows x " + features
        + " double columns", contenders);
    ratio("SQL avg+var_pop / stats job", median, "Spark SQL avg + var_pop",
        "normstats stats job", ">= 2");
    ratio("VectorAssembler+Summarizer / stats job", median, "VectorAssembler + Summarizer",
        "normstats stats job", ">= 1.5");
  }

  /**
   * The exact aggregate functions against Spark's avg + var_pop in GROUP BY, on {@code rows} cached
   * rows of one double column (1e9 + U(0,1)) with 1, 1,000 and 1,000,000 groups (fewer when there
   * are fewer rows), every result written to Spark's no-op sink.
   */
  private void groupBy(SparkSession session) {
    for (long groups : new long[] {1, 1_000, 1_000_000}) {
      long g = Math.min(groups, Math.max(1, rows / 2));
      Dataset<Row> df = session.range(0, rows, 1, session.sparkContext().defaultParallelism())
          .select(functions.col("id").mod(g).as("k"),
              functions.rand(7).plus(1e9).as("x")).cache();
      df.count();
      Map<String, Supplier<Object>> contenders = new LinkedHashMap<>();
      contenders.put("Spark SQL avg + var_pop", () -> noop(df.groupBy("k")
          .agg(functions.avg("x"), functions.var_pop("x"))));
      contenders.put("normstats exact_mean + exact_var_pop", () -> noop(df.groupBy("k")
          .agg(io.normstats.sql.ExactFunctions.exact_mean("x"),
              io.normstats.sql.ExactFunctions.exact_var_pop("x"))));
      Map<String, Double> median = run(String.format(Locale.ROOT,
          "groupby: %,d cached rows, %,d groups", rows, g), contenders);
      ratio(String.format(Locale.ROOT, "exact / avg+var_pop, %,d groups", g), median,
          "normstats exact_mean + exact_var_pop", "Spark SQL avg + var_pop",
          groups == 1 ? "< 1" : groups == 1_000_000 ? "<= 2" : "-");
      df.unpersist();
    }
  }

  private static Object noop(Dataset<Row> df) {
    df.write().format("noop").mode("overwrite").save();
    return df;
  }

  private void scaling(SparkSession session) {
    Dataset<Row> small = vectors(session, rows / 8, features);
    Dataset<Row> large = vectors(session, rows, features);
    long wideRows = Math.max(8, rows * features / 1024);
    Dataset<Row> narrow = vectors(session, wideRows, 64);
    Dataset<Row> wide = vectors(session, wideRows, 1024);
    Map<String, Supplier<Object>> contenders = new LinkedHashMap<>();
    contenders.put("exact statistics, 1/8 of the rows", () -> exact(small));
    contenders.put("exact statistics, all rows", () -> exact(large));
    contenders.put("exact statistics, 64 features", () -> exact(narrow));
    contenders.put("exact statistics, 1024 features", () -> exact(wide));
    Map<String, Double> median = run("scaling: " + label(small) + " and " + label(large) + "; "
        + label(narrow) + " and " + label(wide), contenders);
    ratio("8x rows / 1x rows", median, "exact statistics, all rows",
        "exact statistics, 1/8 of the rows", "<= 8.5");
    ratio("1024 / 64 features (16x the values)", median, "exact statistics, 1024 features",
        "exact statistics, 64 features", "<= 17");
    for (Dataset<Row> df : List.of(small, large, narrow, wide)) {
      df.unpersist();
    }
  }

  /**
   * Wide tables: the stats job on Parquet files of the same number of values in 32 to 10,000
   * columns (rows = values / columns), and the report job against the stats job on the 3,000-column
   * file. The files are written with parquet-mr's example writer, one per core.
   */
  private void wide(SparkSession session, Path work) throws IOException {
    long values = smoke ? 200_000 : 60_000_000;
    int[] widths = smoke ? new int[] {8, 200} : new int[] {32, 3_000, 10_000};
    int reportWidth = smoke ? 200 : 3_000;
    int files = session.sparkContext().defaultParallelism();
    Map<Integer, String> paths = new LinkedHashMap<>();
    for (int c : widths) {
      Path dir = work.resolve("wide-" + c + ".parquet");
      writeWideParquet(dir, c, values / c, files);
      paths.put(c, dir.toString());
    }
    int[] round = {0};
    Map<String, Supplier<Object>> contenders = new LinkedHashMap<>();
    for (int c : widths) {
      contenders.put(String.format(Locale.ROOT, "stats job, %,d columns x %,d rows", c, values / c),
          () -> job("stats", paths.get(c), work, round));
    }
    int[] floors = {widths[0], reportWidth};
    for (int c : floors) {
      Dataset<Row> file = session.read().parquet(paths.get(c));
      contenders.put(floorName(c), () -> readFloor(file));
      // the engine alone, without the job's reading of the schema and writing of its outputs
      contenders.put(engineName(c), () -> ExactStatistics.compute(file,
          FeatureSelection.resolve(file, null, null)));
    }
    String report = String.format(Locale.ROOT, "report job, %,d columns", reportWidth);
    contenders.put(report, () -> job("report", paths.get(reportWidth), work, round));
    Map<String, Double> median = run(String.format(Locale.ROOT,
        "wide: Parquet doubles, %,d values per file, %d files each", values, files), contenders);
    String narrowest = String.format(Locale.ROOT, "stats job, %,d columns x %,d rows", widths[0],
        values / widths[0]);
    for (int k = 1; k < widths.length; k++) {
      int c = widths[k];
      ratio(String.format(Locale.ROOT, "%,d / %,d columns, same values", c, widths[0]), median,
          String.format(Locale.ROOT, "stats job, %,d columns x %,d rows", c, values / c),
          narrowest, "reported");
    }
    for (int c : floors) {
      ratio(String.format(Locale.ROOT, "stats job / read floor, %,d columns", c), median,
          String.format(Locale.ROOT, "stats job, %,d columns x %,d rows", c, values / c),
          floorName(c), "<= 1.5");
      ratio(String.format(Locale.ROOT, "exact statistics / read floor, %,d columns", c), median,
          engineName(c), floorName(c), "reported");
    }
    ratio(String.format(Locale.ROOT, "report / stats, %,d columns", reportWidth), median, report,
        String.format(Locale.ROOT, "stats job, %,d columns x %,d rows", reportWidth,
            values / reportWidth), "<= 3");
  }

  /**
   * Cold starts: {@code jobs/normstats stats} as a new process, on the JDK running the bench and on
   * {@code --new-jdk} with its AOT cache (issue 34, points 8 and 9: at most 0.6x).
   *
   * @throws IllegalStateException if a run fails or the two JDKs' stats.json differ
   */
  private void cold(Path work) throws IOException {
    Path launcher = Path.of("jobs/normstats");
    String skipped = smoke ? "--smoke"
        : !Files.isExecutable(launcher) ? "no jobs/normstats here: run the bench from a checkout"
        : !Files.isExecutable(Path.of(newJdk, "bin", "java")) ? newJdk + " has no bin/java"
        : !Files.isRegularFile(Path.of(images)) ? images + " is missing" : null;
    if (skipped != null) {
      out.println();
      out.println("cold: skipped (" + skipped + ")");
      return;
    }
    String current = System.getProperty("java.home");
    String oldName = "cold stats, Java " + Runtime.version().feature() + " (" + current + ")";
    String newName = "cold stats, " + newJdk + " with its AOT cache";
    Map<String, Path> outputs = new LinkedHashMap<>();
    outputs.put(oldName, work.resolve("cold-old"));
    outputs.put(newName, work.resolve("cold-new"));
    Map<String, Supplier<Object>> contenders = new LinkedHashMap<>();
    contenders.put(oldName, () -> launch(launcher, current, outputs.get(oldName)));
    contenders.put(newName, () -> launch(launcher, newJdk, outputs.get(newName)));
    Map<String, Double> median = run("cold: jobs/normstats stats --input " + images
        + ", a new process per run", contenders);
    byte[] a = Files.readAllBytes(outputs.get(oldName).resolve("stats.json"));
    byte[] b = Files.readAllBytes(outputs.get(newName).resolve("stats.json"));
    if (!Arrays.equals(a, b)) {
      throw new IllegalStateException("stats.json differs between " + current + " and " + newJdk);
    }
    ratio("cold stats: new JDK with AOT cache / Java " + Runtime.version().feature(), median,
        newName, oldName, "<= 0.6");
  }

  private Object launch(Path launcher, String javaHome, Path output) {
    ProcessBuilder pb = new ProcessBuilder(launcher.toString(), "stats", "--input", images,
        "--output", output.toString(), "--overwrite").redirectErrorStream(true);
    pb.environment().put("JAVA_HOME", javaHome);
    pb.environment().remove("NORMSTATS_CDS");
    try {
      Process p = pb.start();
      String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (p.waitFor() != 0) {
        throw new IllegalStateException("cold run on " + javaHome + " failed:\n" + log);
      }
      return 0;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * Images per second of the stats job over PNG and JPEG files against torchvision's loop
   * (issue 33: at least as fast per core, and exact). The files are 224x224 crops of the sample
   * photographs at seeded places, written by ImageIO.
   */
  private void images(SparkSession session, Path work) throws IOException {
    Path photos = Path.of("sample-data/images/photos");
    if (!Files.isDirectory(photos)) {
      out.println();
      out.println("images: skipped, no " + photos + " (run the bench from a checkout)");
      return;
    }
    List<java.awt.image.BufferedImage> sources = new ArrayList<>();
    try (java.util.stream.Stream<Path> files = Files.list(photos)) {
      for (Path p : files.sorted().toList()) {
        sources.add(javax.imageio.ImageIO.read(p.toFile()));
      }
    }
    SplittableRandom random = new SplittableRandom(33);
    Map<String, Path> dirs = new LinkedHashMap<>();
    for (String format : List.of("png", "jpeg")) {
      Path dir = Files.createDirectories(work.resolve("images-" + format));
      dirs.put(format, dir);
      for (int i = 0; i < imageCount; i++) {
        java.awt.image.BufferedImage s = sources.get(i % sources.size());
        int x = random.nextInt(s.getWidth() - 224 + 1);
        int y = random.nextInt(s.getHeight() - 224 + 1);
        javax.imageio.ImageIO.write(s.getSubimage(x, y, 224, 224), format,
            dir.resolve(String.format(Locale.ROOT, "%05d.%s", i, format)).toFile());
      }
    }
    int cores = session.sparkContext().defaultParallelism();
    int[] round = {0};
    Map<String, Supplier<Object>> contenders = new LinkedHashMap<>();
    for (Map.Entry<String, Path> d : dirs.entrySet()) {
      contenders.put("stats job, " + imageCount + " " + d.getKey() + " files",
          () -> job("stats", d.getValue().toString(), work, round, "--format", "image"));
    }
    Map<String, Double> median = run(String.format(Locale.ROOT,
        "images: %,d crops of 224x224 from %s, as PNG and JPEG", imageCount, photos), contenders);
    for (Map.Entry<String, Path> d : dirs.entrySet()) {
      String name = "stats job, " + imageCount + " " + d.getKey() + " files";
      out.printf(Locale.ROOT, "  %-50s %9.0f images/s%n", name, imageCount / median.get(name));
      Double torch = torchImages(d.getValue(), cores);
      if (torch != null) {
        String loop = "torch DataLoader loop, " + d.getKey();
        median.put(loop, torch);
        out.printf(Locale.ROOT, "  %-50s %9.0f images/s (median %.3f s)%n", loop,
            imageCount / torch, torch);
        ratio("torch loop / stats job, " + d.getKey() + " files", median, loop, name, ">= 1");
      }
    }
  }

  /** The median seconds of torch_image_stats.py over {@code dir}, or null (reason printed). */
  private Double torchImages(Path dir, int workers) {
    List<String> command = List.of(python, "sample-data/images/torch_image_stats.py", "--dir",
        dir.toString(), "--workers", Integer.toString(workers), "--repeats",
        Integer.toString(repeats));
    JsonNode json = torchJson(command, "  images");
    return json == null ? null : medianOf(json.path("seconds"));
  }

  /**
   * The last line of a torch script's standard output as JSON, or null (the reason printed after
   * {@code section}) when the script cannot run: no {@code --python}, no torch.
   */
  private JsonNode torchJson(List<String> command, String section) {
    try {
      Process p = new ProcessBuilder(command).start();
      String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      String stderr = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
      if (p.waitFor() != 0) {
        String[] lines = stderr.strip().split("\n");
        out.println(section + ": torch comparison skipped (" + String.join(" ", command) + ": "
            + lines[lines.length - 1] + ")");
        return null;
      }
      return new ObjectMapper().readTree(stdout.strip().lines().reduce((a, b) -> b)
          .orElse("{}"));
    } catch (IOException e) {
      out.println(section + ": torch comparison skipped (" + python + ": " + e.getMessage()
          + ")");
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  private static String engineName(int columns) {
    return String.format(Locale.ROOT, "exact statistics (ExactStatistics.compute), %,d columns",
        columns);
  }

  private static String floorName(int columns) {
    return String.format(Locale.ROOT, "read floor, %,d columns", columns);
  }

  /**
   * The read floor of a Parquet file of double columns (issue 34, point 9): a naive double sum of
   * every value over the columnar batches of Spark's vectorized Parquet reader, the least any
   * statistics of the file can cost in Spark. The bench owns its session, so it plans wide scans
   * as the jobs do ({@link ColumnarScan}, raising {@code spark.sql.codegen.maxFields} to the
   * file's width while planning); the scan must then be a plain columnar one.
   *
   * @throws IllegalStateException if Spark does not plan the file as columnar batches
   */
  static double readFloor(Dataset<Row> file) {
    ColumnarScan scan = ColumnarScan.of(file, true).orElseThrow(() -> new IllegalStateException(
        "not a columnar scan: " + file.queryExecution().executedPlan().nodeName()));
    return scan.batches().toJavaRDD().mapPartitions(batches -> {
      double sum = 0;
      while (batches.hasNext()) {
        org.apache.spark.sql.vectorized.ColumnarBatch batch = batches.next();
        int n = batch.numRows();
        for (int c = 0; c < batch.numCols(); c++) {
          org.apache.spark.sql.vectorized.ColumnVector v = batch.column(c);
          for (int r = 0; r < n; r++) {
            sum += v.getDouble(r);
          }
        }
      }
      return Collections.singletonList(sum).iterator();
    }).reduce(Double::sum);
  }

  /**
   * Writes {@code rows} rows of {@code columns} required doubles {@code c0, c1, ...} (value
   * {@code (r * (i + 1)) % 1000 / 7 + 1e6}, as the wide-table measurements in BENCHMARKS.md) into
   * {@code files} Parquet files under {@code dir}, with parquet-mr's example writer: a Spark plan of
   * thousands of column expressions takes minutes to plan and compile.
   */
  static void writeWideParquet(Path dir, int columns, long rows, int files) throws IOException {
    Files.createDirectories(dir);
    Types.MessageTypeBuilder builder = Types.buildMessage();
    for (int i = 0; i < columns; i++) {
      builder.required(PrimitiveType.PrimitiveTypeName.DOUBLE).named("c" + i);
    }
    MessageType schema = builder.named("wide");
    SimpleGroupFactory groups = new SimpleGroupFactory(schema);
    for (int f = 0; f < files; f++) {
      Path file = dir.resolve(String.format(Locale.ROOT, "part-%05d.parquet", f));
      try (ParquetWriter<Group> writer = ExampleParquetWriter.builder(new LocalOutputFile(file))
          .withType(schema).withCompressionCodec(CompressionCodecName.SNAPPY).build()) {
        for (long r = rows * f / files; r < rows * (f + 1) / files; r++) {
          Group g = groups.newGroup();
          for (int i = 0; i < columns; i++) {
            g.add(i, (r * (i + 1)) % 1000 / 7.0 + 1e6);
          }
          writer.write(g);
        }
      }
    }
  }

  private static Object exact(Dataset<Row> df) {
    return ExactStatistics.compute(df, FeatureSelection.resolveDeferred(df, null, "features"));
  }

  private void compare(Path work) {
    if (!new File(images).isFile()) {
      out.println();
      out.println("compare: skipped, no " + images + " (apt-get install dataset-fashion-mnist)");
      return;
    }
    int[] round = {0};
    Map<String, Supplier<Object>> contenders = new LinkedHashMap<>();
    contenders.put("normstats stats job", () -> job("stats", images, work, round));
    contenders.put("normstats compare job (batch sizes 8,32,128,512)",
        () -> job("compare", images, work, round));
    // the report job's own phase timings (report.json): its minibatch passes against its exact pass
    List<Double> minibatchToExact = new ArrayList<>();
    contenders.put("normstats report job", () -> job("report", images, work, round,
        output -> minibatchToExact.add(minibatchToExact(output.resolve("report.json")))));
    Map<String, Double> median = run("compare: " + images, contenders);
    ratio("compare / stats", median, "normstats compare job (batch sizes 8,32,128,512)",
        "normstats stats job", "<= 2");
    double[] timed = minibatchToExact.stream().skip(1).mapToDouble(x -> x).sorted().toArray();
    ratios.add(String.format(Locale.ROOT, "  %-55s %6.2f  [%s]",
        "report: minibatch phases / exact phase", median(timed), "<= 1.5"));
  }

  /**
   * The report job's minibatch phases ("minibatch estimators" and "batch-mean distribution")
   * over its "exact statistics" phase, from the phase timings in its report.json.
   */
  private static double minibatchToExact(Path reportJson) {
    try {
      JsonNode phases = new ObjectMapper().readTree(reportJson.toFile()).path("header")
          .path("phases");
      return (phases.get("minibatch estimators").asDouble()
          + phases.get("batch-mean distribution").asDouble())
          / phases.get("exact statistics").asDouble();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The issue-32 targets of the recalibrate job on a zoo network (or {@code --model}) and
   * {@code --recalibrate-rows} Fashion-MNIST images (one Parquet file): one ONNX Runtime pass over
   * the full graph (the rows in memory and spread over the cores, as torch has them) against
   * torch's eager inference, all recalibration passes (exact statistics, activation cache
   * at its default) against that one pass, and the job with {@code --approximations none} against
   * torch's {@code update_bn}. The torch times come from {@code sample-data/zoo/torch_baseline.py}
   * run by {@code --python} on the same rows and as many threads as Spark has cores; without
   * torch those two ratios are skipped.
   */
  private void recalibrate(SparkSession session, Path work) throws IOException {
    if (!new File(images).isFile()) {
      out.println();
      out.println("recalibrate: skipped, no " + images + " (apt-get install dataset-fashion-mnist)");
      return;
    }
    OnnxModel network = ModelFiles.read(session.sparkContext().hadoopConfiguration(), model,
        model);
    String input = work.resolve("recalibrate-rows.parquet").toString();
    Inputs.read(session, images, InputFormat.AUTO).limit(recalibrateRows).write().parquet(input);
    Dataset<Row> df = Inputs.read(session, input, InputFormat.AUTO);
    FeatureSelection selection = FeatureSelection.resolve(df, null, IdxSource.COLUMN);
    NetworkRecalibration.Settings settings = new NetworkRecalibration.Settings(null, 64, false,
        32);
    NetworkInput in = network.input(null);
    NetworkPasses.Pass full = new NetworkPasses.Pass(network.what(),
        network.capturing(network.outputs()), network.outputs().toArray(new String[0]), in,
        in.itemShape(selection.vectorLength()), settings.batchSize());
    // the inference baseline as torch's: the rows in memory, spread evenly over the cores (one
    // Parquet row group is one task, on one core, which the recalibration passes spread themselves)
    JavaRDD<InternalRow> rows = NetworkRecalibration.spread(NetworkRecalibration.rows(df,
        selection), session.sparkContext().defaultParallelism())
        .persist(org.apache.spark.storage.StorageLevel.MEMORY_ONLY());
    long count = rows.count();
    Map<String, Double> torch = torchBaseline(count, session.sparkContext().defaultParallelism());
    Map<String, Supplier<Object>> contenders = new LinkedHashMap<>();
    int[] round = {0};
    RecalibrationResult[] result = new RecalibrationResult[1];
    contenders.put("ONNX Runtime inference, full graph",
        () -> NetworkPasses.infer(rows, selection, full));
    contenders.put("recalibration passes (exact)",
        () -> result[0] = NetworkRecalibration.exact(df, selection, network, settings));
    contenders.put("recalibrate job, --approximations none", () -> job("recalibrate", input, work,
        round, "--model", model, "--approximations", "none"));
    contenders.put("recalibrate job (one_pass, precise_bn)", () -> job("recalibrate", input, work,
        round, "--model", model));
    Map<String, Double> median = run(String.format(Locale.ROOT,
        "recalibrate: %s on %,d rows of %s", model, count, images), contenders);
    rows.unpersist(false);
    out.printf(Locale.ROOT, "  (%d BatchNorm layers in %d levels)%n", result[0].layers().size(),
        result[0].levels());
    ratio("recalibration passes / one full-graph pass", median, "recalibration passes (exact)",
        "ONNX Runtime inference, full graph", "<= 2");
    if (torch.isEmpty()) {
      return;
    }
    median.putAll(torch);
    torch.forEach((k, v) -> out.printf(Locale.ROOT, "  %-50s median %7.3f s%n", k, v));
    ratio("full-graph pass / torch eager inference", median, "ONNX Runtime inference, full graph",
        "torch eager inference", "<= 1.2");
    ratio("recalibrate job, --approximations none / torch update_bn", median,
        "recalibrate job, --approximations none", "torch update_bn", "<= 3");
  }

  /**
   * The README's accuracy table: the relative error of Spark SQL's var_pop and of ML's
   * Summarizer (its unbiased variance times (n-1)/n) against normstats' exact population variance,
   * on {@code --rows} values near 1e9 and near 2^50, in 1 and 8 partitions. Not timed.
   */
  private void accuracy(SparkSession session) {
    out.println();
    out.printf(Locale.ROOT, "accuracy: var_pop of %,d values, relative error against the exact "
        + "value%n", rows);
    accuracy(session, "1e9 + 10*U(0,1)", session.range(rows).select(
        functions.rand(7).multiply(10).plus(1e9).as("x")));
    accuracy(session, "2^50 + integers in [-1000, 1000)", session.range(rows).select(
        functions.floor(functions.rand(7).multiply(2000)).minus(1000).plus(Math.pow(2, 50))
            .as("x")));
  }

  private void accuracy(SparkSession session, String name, Dataset<Row> data) {
    Dataset<Row> df = data.localCheckpoint(); // fixes the random values
    for (int partitions : new int[] {1, 8}) {
      Dataset<Row> p = df.repartition(partitions).cache();
      double exact = ExactStatistics.compute(p, FeatureSelection.resolve(p, List.of("x"), null))
          .features().get(0).moments().varPop();
      double sql = p.agg(functions.var_pop("x")).first().getDouble(0);
      Dataset<Row> vec = new org.apache.spark.ml.feature.VectorAssembler()
          .setInputCols(new String[] {"x"}).setOutputCol("v").transform(p);
      org.apache.spark.ml.linalg.Vector unbiased = (org.apache.spark.ml.linalg.Vector) vec
          .select(org.apache.spark.ml.stat.Summarizer.variance(vec.col("v"))).first().get(0);
      long count = p.count();
      double summarizer = unbiased.apply(0) * (count - 1) / count;
      out.printf(Locale.ROOT, "  %-34s partitions %d  exact var_pop %s  SQL var_pop %.2e  "
          + "Summarizer %.2e%n", name, partitions, exact, relativeError(sql, exact),
          relativeError(summarizer, exact));
      p.unpersist();
    }
  }

  /** |value - exact| / exact, computed exactly and then rounded. */
  private static double relativeError(double value, double exact) {
    return new java.math.BigDecimal(value).subtract(new java.math.BigDecimal(exact)).abs()
        .divide(new java.math.BigDecimal(exact), java.math.MathContext.DECIMAL64).doubleValue();
  }

  /**
   * The medians of torch's eager inference and update_bn over the first {@code rows} images,
   * from {@code torch_baseline.py}; empty (with the reason printed) if it cannot run.
   */
  private Map<String, Double> torchBaseline(long rows, int threads) {
    Path script = Path.of("sample-data/zoo/torch_baseline.py");
    String arch = torchArch != null ? torchArch
        : Path.of(model).toAbsolutePath().getParent().getFileName().toString();
    List<String> command = List.of(python, script.toString(), "--arch", arch, "--images", images,
        "--model", model, "--rows", Long.toString(rows), "--threads", Integer.toString(threads),
        "--repeats", Integer.toString(repeats));
    JsonNode json = torchJson(command, "recalibrate");
    if (json == null) {
      return Map.of();
    }
    Map<String, Double> medians = new LinkedHashMap<>();
    medians.put("torch eager inference", medianOf(json.path("eager_s")));
    medians.put("torch update_bn", medianOf(json.path("update_bn_s")));
    out.println("recalibrate: torch " + json.path("torch").asText() + ", " + threads
        + " threads, arch " + arch);
    return medians;
  }

  private static double medianOf(JsonNode seconds) {
    double[] s = new double[seconds.size()];
    for (int i = 0; i < s.length; i++) {
      s[i] = seconds.get(i).asDouble();
    }
    Arrays.sort(s);
    return median(s);
  }

  /** Runs job {@code name} on {@code input} in this JVM, into a fresh directory it then deletes. */
  private static Object job(String name, String input, Path work, int[] round,
      String... options) {
    return job(name, input, work, round, output -> { }, options);
  }

  /** Runs a job into a new output directory, shows it to {@code inspect}, then deletes it. */
  private static Object job(String name, String input, Path work, int[] round,
      Consumer<Path> inspect, String... options) {
    String output = work.resolve(name + "-" + round[0]++).toString();
    List<String> args = new ArrayList<>(List.of(name, "--input", input, "--output", output));
    args.addAll(List.of(options));
    int code = Main.run(args.toArray(new String[0]));
    if (code != 0) {
      throw new IllegalStateException("the " + name + " job failed with exit code " + code);
    }
    inspect.accept(Path.of(output));
    FileUtils.deleteQuietly(new File(output));
    return code;
  }

  private static String label(Dataset<Row> df) {
    return String.format(Locale.ROOT, "%,d cached rows", df.count());
  }

  /** Runs the contenders alternately, one warm-up round and then the timed rounds. */
  private Map<String, Double> run(String title, Map<String, Supplier<Object>> contenders) {
    out.println();
    out.println(title);
    Map<String, double[]> seconds = new LinkedHashMap<>();
    contenders.keySet().forEach(k -> seconds.put(k, new double[repeats]));
    for (int round = -1; round < repeats; round++) {
      for (Map.Entry<String, Supplier<Object>> c : contenders.entrySet()) {
        long start = System.nanoTime();
        c.getValue().get();
        double s = (System.nanoTime() - start) / 1e9;
        if (round >= 0) {
          seconds.get(c.getKey())[round] = s;
        }
      }
    }
    Map<String, Double> median = new LinkedHashMap<>();
    for (Map.Entry<String, double[]> e : seconds.entrySet()) {
      double[] sorted = e.getValue().clone();
      Arrays.sort(sorted);
      double m = median(sorted);
      median.put(e.getKey(), m);
      StringBuilder all = new StringBuilder();
      for (double s : e.getValue()) {
        all.append(String.format(Locale.ROOT, " %.3f", s));
      }
      out.printf(Locale.ROOT, "  %-50s median %7.3f s   runs:%s%n", e.getKey(), m, all);
    }
    return median;
  }

  /** The median of sorted values (the mean of the middle two for an even count). */
  private static double median(double[] sorted) {
    return sorted.length % 2 == 1 ? sorted[sorted.length / 2]
        : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  }

  private void ratio(String name, Map<String, Double> median, String numerator,
      String denominator, String target) {
    double r = median.get(numerator) / median.get(denominator);
    ratios.add(String.format(Locale.ROOT, "  %-55s %6.2f  [%s]", name, r, target));
  }
}
