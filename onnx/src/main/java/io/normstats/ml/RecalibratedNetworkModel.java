package io.normstats.ml;

import io.normstats.ml.param.HasInputCol;
import io.normstats.ml.param.HasOutputCol;
import io.normstats.ml.param.StageParams;
import io.normstats.onnx.OnnxModel;
import io.normstats.onnx.spark.NetworkTransform;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWriter;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * A trained ONNX network whose BatchNormalization layers hold exact recalibrated statistics
 * (fitted by {@link BatchNormRecalibration}); {@link #transform} runs it on inputCol and writes one
 * of its outputs (outputName, default the first), flattened per row, as a dense Vector column:
 * for the sample CNN, 10 logits per image. Rows run in batches of batchSize on the executors; a
 * row's output does not depend on its batch or partition.
 *
 * <p>{@link #onnxModel()} gives the network's bytes (an .onnx file), {@link #layers()} the exact
 * statistics of every layer. Persistence: params as JSON metadata, the network as
 * {@code path/data/model.onnx} and the layers as a Parquet table under {@code path/data/layers}
 * (index, node, input, level, count, mean, var_pop, var_samp; Vectors of C values), also inside a
 * saved PipelineModel.
 */
public final class RecalibratedNetworkModel extends Model<RecalibratedNetworkModel>
    implements HasInputCol<RecalibratedNetworkModel>, HasOutputCol<RecalibratedNetworkModel>,
        NetworkParams<RecalibratedNetworkModel>, MLWritable {
  private static final long serialVersionUID = 1L;

  static final StructType LAYERS_SCHEMA = new StructType()
      .add("index", DataTypes.IntegerType, false)
      .add("node", DataTypes.StringType, false)
      .add("input", DataTypes.StringType, false)
      .add("level", DataTypes.IntegerType, false)
      .add("count", DataTypes.LongType, false)
      .add("mean", SQLDataTypes.VectorType(), false)
      .add("var_pop", SQLDataTypes.VectorType(), false)
      .add("var_samp", SQLDataTypes.VectorType(), false);

  /**
   * The exact statistics of one BatchNormalization layer's input, each correctly rounded to
   * double (the network holds them rounded to its stored type).
   *
   * @param node the layer's node name
   * @param input the tensor it normalizes
   * @param level its level (0: no BatchNormalization upstream)
   * @param count the values per channel: rows times spatial positions
   * @param mean per channel, {@code [C]}
   * @param varPop the population variance per channel, {@code [C]}
   * @param varSamp the sample variance per channel, {@code [C]}
   */
  public record Layer(String node, String input, int level, long count, double[] mean,
      double[] varPop, double[] varSamp) implements java.io.Serializable {}

  private final String uid;
  private final byte[] onnx;
  private final List<Layer> layers;
  private final StageParams params;

  /**
   * A model of the given network.
   *
   * @param onnx the serialized ONNX network
   * @param layers its layers' statistics, in topological order
   * @throws io.normstats.InputException (data) if the bytes are not an ONNX model
   */
  public RecalibratedNetworkModel(String uid, byte[] onnx, List<Layer> layers) {
    this.uid = uid;
    OnnxModel.parse(onnx, "the network of " + uid);
    this.onnx = onnx.clone();
    this.layers = List.copyOf(layers);
    this.params = new StageParams(this);
    NetworkParams.initialize(this);
  }

  /**
   * A model without a network, which cannot transform: the constructor Spark Connect's
   * ServiceLoader registry of Transformers needs (models come from
   * {@link BatchNormRecalibration#fit} or {@link #load}).
   */
  public RecalibratedNetworkModel(String uid) {
    this.uid = uid;
    this.onnx = null;
    this.layers = List.of();
    this.params = new StageParams(this);
    NetworkParams.initialize(this);
  }

  /** A model without a network, for ServiceLoader (see {@link #RecalibratedNetworkModel(String)}). */
  public RecalibratedNetworkModel() {
    this(Identifiable.randomUID("recalibratedNetworkModel"));
  }

  /** @throws IllegalStateException for a model without a network */
  private void requireNetwork() {
    if (onnx == null) {
      throw new IllegalStateException("RecalibratedNetworkModel " + uid + " has no network: fit "
          + "a BatchNormRecalibration or load a saved model");
    }
  }

  @Override
  public String uid() {
    return uid;
  }

  @Override
  public StageParams stageParams() {
    return params;
  }

  /** The network with the recalibrated statistics, as .onnx bytes (a copy). */
  public byte[] onnxModel() {
    requireNetwork();
    return onnx.clone();
  }

  /** Every layer's statistics, in topological order. */
  public List<Layer> layers() {
    return layers;
  }

  @Override
  public StructType transformSchema(StructType schema) {
    requireNetwork();
    VectorColumns.field(schema, getInputCol());
    return NetworkTransform.schema(schema, getOutputCol());
  }

  /**
   * Runs the network on every row and adds its output.
   *
   * @throws IllegalArgumentException if inputCol is missing or not a vector column, its vectors
   *     do not fit the network's input, or outputName is not an output of the network
   */
  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    transformSchema(dataset.schema());
    return NetworkTransform.transform(dataset, OnnxModel.parse(onnx, "the network of " + uid),
        getInputCol(), getOutputCol(), getInputName(), getOutputName(), getBatchSize());
  }

  @Override
  public RecalibratedNetworkModel copy(ParamMap extra) {
    RecalibratedNetworkModel copy = copyValues(onnx == null ? new RecalibratedNetworkModel(uid)
        : new RecalibratedNetworkModel(uid, onnx, layers), extra);
    return copy.setParent(parent());
  }

  @Override
  public MLWriter write() {
    requireNetwork();
    return new Writer(this);
  }

  /** The reader for saved models (Pipeline persistence finds it by reflection). */
  public static MLReader<RecalibratedNetworkModel> read() {
    return new Reader();
  }

  /** Loads a model saved with {@code write().save(path)}. */
  public static RecalibratedNetworkModel load(String path) {
    return read().load(path);
  }

  private static final class Writer extends MLWriter {
    private final RecalibratedNetworkModel model;

    Writer(RecalibratedNetworkModel model) {
      this.model = model;
    }

    @Override
    public void saveImpl(String path) {
      DefaultParamsWriter.saveMetadata(model, path, sparkSession());
      Path file = new Path(new Path(path, "data"), "model.onnx");
      try {
        FileSystem fs = file.getFileSystem(sparkSession().sparkContext().hadoopConfiguration());
        try (OutputStream out = fs.create(file, true)) {
          out.write(model.onnx);
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write " + file, e);
      }
      List<Row> rows = new ArrayList<>();
      for (int k = 0; k < model.layers.size(); k++) {
        Layer l = model.layers.get(k);
        rows.add(RowFactory.create(k, l.node(), l.input(), l.level(), l.count(),
            Vectors.dense(l.mean()), Vectors.dense(l.varPop()), Vectors.dense(l.varSamp())));
      }
      sparkSession().createDataFrame(rows, LAYERS_SCHEMA).repartition(1).write()
          .parquet(new Path(new Path(path, "data"), "layers").toString());
    }
  }

  private static final class Reader extends MLReader<RecalibratedNetworkModel> {
    @Override
    public RecalibratedNetworkModel load(String path) {
      BatchNormModel.checkSavedStage(sparkSession(), path);
      DefaultParamsReader.Metadata metadata = DefaultParamsReader.loadMetadata(path,
          sparkSession(), RecalibratedNetworkModel.class.getName());
      Path file = new Path(new Path(path, "data"), "model.onnx");
      byte[] bytes;
      try {
        FileSystem fs = file.getFileSystem(sparkSession().sparkContext().hadoopConfiguration());
        try (InputStream in = fs.open(file)) {
          bytes = in.readAllBytes();
        }
      } catch (IOException e) {
        throw new IllegalArgumentException(path + " does not hold a network (" + file
            + " cannot be read: " + e.getMessage() + ")", e);
      }
      List<Layer> layers = new ArrayList<>();
      for (Row r : sparkSession().read().parquet(new Path(new Path(path, "data"), "layers")
          .toString()).orderBy("index").collectAsList()) {
        layers.add(new Layer(r.getString(1), r.getString(2), r.getInt(3), r.getLong(4),
            ((Vector) r.get(5)).toArray(), ((Vector) r.get(6)).toArray(),
            ((Vector) r.get(7)).toArray()));
      }
      RecalibratedNetworkModel model = new RecalibratedNetworkModel(metadata.uid(), bytes,
          layers);
      metadata.getAndSetParams(model, scala.Option.empty());
      return model;
    }
  }
}
