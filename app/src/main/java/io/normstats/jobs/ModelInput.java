package io.normstats.jobs;

import io.normstats.spark.FeatureSelection;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * The vector column the normalization stages of the fit and normalize jobs read: the chosen vector
 * column, or the chosen scalar columns assembled into one by a VectorAssembler (which then becomes
 * the first stage of the saved PipelineModel, so the model takes the same input).
 *
 * @param column the vector column the normalization reads
 * @param assembler the VectorAssembler stage, or null for a vector column
 */
record ModelInput(String column, VectorAssembler assembler) {

  /** The column name an assembler writes when the input has no column of that name. */
  static final String ASSEMBLED = "features";

  static ModelInput of(Dataset<Row> df, FeatureSelection selection) {
    if (selection.kind() != FeatureSelection.Kind.SCALARS) {
      return new ModelInput(selection.columns().get(0), null);
    }
    List<String> names = Arrays.asList(df.columns());
    String column = names.contains(ASSEMBLED) ? "_normstats_features" : ASSEMBLED;
    VectorAssembler assembler = new VectorAssembler()
        .setInputCols(selection.columns().toArray(new String[0])).setOutputCol(column)
        .setHandleInvalid("keep"); // nulls become NaN, handled by the normalization's handleInvalid
    return new ModelInput(column, assembler);
  }

  /** The pipeline's stages: the assembler, if any, then {@code stage}. */
  PipelineStage[] stages(PipelineStage stage) {
    return assembler == null ? new PipelineStage[] {stage} : new PipelineStage[] {assembler, stage};
  }
}
