package io.normstats.examples;

import io.normstats.ml.BatchNorm;
import io.normstats.ml.BatchNormModel;
import io.normstats.ml.LayerNorm;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The Java example of the ML stages guide (docs/guides/ml-stages.md), verbatim between the markers;
 * GuideExampleTest runs it.
 */
public final class PipelineExample {
  private PipelineExample() {}

  /** Fits, transforms, saves and loads; returns the reloaded model's output. */
  public static Dataset<Row> run(SparkSession spark, String images, String modelDir)
      throws Exception {
    // README example begins
    Dataset<Row> df = spark.read().format("parquet").load(images); // a Vector column "image"

    Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {
        new BatchNorm()                       // exact dataset statistics, BatchNorm2d-style
            .setInputCol("image").setOutputCol("bn")
            .setNumChannels(1)                // 1 channel of 28x28 pixels
            .setEpsilon(1e-5),
        new LayerNorm()                       // per-row statistics
            .setInputCol("bn").setOutputCol("normalized")});

    PipelineModel model = pipeline.fit(df);
    BatchNormModel bn = (BatchNormModel) model.stages()[0];
    System.out.println("mean " + bn.mean() + ", variance " + bn.variance());

    model.write().overwrite().save(modelDir);
    PipelineModel loaded = PipelineModel.load(modelDir);
    Dataset<Row> out = loaded.transform(df);  // the same bits as model.transform(df)
    // README example ends
    return out;
  }
}
