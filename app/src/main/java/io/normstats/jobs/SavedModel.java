package io.normstats.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.normstats.InputException;
import io.normstats.ml.BatchNormModel;
import io.normstats.ml.LayerNorm;
import io.normstats.ml.RMSNorm;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.param.shared.HasInputCol;
import org.apache.spark.ml.param.shared.HasInputCols;
import org.apache.spark.ml.param.shared.HasOutputCol;

/**
 * Loads the PipelineModel a {@code fit} job saved, for the {@code normalize} job, reading nothing but
 * JSON metadata and Parquet data: before Spark's {@link PipelineModel#load} instantiates any class
 * named in the model directory, every stage's JSON metadata is read with Jackson and its class
 * checked against {@link #STAGES} (VectorAssembler and normstats' own stages, whose readers read
 * JSON metadata and, for BatchNormModel, one Parquet table). No file is ever Java-deserialized, and a
 * directory naming any other class is refused without loading it.
 */
final class SavedModel {
  /** The stage classes a normstats model may hold. */
  static final Set<String> STAGES = Set.of(VectorAssembler.class.getName(),
      BatchNormModel.class.getName(), LayerNorm.class.getName(), RMSNorm.class.getName());

  private static final ObjectMapper JSON = new ObjectMapper();

  private SavedModel() {}

  /**
   * Loads the model at {@code dir}.
   *
   * @throws InputException (usage) if {@code dir} is not a saved PipelineModel, holds a stage of a
   *     class outside {@link #STAGES}, or cannot be read
   */
  static PipelineModel load(Configuration conf, String dir) {
    try {
      Path root = new Path(dir);
      FileSystem fs = root.getFileSystem(conf);
      String top = metadataClass(fs, root, dir);
      if (!PipelineModel.class.getName().equals(top)) {
        throw InputException.usage("--model " + dir + " holds a " + top + ", not the PipelineModel "
            + "that 'normstats fit' saves");
      }
      Path stages = new Path(root, "stages");
      if (fs.exists(stages)) {
        for (FileStatus stage : fs.listStatus(stages)) {
          String cls = metadataClass(fs, stage.getPath(), dir);
          if (!STAGES.contains(cls)) {
            throw InputException.usage("--model " + dir + " has a stage of class " + cls
                + " (" + stage.getPath().getName() + "); normalize loads only "
                + String.join(", ", STAGES.stream().sorted().toList()));
          }
        }
      }
      return PipelineModel.load(dir);
    } catch (IOException | RuntimeException e) {
      if (e instanceof InputException ie) {
        throw ie;
      }
      throw InputException.usage("--model " + dir + " cannot be loaded: "
          + String.valueOf(e.getMessage()).lines().findFirst().orElse(""));
    }
  }

  /**
   * @throws InputException (usage) naming the first column a stage of {@code model} reads that
   *     neither {@code columns} nor an earlier stage provides
   */
  static void checkColumns(PipelineModel model, String dir, List<String> columns) {
    Set<String> available = new LinkedHashSet<>(columns);
    for (Transformer stage : model.stages()) {
      List<String> reads = stage instanceof HasInputCols many ? Arrays.asList(many.getInputCols())
          : stage instanceof HasInputCol one ? List.of(one.getInputCol()) : List.of();
      for (String c : reads) {
        if (!available.contains(c)) {
          throw InputException.usage("the model " + dir + " reads column '" + c
              + "', which the input does not have (columns: " + String.join(", ", columns) + ")");
        }
      }
      if (stage instanceof HasOutputCol out) {
        available.add(out.getOutputCol());
      }
    }
  }

  /** The "class" of the JSON metadata under {@code stage}/metadata. */
  private static String metadataClass(FileSystem fs, Path stage, String dir) throws IOException {
    Path metadata = new Path(stage, "metadata");
    if (!fs.exists(metadata)) {
      throw InputException.usage("--model " + dir + " is not a saved model (" + metadata
          + " does not exist)");
    }
    FileStatus part = Arrays.stream(fs.listStatus(metadata))
        .filter(s -> s.isFile() && s.getPath().getName().startsWith("part-"))
        .min(Comparator.comparing(s -> s.getPath().getName()))
        .orElseThrow(() -> InputException.usage("--model " + dir + " is not a saved model (no "
            + "metadata file in " + metadata + ")"));
    try (InputStream in = fs.open(part.getPath())) {
      JsonNode node = JSON.readTree(in);
      JsonNode cls = node == null ? null : node.get("class");
      if (cls == null || !cls.isTextual()) {
        throw InputException.usage("--model " + dir + ": " + part.getPath()
            + " is not Spark ML metadata (no \"class\")");
      }
      return cls.asText();
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw InputException.usage("--model " + dir + ": " + part.getPath() + " is not JSON: "
          + e.getOriginalMessage());
    }
  }
}
