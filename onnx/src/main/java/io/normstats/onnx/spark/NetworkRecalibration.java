package io.normstats.onnx.spark;

import io.normstats.InputException;
import io.normstats.exact.ExactMoments;
import io.normstats.onnx.ActivationMoments;
import io.normstats.onnx.BatchNormLayer;
import io.normstats.onnx.ExternalData;
import io.normstats.onnx.LayerRecalibration;
import io.normstats.onnx.NetworkInput;
import io.normstats.onnx.OnnxModel;
import io.normstats.onnx.RecalibrationResult;
import io.normstats.spark.FeatureSelection;
import io.normstats.spark.InputOrder;
import io.normstats.spark.OrderedInput;
import io.normstats.spark.RowSample;
import io.normstats.spark.internal.InternalRows;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exact prediction-mode statistics for every BatchNormalization layer of a trained network, on
 * Spark: bottom-up, one level per distributed pass, as CNTK's BNStat did.
 *
 * <p>Pass k runs the segment of the network from the cut after level k-1 to the inputs of the
 * level-k layers and the next cut ({@link OnnxModel#cut}, {@link OnnxModel#slice}), with every
 * layer of a lower level already holding its recomputed statistics (rounded to its stored element
 * type, so the activations measured are exactly those of the written model in prediction mode),
 * and computes the exact per-channel mean and variance of each such input over all rows
 * ({@link NetworkPasses}, {@link io.normstats.onnx.ActivationMoments}). Passes = levels. The
 * values at the cut come from Spark's cache of the previous pass, or are recomputed through the
 * segments before ({@link ActivationCache}); a model with a fixed batch size runs each pass with
 * the whole graph pruned to the level's inputs.
 *
 * <p>With {@link #withApproximations}, two approximations for comparison, in the same run:
 * <ul>
 *   <li>{@code one_pass}: every layer's input captured in the first pass, with the model's stored
 *       statistics upstream (what recomputing all layers at once in prediction mode gives). It
 *       shares pass 0: the graph of level 0 is then pruned to all layers' inputs.</li>
 *   <li>{@code precise_bn}: fvcore's PreciseBN (and {@code torch.optim.swa_utils.update_bn}):
 *       every layer measured while the layers upstream normalize with their minibatch's own
 *       statistics (training mode), over minibatches of consecutive rows in input order. fvcore
 *       averages batch means weighted by batch size, and takes the population variance as the
 *       weighted E[x^2] - E[x]^2 ({@code _PopulationVarianceEstimator}); over all minibatches
 *       that is exactly the mean and population variance of the captured values, which is what
 *       normstats computes (exactly; fvcore's float32 arithmetic adds rounding). One more pass,
 *       with one shuffle of the rows into whole minibatches.</li>
 * </ul>
 */
public final class NetworkRecalibration {
  private static final Logger LOG = LoggerFactory.getLogger(NetworkRecalibration.class);

  private NetworkRecalibration() {}

  /**
   * How to run the network.
   *
   * @param inputName the model input to feed, or null for its only one
   * @param batchSize rows per ONNX Runtime run (a model's fixed batch size overrides it)
   * @param sampleVariance write the sample variance (/(n-1), PyTorch's running_var convention)
   *     instead of the population variance (/n)
   * @param preciseBnBatchSize the minibatch size of the precise_bn approximation
   * @param layers globs of the layers to recompute, matched against a layer's node name and
   *     its parameter prefix ({@code net.layer1.0.bn1} for {@code net.layer1.0.bn1.running_mean});
   *     {@code *} any characters, {@code ?} one; empty for every layer. The others keep their
   *     stored statistics.
   * @param priorWeight W in [0, 1]: each recomputed layer gets W * stored + (1 - W) * exact, mean
   *     and variance alike (computed in double, then rounded to the stored type), bottom-up: the
   *     layers above are measured with these. 0 (the exact statistics) by default; Schneider et
   *     al. 2020 (arXiv:2006.16971) use W = N / (N + n) for test-time adaptation.
   * @param sample the rows to recalibrate on ({@link RowSample}), or null for all; only inputs
   *     read from files have the input order it needs ({@link #withApproximations})
   * @param activationCache whether each pass starts from the values the previous one cut
   *     ({@link ActivationCache})
   */
  public record Settings(String inputName, int batchSize, boolean sampleVariance,
      int preciseBnBatchSize, List<String> layers, double priorWeight, Sample sample,
      ActivationCache activationCache) {
    /**
     * @throws InputException (usage) for a batch size below 1, a minibatch below 2, a prior
     *     weight outside [0, 1] or an empty glob
     */
    public Settings {
      if (batchSize < 1) {
        throw InputException.usage("--batch-size must be at least 1: " + batchSize);
      }
      if (preciseBnBatchSize < 2) {
        throw InputException.usage("--precise-bn-batch-size must be at least 2: "
            + preciseBnBatchSize);
      }
      if (!(priorWeight >= 0 && priorWeight <= 1)) {
        throw InputException.usage("--prior-weight must be in [0, 1]: " + priorWeight);
      }
      layers = layers == null ? List.of() : List.copyOf(layers);
      activationCache = activationCache == null ? ActivationCache.AUTO : activationCache;
      for (String g : layers) {
        if (g.isBlank()) {
          throw InputException.usage("--layers has an empty pattern");
        }
      }
    }

    /** Every layer, exact statistics, all rows. */
    public Settings(String inputName, int batchSize, boolean sampleVariance,
        int preciseBnBatchSize) {
      this(inputName, batchSize, sampleVariance, preciseBnBatchSize, List.of(), 0, null,
          ActivationCache.AUTO);
    }

    /**
     * The layers these settings recompute, in topological order.
     *
     * @throws InputException (usage) if a glob matches no layer
     */
    public List<BatchNormLayer> select(OnnxModel model) {
      List<BatchNormLayer> all = model.requireBatchNorms();
      if (layers.isEmpty()) {
        return all;
      }
      List<java.util.regex.Pattern> patterns = new ArrayList<>();
      for (String g : layers) {
        java.util.regex.Pattern p = glob(g);
        if (all.stream().noneMatch(l -> matches(p, l))) {
          throw InputException.usage("--layers: '" + g + "' matches no BatchNormalization of "
              + model.what() + " (node names such as '" + all.get(0).node()
              + "', or parameter prefixes such as '" + prefix(all.get(0)) + "')");
        }
        patterns.add(p);
      }
      return all.stream().filter(l -> patterns.stream().anyMatch(p -> matches(p, l))).toList();
    }

    private static boolean matches(java.util.regex.Pattern p, BatchNormLayer l) {
      return p.matcher(l.node()).matches() || p.matcher(prefix(l)).matches();
    }

    /** A layer's parameter prefix: the common start of its four parameters' names, less a dot. */
    static String prefix(BatchNormLayer l) {
      String p = l.mean();
      for (String other : List.of(l.variance(), l.scale(), l.bias())) {
        int i = 0;
        while (i < p.length() && i < other.length() && p.charAt(i) == other.charAt(i)) {
          i++;
        }
        p = p.substring(0, i);
      }
      return p.endsWith(".") ? p.substring(0, p.length() - 1) : p;
    }

    private static java.util.regex.Pattern glob(String g) {
      StringBuilder r = new StringBuilder();
      for (char c : g.toCharArray()) {
        r.append(c == '*' ? ".*" : c == '?' ? "." : java.util.regex.Pattern.quote(
            String.valueOf(c)));
      }
      return java.util.regex.Pattern.compile(r.toString());
    }

    /**
     * The statistics written for a layer: the exact ones rounded to its stored type, or with a
     * prior weight W, W * stored + (1 - W) * exact in double, then rounded.
     */
    double[][] written(BatchNormLayer layer, ExactMoments[] moments) {
      double[][] exact = layer.round(moments, sampleVariance);
      if (priorWeight == 0) {
        return exact;
      }
      double[][] out = new double[2][layer.channels()];
      for (int c = 0; c < layer.channels(); c++) {
        double mean = moments[c].mean();
        double var = sampleVariance ? moments[c].varSamp() : moments[c].varPop();
        out[0][c] = priorWeight * layer.storedMean()[c] + (1 - priorWeight) * mean;
        out[1][c] = priorWeight * layer.storedVariance()[c] + (1 - priorWeight) * var;
        out[0][c] = layer.statsType().nearest(out[0][c]);
        out[1][c] = layer.statsType().nearest(out[1][c]);
      }
      return out;
    }
  }

  /**
   * Recalibrate on exactly {@code rows} rows of the input, chosen by {@link RowSample} with
   * {@code seed}: the same rows for any partitioning.
   */
  public record Sample(long rows, long seed) {}

  /**
   * Where each pass after the first starts. With the cache, from the values the previous pass cut
   * ({@link OnnxModel#cut}: the BatchNorm inputs it captured, the skip connections that cross
   * it), persisted by Spark (serialized, on local disk, each task holding its partition's) and
   * run through the next segment of the network only: about one inference of work in all,
   * against one partial inference per level without it, where each pass recomputes the cut from
   * the input through the segments of the passes before. The statistics are the same bits either
   * way: ONNX Runtime runs the same segment graphs (a cut's values are graph inputs or outputs, so
   * it fuses nothing across a cut). One exception: with one_pass the first pass runs the graph of
   * every layer's input, and a pass that recomputes the first cut runs the first level's own
   * segment, whose values are those of the larger graph in every network of the zoo (its tests
   * compare the bits with the cache on and off). A model with a fixed batch size always runs from
   * the input, with the whole graph.
   */
  public enum ActivationCache {
    /**
     * Every cut but the first and the last pass's (which cuts nothing), as long as the two cuts on
     * disk at once, the one a pass reads and the one it writes, fit in the disk budget
     * ({@link #diskBudget}); a cut that does not is recomputed by the next pass from the input.
     * Not the first: it is the largest cut of most networks (full resolution), and not caching it
     * costs one more run of the first segment, in the second pass, which on the zoo's ResNet
     * took as long as writing and reading the cut (first two passes 2.2 + 1.4 s against 2.5 +
     * 1.3 s cached). So a network of two levels runs as with {@code OFF}. The two cuts' bytes per
     * row are measured on one row before the second pass ({@link NetworkPasses#bytesPerRow}), the
     * rows counted by the first.
     */
    AUTO,
    /** Every cut, whatever its size, but for a fixed batch size. */
    ON,
    /** Every pass recomputes its cut from the input. */
    OFF;

    /**
     * Whether pass {@code pass} (from 0) of {@code passes} persists the cut it computes.
     *
     * @param rows the input's rows, or -1 before the first pass has counted them
     * @param cutBytesPerRow the bytes per row of this pass's cut, -1 if unknown ({@code AUTO}
     *     only: an unknown cut is not cached)
     * @param previousBytesPerRow the bytes per row of the previous pass's cut if it is persisted,
     *     else 0 ({@code AUTO} only)
     * @param budget the bytes the two may take on disk ({@code AUTO} only)
     */
    boolean persists(int pass, int passes, long rows, long cutBytesPerRow,
        long previousBytesPerRow, long budget) {
      return switch (this) {
        case ON -> pass < passes - 1;
        case OFF -> false;
        case AUTO -> pass >= 1 && pass < passes - 1 && rows >= 0 && cutBytesPerRow >= 0
            && (double) rows * (cutBytesPerRow + previousBytesPerRow) <= budget;
      };
    }
  }

  /**
   * The disk {@link ActivationCache#AUTO} may fill with cut values: half the usable space of
   * Spark's local directories as the driver sees them ({@code SPARK_LOCAL_DIRS}, else
   * {@code spark.local.dir}, else {@code java.io.tmpdir}, comma-separated), counted as the
   * least free of them times their number, since Spark spreads its blocks evenly over them. In
   * local mode those are the executors' directories; on a cluster the driver's stand in for them,
   * a conservative measure when the cut spreads over several executors ({@code ON} overrides it).
   *
   * @return the budget in bytes
   */
  static long diskBudget(org.apache.spark.SparkConf conf) {
    String dirs = System.getenv("SPARK_LOCAL_DIRS");
    if (dirs == null || dirs.isBlank()) {
      dirs = conf.get("spark.local.dir", System.getProperty("java.io.tmpdir"));
    }
    long least = Long.MAX_VALUE;
    int count = 0;
    for (String d : dirs.split(",")) {
      if (d.isBlank()) {
        continue;
      }
      java.io.File f = new java.io.File(d.trim());
      while (f != null && !f.exists()) {
        f = f.getParentFile(); // Spark creates its directories when it first needs them
      }
      least = Math.min(least, f == null ? 0 : f.getUsableSpace());
      count++;
    }
    return count == 0 ? 0 : (long) Math.min(Long.MAX_VALUE / 2.0, least / 2.0 * count);
  }

  /** {@code bytes} for a log line: 250.9 MB, 2.6 GB. */
  private static String size(long bytes) {
    return bytes < 1e9 ? String.format(Locale.ROOT, "%.1f MB", bytes / 1e6)
        : String.format(Locale.ROOT, "%.1f GB", bytes / 1e9);
  }

  /** The comparison passes to run beside the exact statistics. */
  public enum Approximation {
    /** Every layer measured in the first pass, with the stored statistics upstream. */
    ONE_PASS,
    /** fvcore's PreciseBN: upstream layers in training mode, minibatches in input order. */
    PRECISE_BN;

    /** The name on the command line and in the outputs: one_pass, precise_bn. */
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * The exact statistics of every layer over all rows of {@code df}.
   *
   * @throws InputException (usage) for a model without BatchNormalization, a layer in training
   *     mode, an input name or length that does not fit; (data) for incomplete rows or no rows
   */
  public static RecalibrationResult exact(Dataset<Row> df, FeatureSelection selection,
      OnnxModel model, Settings settings) {
    return run(rows(df, selection), -1, null, selection, model, settings, true);
  }

  /**
   * The exact statistics of every layer, and the one_pass and precise_bn approximations.
   *
   * @param input the input with the rows' origin, for the input order of the minibatches
   * @param partitions repartition the rows of the exact passes into this many partitions, or null
   * @throws InputException as {@link #exact}
   */
  public static RecalibrationResult withApproximations(OrderedInput input,
      FeatureSelection selection, Integer partitions, OnnxModel model, Settings settings) {
    return withApproximations(input, selection, partitions, model, settings,
        java.util.EnumSet.allOf(Approximation.class));
  }

  /**
   * The exact statistics of every layer {@code settings} selects, and the approximations asked
   * for (none, one or both).
   *
   * @throws InputException as {@link #exact}, and (usage) for a {@code --layers} glob that matches
   *     no layer
   */
  public static RecalibrationResult withApproximations(OrderedInput input,
      FeatureSelection selection, Integer partitions, OnnxModel model, Settings settings,
      java.util.Set<Approximation> approximations) {
    Dataset<Row> withOrigin = input.selectWithOrigin(selection.projection());
    JavaRDD<InternalRow> source = InternalRows.of(withOrigin);
    int fileIndex = selection.projection().length;
    settings.select(model); // a --layers glob that matches nothing fails before any pass
    if (settings.sample() != null) {
      RowSample.Sampled sampled = RowSample.of(source, fileIndex, settings.sample().rows(),
          settings.sample().seed());
      JavaRDD<InternalRow> rows = partitions == null ? sampled.rows()
          : spread(sampled.rows(), partitions);
      RecalibrationResult r = run(rows, fileIndex, sampled.rows(), selection, model, settings,
          approximations, partitions == null);
      return new RecalibrationResult(r.rows(), sampled.inputRows(), r.levels(), r.passes(),
          r.layers(), r.recalibrated(), r.onePass(), r.preciseBn());
    }
    JavaRDD<InternalRow> rows = partitions == null ? source
        : InternalRows.of(withOrigin.repartition(partitions));
    return run(rows, fileIndex, source, selection, model, settings, approximations,
        partitions == null);
  }

  private static RecalibrationResult run(JavaRDD<InternalRow> rows, int fileIndex,
      JavaRDD<InternalRow> ordered, FeatureSelection selection, OnnxModel model,
      Settings settings, boolean spread) {
    return run(rows, fileIndex, ordered, selection, model, settings,
        ordered == null ? java.util.EnumSet.noneOf(Approximation.class)
            : java.util.EnumSet.allOf(Approximation.class), spread);
  }

  /**
   * @param spread whether the passes may spread the rows over the cores ({@link #spreadOver}):
   *     all passes when the input has fewer partitions than cores, or when the rows counted per
   *     partition before a first pass that runs the whole graph (one_pass) lie unevenly; else
   *     the later passes when the first finds them so; false when the caller chose the
   *     partitions
   */
  private static RecalibrationResult run(JavaRDD<InternalRow> rows, int fileIndex,
      JavaRDD<InternalRow> ordered, FeatureSelection selection, OnnxModel model,
      Settings settings, java.util.Set<Approximation> approximations, boolean spread) {
    // a model over 2 GB: its large tensors reach the tasks of every pass, shipped once
    ShippedExternalData external = ShippedExternalData.of(
        JavaSparkContext.fromSparkContext(rows.context()), model);
    try {
      return run(rows, fileIndex, ordered, selection, model, settings, approximations, external,
          spread);
    } finally {
      if (external != null) {
        external.release();
      }
    }
  }

  private static RecalibrationResult run(JavaRDD<InternalRow> rows, int fileIndex,
      JavaRDD<InternalRow> ordered, FeatureSelection selection, OnnxModel model,
      Settings settings, java.util.Set<Approximation> approximations,
      ShippedExternalData external, boolean spread) {
    List<BatchNormLayer> layers = settings.select(model);
    NetworkInput input = model.input(settings.inputName());
    long[] item = input.itemShape(selection.vectorLength());
    boolean onePassOn = ordered != null && approximations.contains(Approximation.ONE_PASS);
    boolean preciseOn = ordered != null && approximations.contains(Approximation.PRECISE_BN);
    int levels = model.levels();
    List<Integer> measuredLevels = layers.stream().map(BatchNormLayer::level).distinct()
        .sorted().toList();
    Map<String, ExactMoments[]> exact = new LinkedHashMap<>();
    Map<String, double[][]> written = new LinkedHashMap<>();
    Map<String, ExactMoments[]> onePass = new LinkedHashMap<>();
    long rowCount = -1;
    InputOrder order = null;
    boolean segmented = input.fixedBatchSize() <= 0;
    ActivationCache cache = settings.activationCache();
    int passes = measuredLevels.size();
    long[] cutBytesPerRow = new long[passes]; // measured before the second pass, for AUTO
    boolean weighed = cache == ActivationCache.AUTO && segmented && passes >= 3;
    long budget = weighed ? budgetOf.applyAsLong(rows.context().getConf()) : 0;
    List<List<String>> cuts = segmented ? cuts(model, measuredLevels) : null;
    int cores = rows.context().defaultParallelism();
    boolean mayspread = spread && segmented; // fixed-batch models run the rows as they lie
    boolean spreadAfterFirst = mayspread && passes > 1; // decided by the first pass
    if (mayspread && rows.getNumPartitions() < cores) {
      // fewer partitions than cores: every pass, the first included, runs the rows spread over
      // the cores, read once
      LOG.info("recalibrate: the input has {} partition(s) for {} cores; the passes run its rows "
          + "spread over {} partitions", rows.getNumPartitions(), cores, cores);
      rows = spread(rows, cores);
      spreadAfterFirst = false;
    } else if (mayspread && onePassOn && passes > 1) {
      // the first pass runs the whole graph for one_pass: count the rows of each partition first
      // (one read of the input) and spread them before it when they lie unevenly, as a small
      // Parquet file does (one row group: all rows in one of its splits)
      long[] partitionRows = rows.mapPartitions(it -> {
        long n = 0;
        for (; it.hasNext(); it.next()) {
          n++;
        }
        return List.of(n).iterator();
      }).collect().stream().mapToLong(Long::longValue).toArray();
      int partitions = spreadOver(partitionRows, cores, settings.batchSize());
      if (partitions > 0) {
        logSpread(partitionRows, cores, partitions, "the passes");
        rows = spread(rows, partitions);
      }
      spreadAfterFirst = false;
    }
    List<NetworkPasses.CutPass> chain = new ArrayList<>();
    NetworkPasses.Cut previous = null;
    List<String> previousCut = null;
    for (int i = 0; i < measuredLevels.size(); i++) {
      int level = measuredLevels.get(i);
      long start = System.nanoTime();
      long cutBytes = 0;
      boolean first = rowCount < 0;
      List<BatchNormLayer> measured = layers.stream().filter(l -> l.level() == level).toList();
      List<BatchNormLayer> captured = first && onePassOn ? layers : measured;
      OnnxModel upstream = written.isEmpty() ? model : model.withStatistics(written);
      ActivationMoments moments;
      if (segmented) {
        // each pass runs the segment from the previous cut to this one (OnnxModel.cut), from
        // the cached values of that cut or recomputing it through the segments before
        List<String> cut = cuts.get(i);
        Map<String, Integer> from = new LinkedHashMap<>();
        if (!first) {
          for (int k = 0; k < previousCut.size(); k++) {
            from.put(previousCut.get(k), previous.types()[k]);
          }
        }
        if (i == 1 && weighed) {
          cutBytesPerRow = cutBytesPerRow(model, input, item, cuts);
        }
        long previousBytes = previous != null && previous.blocks() != null
            ? cutBytesPerRow[i - 1] : 0;
        boolean persist = cache.persists(i, passes, rowCount, cutBytesPerRow[i], previousBytes,
            budget);
        if (weighed && !persist && i >= 1 && !cut.isEmpty() && cutBytesPerRow[i] >= 0) {
          LOG.info("recalibrate: level {}'s cut ({} for {} rows) is not cached: {} would "
              + "pass the activation cache's budget ({}, half the free space of Spark's local "
              + "directories); the next pass recomputes it from the input", level,
              size(cutBytesPerRow[i] * rowCount), rowCount, previousBytes > 0
                  ? "with the cut before it (" + size(previousBytes * rowCount) + ") it" : "it",
              size(budget));
        }
        NetworkPasses.CutPass cutPass = cutPass(upstream, from, captured, cut,
            first ? List.of(input.name()) : previousCut, input, item, settings.batchSize(),
            external);
        NetworkPasses.Cut result = first
            ? NetworkPasses.firstCut(rows, selection, cutPass, fileIndex, persist)
            : previous.blocks() != null ? NetworkPasses.nextCut(previous, cutPass, persist)
            : NetworkPasses.recomputedCut(rows, selection, chain, cutPass, persist);
        if (previous != null) {
          previous.release();
        }
        // a later pass that recomputes this cut runs the segment of this level alone, not the
        // whole graph that the first pass runs for one_pass
        chain.add(captured.size() == measured.size() ? cutPass
            : cutPass(upstream, from, measured, cut, cutPass.inputs(), input, item,
                settings.batchSize(), external));
        previous = result;
        previousCut = cut;
        cutBytes = result.bytes();
        moments = result.moments();
        if (first) {
          order = result.order();
          int partitions = spreadAfterFirst ? spreadOver(result.partitionRows(),
              cores, settings.batchSize()) : 0;
          if (partitions > 0) {
            // later passes on rows spread evenly over the cores (same statistics, any partitioning)
            logSpread(result.partitionRows(), cores, partitions, "the later passes");
            rows = spread(rows, partitions);
            previous = result.uncached(); // cached as the input lay: recomputed instead
            cutBytes = 0;
          }
        }
      } else {
        NetworkPasses.Pass pass = pass(upstream, captured, input, item, settings.batchSize(),
            external);
        NetworkPasses.Captured result = NetworkPasses.capture(rows, selection, pass,
            first ? fileIndex : -1);
        moments = result.moments();
        if (first) {
          order = result.order();
        }
      }
      long items = moments.items(0);
      if (items == 0) {
        throw InputException.data("the input has no rows");
      }
      if (first) {
        rowCount = items;
      } else if (items != rowCount) {
        throw InputException.data("the input changed while the job ran: " + rowCount
            + " rows in the first pass, " + items + " in the pass of level " + level);
      }
      for (int j = 0; j < captured.size(); j++) {
        BatchNormLayer layer = captured.get(j);
        ExactMoments[] m = checkChannels(layer, moments.exact(j), moments.itemShape(j));
        if (layer.level() == level) {
          exact.put(layer.node(), m);
          written.put(layer.node(), settings.written(layer, m));
        }
        if (first && onePassOn) {
          onePass.put(layer.node(), m);
        }
      }
      double s = (System.nanoTime() - start) / 1e9;
      LOG.info("recalibrate: level {} of {} ({} layer(s){}) done in {} s{}", level, levels,
          measured.size(), first && onePassOn ? ", with one_pass" : "",
          String.format(Locale.ROOT, "%.1f", s), cutBytes > 0 ? "; its cut, " + size(cutBytes)
              + ", is on the executors' local disks until the next pass" : "");
    }
    if (previous != null) {
      previous.release();
    }
    OnnxModel recalibrated = model.withStatistics(written);
    Map<String, ExactMoments[]> precise = new LinkedHashMap<>();
    OnnxModel onePassModel = onePassOn
        ? model.withStatistics(rounded(layers, onePass, settings)) : null;
    OnnxModel preciseModel = null;
    if (preciseOn) {
      long start = System.nanoTime();
      int minibatch = input.fixedBatchSize() > 0 ? (int) input.fixedBatchSize()
          : settings.preciseBnBatchSize();
      NetworkPasses.Pass pass = pass(model.withBatchNormsInTrainingMode(), layers, input, item,
          minibatch, external);
      ActivationMoments moments = NetworkPasses.captureInMinibatches(ordered, selection, pass,
          fileIndex, order, minibatch);
      for (int j = 0; j < layers.size(); j++) {
        precise.put(layers.get(j).node(),
            checkChannels(layers.get(j), moments.exact(j), moments.itemShape(j)));
      }
      double s = (System.nanoTime() - start) / 1e9;
      LOG.info("recalibrate: precise_bn (minibatches of {}) done in {} s", minibatch,
          String.format(Locale.ROOT, "%.1f", s));
      preciseModel = model.withStatistics(rounded(layers, precise, settings));
    }
    List<LayerRecalibration> out = new ArrayList<>();
    for (BatchNormLayer l : layers) {
      out.add(new LayerRecalibration(l, exact.get(l.node()), written.get(l.node()),
          onePass.get(l.node()), precise.get(l.node())));
    }
    return new RecalibrationResult(rowCount, rowCount, levels, measuredLevels.size(),
        List.copyOf(out), recalibrated, onePassModel, preciseModel);
  }

  /** Logs that {@code passes} run the rows of {@code partitionRows} spread over {@code partitions}. */
  private static void logSpread(long[] partitionRows, int cores, int partitions, String passes) {
    LOG.info("recalibrate: the input's {} rows sit unevenly in its {} partitions (at most {} in "
        + "one) for {} cores; {} run them spread over {} partitions",
        java.util.Arrays.stream(partitionRows).sum(), partitionRows.length,
        java.util.Arrays.stream(partitionRows).max().orElse(0), cores, passes, partitions);
  }

  /**
   * Into how many partitions the passes should spread the rows, or 0 to leave them as the input
   * lays them out: spread when the input's tasks, scheduled longest first on {@code cores} cores,
   * take more than 1.25 times as long as the rows spread evenly would (counting time in rows, and
   * one core's share at least one batch). A Parquet file under Spark's 128 MB split with one row
   * group, for example, has all its rows in one of its splits: one task, on one core, whatever
   * the cores. Spread over as many partitions as the input has, rounded up to a multiple of
   * {@code cores} (so that every core gets as many rows).
   *
   * @param partitionRows the rows of each of the input's partitions (counted by the first pass,
   *     or before it)
   * @param cores the cores the tasks run on (Spark's default parallelism)
   * @param batchSize rows per ONNX Runtime run
   */
  static int spreadOver(long[] partitionRows, int cores, int batchSize) {
    long total = 0;
    for (long r : partitionRows) {
      total += r;
    }
    long even = Math.max((total + cores - 1) / cores, batchSize);
    long[] sorted = partitionRows.clone();
    java.util.Arrays.sort(sorted);
    java.util.PriorityQueue<Long> load = new java.util.PriorityQueue<>();
    for (int c = 0; c < cores; c++) {
      load.add(0L);
    }
    long makespan = 0;
    for (int k = sorted.length - 1; k >= 0; k--) {
      long l = load.poll() + sorted[k];
      makespan = Math.max(makespan, l);
      load.add(l);
    }
    int waves = Math.max(1, (partitionRows.length + cores - 1) / cores);
    return makespan * 4 > even * 5 ? Math.multiplyExact(waves, cores) : 0;
  }

  /**
   * Where {@link ActivationCache#AUTO} reads its disk budget: {@link #diskBudget}, but in tests
   * that give it a small one.
   */
  static java.util.function.ToLongFunction<org.apache.spark.SparkConf> budgetOf =
      NetworkRecalibration::diskBudget;

  /** The cut each pass leaves for the next ({@link OnnxModel#cut}); none after the last. */
  static List<List<String>> cuts(OnnxModel model, List<Integer> measuredLevels) {
    List<List<String>> cuts = new ArrayList<>();
    for (int i = 0; i < measuredLevels.size(); i++) {
      cuts.add(i == measuredLevels.size() - 1 ? List.of() : model.cut(measuredLevels.get(i)));
    }
    return cuts;
  }

  /**
   * The bytes per row of each pass's cut of {@code cuts} ({@link #cuts}; 0 for the first, which
   * {@link ActivationCache#AUTO} never caches, and the last), measured on one row
   * ({@link NetworkPasses#bytesPerRow}); all -1 (unknown) if the network cannot run a row of zeros.
   */
  static long[] cutBytesPerRow(OnnxModel model, NetworkInput input, long[] item,
      List<List<String>> cuts) {
    java.util.LinkedHashSet<String> all = new java.util.LinkedHashSet<>();
    for (int i = 1; i < cuts.size(); i++) {
      all.addAll(cuts.get(i));
    }
    List<String> names = List.copyOf(all);
    long[] out = new long[cuts.size()];
    long[] each;
    try {
      each = NetworkPasses.bytesPerRow(model, input, item, names);
    } catch (InputException e) {
      // a network that cannot run a row of zeros: sizes unknown, so nothing is cached
      LOG.warn("recalibrate: the activation cache is off: its cuts could not be measured on one "
          + "row of zeros ({}); --activation-cache on caches them anyway", e.getMessage());
      java.util.Arrays.fill(out, -1);
      return out;
    }
    for (int i = 1; i < out.length; i++) {
      for (String t : cuts.get(i)) {
        out[i] += each[names.indexOf(t)];
      }
    }
    return out;
  }

  /**
   * The pass of the segment from {@code from} (or the input) to the inputs of {@code captured}
   * and the values of {@code cut} ({@link OnnxModel#slice}).
   *
   * @param inputs the segment's inputs: the previous cut's values, or the model's data input
   * @param external the model's external data as the tasks reach it, or null
   */
  private static NetworkPasses.CutPass cutPass(OnnxModel upstream, Map<String, Integer> from,
      List<BatchNormLayer> captured, List<String> cut, List<String> inputs, NetworkInput input,
      long[] item, int batchSize, ShippedExternalData external) {
    List<String> outputs = new ArrayList<>(captured.stream().map(BatchNormLayer::input).toList());
    outputs.addAll(cut);
    OnnxModel.Capture segment = upstream.slice(from, outputs);
    return new NetworkPasses.CutPass(upstream.what(), segment.model().toByteArray(), inputs,
        List.copyOf(segment.outputs()), captured.stream().map(BatchNormLayer::node)
            .toArray(String[]::new), input, item, batchSize, external);
  }

  /**
   * {@code rows} spread round-robin over {@code partitions} partitions (one shuffle, each row
   * copied out of the reader's reused buffer first): the passes' statistics do not depend on it.
   */
  public static JavaRDD<InternalRow> spread(JavaRDD<InternalRow> rows, int partitions) {
    return rows.map(InternalRow::copy).repartition(partitions);
  }

  /** The rows of {@code df} as the passes read them. */
  public static JavaRDD<InternalRow> rows(Dataset<Row> df, FeatureSelection selection) {
    return InternalRows.of(df.select(selection.projection()));
  }

  private static Map<String, double[][]> rounded(List<BatchNormLayer> layers,
      Map<String, ExactMoments[]> moments, Settings settings) {
    Map<String, double[][]> out = new LinkedHashMap<>();
    for (BatchNormLayer l : layers) {
      out.put(l.node(), l.round(moments.get(l.node()), settings.sampleVariance()));
    }
    return out;
  }

  /** The pass that captures the inputs of {@code layers} from {@code model}. */
  static NetworkPasses.Pass pass(OnnxModel model, List<BatchNormLayer> layers,
      NetworkInput input, long[] item, int batchSize, ShippedExternalData external) {
    OnnxModel.Capture capture = model.capturing(layers.stream()
        .map(BatchNormLayer::input).toList());
    String[] names = layers.stream().map(BatchNormLayer::node).toArray(String[]::new);
    return new NetworkPasses.Pass(model.what(), capture, names, input, item, batchSize,
        external);
  }

  /**
   * @throws InputException (usage) if the captured input's channels are not the layer's C (a
   *     model whose BatchNormalization input is not [N, C, ...])
   */
  private static ExactMoments[] checkChannels(BatchNormLayer layer, ExactMoments[] moments,
      long[] itemShape) {
    if (moments.length != layer.channels()) {
      throw InputException.usage("the input of " + layer.node() + " has items of shape "
          + java.util.Arrays.toString(itemShape) + ", not " + layer.channels() + " channels");
    }
    return moments;
  }
}
