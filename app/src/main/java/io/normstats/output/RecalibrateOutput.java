package io.normstats.output;

import com.fasterxml.jackson.core.JsonGenerator;
import io.normstats.exact.ExactMoments;
import io.normstats.io.SafeTensors;
import io.normstats.minibatch.EstimateErrors;
import io.normstats.minibatch.Spread;
import io.normstats.onnx.BatchNormFolding;
import io.normstats.onnx.BatchNormLayer;
import io.normstats.onnx.ElementType;
import io.normstats.onnx.EvaluationResult;
import io.normstats.onnx.LayerRecalibration;
import io.normstats.onnx.RecalibrationDescription;
import io.normstats.onnx.RecalibrationResult;
import java.io.IOException;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * Writes the recalibrate job's outputs.
 *
 * <ul>
 *   <li>{@code model.onnx}: the input model with every BatchNormalization's input_mean and
 *       input_var replaced by the exact statistics, in their stored element type (float32: the
 *       float nearest to the exact value); nothing else in the graph changes.</li>
 *   <li>{@code bn_stats.safetensors}: the same statistics as tensors named after the layers'
 *       initializers ({@code bn1.running_mean}, {@code bn1.running_var}, ...: for a PyTorch export,
 *       the state-dict keys), so {@code model.load_state_dict(safetensors.torch.load_file(path),
 *       strict=False)} takes them; dtype F32 or F64 as stored.</li>
 *   <li>{@code recalibrate.json}:
 * <pre>{@code
 * {"model", "input", "rows", "levels", "passes", "variance": "population"|"sample",
 *  "precise_bn_batch_size",
 *  "layers": [{"node", "input", "level", "channels", "count", "epsilon",
 *     "mean": [C], "var_pop": [C], "var_samp": [C], "stored_mean": [C], "stored_var": [C],
 *     "one_pass": {"mean": [C], "var": [C]}, "precise_bn": {"mean": [C], "var": [C]},
 *     "errors": {"stored"|"one_pass"|"precise_bn": {"mean_err_in_std": {"median", "p90", "max"},
 *                "var_rel_err": {...}, "kl": {...}}}}, ...],
 *  "evaluation": {"input", "labels", "output", "rows",
 *     "accuracy": {"stored", "recalibrated", "one_pass", "precise_bn"},
 *     "changed_predictions": {"recalibrated", "one_pass", "precise_bn"}}}
 * }</pre>
 *       Layers in topological order. mean, var_pop and var_samp are the exact statistics, each
 *       rounded once to double; count is the values per channel (rows times positions). The
 *       estimates (one_pass, precise_bn) are rounded to the stored element type, as a model would
 *       hold them; errors compare each estimate with the exact statistics in the written variance
 *       mode, per channel ({@link EstimateErrors}: |mean error| / std, |var error| / var, KL), and
 *       give their median, 90th percentile and maximum over channels. {@code evaluation} appears
 *       with an evaluation input: accuracy is the fraction of rows whose argmax of the output
 *       equals the label (only with labels), changed_predictions the fraction whose argmax differs
 *       from the stored model's. Doubles are written as the shortest decimal of each. Nothing
 *       in it depends on the partitioning, the inference batch size or the time taken: two runs
 *       over the same input and model write the same bytes.</li>
 * </ul>
 */
public final class RecalibrateOutput {
  private RecalibrateOutput() {}

  /**
   * Writes model.onnx (with model.onnx.data beside it for a model over 2 GB),
   * bn_stats.safetensors and recalibrate.json into {@code out}, and model_folded.onnx when
   * {@code folded} is not null.
   */
  public static void write(RecalibrationDescription run, RecalibrationResult r,
      EvaluationResult evaluation, BatchNormFolding.Folded folded, OutputDirectory out)
      throws IOException {
    if (r.recalibrated().external().isEmpty()) {
      try (OutputStream s = out.fileSystem().create(out.file("model.onnx"), false)) {
        s.write(r.recalibrated().toByteArray());
      }
    } else { // over 2 GB: its large tensors beside it, as ONNX's save_as_external_data writes them
      try (OutputStream s = out.fileSystem().create(out.file("model.onnx"), false);
          OutputStream d = out.fileSystem().create(out.file("model.onnx.data"), false)) {
        r.recalibrated().write(s, "model.onnx.data", d);
      }
    }
    if (folded != null) {
      try (OutputStream s = out.fileSystem().create(out.file("model_folded.onnx"), false)) {
        s.write(folded.model().toByteArray());
      }
    }
    try (OutputStream s = out.fileSystem().create(out.file("bn_stats.safetensors"), false)) {
      writeSafetensors(r, s);
    }
    try (OutputStream s = out.fileSystem().create(out.file("recalibrate.json"), false)) {
      writeJson(run, r, evaluation, folded, s);
    }
  }

  /** The written statistics as a state dict: {@code <mean initializer>}, {@code <var ...>}. */
  public static void writeSafetensors(RecalibrationResult r, OutputStream out)
      throws IOException {
    Map<String, SafeTensors.Tensor> tensors = new LinkedHashMap<>();
    for (LayerRecalibration l : r.layers()) {
      BatchNormLayer layer = l.layer();
      String dtype = layer.statsType().safetensorsDtype();
      long[] shape = {layer.channels()};
      tensors.put(layer.mean(), new SafeTensors.Tensor(dtype, shape, l.written()[0]));
      tensors.put(layer.variance(), new SafeTensors.Tensor(dtype, shape, l.written()[1]));
    }
    Map<String, String> metadata = new LinkedHashMap<>(); // in this order: the bytes are compared
    metadata.put("format", "pt");
    metadata.put("producer", "normstats recalibrate");
    SafeTensors.write(out, tensors, metadata);
  }

  static double[] values(ExactMoments[] m, ToDoubleFunction<ExactMoments> f) {
    double[] out = new double[m.length];
    for (int j = 0; j < m.length; j++) {
      out[j] = f.applyAsDouble(m[j]);
    }
    return out;
  }

  /** Writes recalibrate.json. */
  public static void writeJson(RecalibrationDescription run, RecalibrationResult r,
      EvaluationResult evaluation, BatchNormFolding.Folded folded, OutputStream stream)
      throws IOException {
    try (JsonGenerator g = JsonFiles.generator(stream)) {
      writeObject(g, run, r, evaluation, folded);
      g.writeRaw('\n');
    }
  }

  /** Writes the recalibrate.json object to {@code g} (the report embeds it). */
  static void writeObject(JsonGenerator g, RecalibrationDescription run,
      RecalibrationResult r, EvaluationResult evaluation) throws IOException {
    writeObject(g, run, r, evaluation, null);
  }

  static void writeObject(JsonGenerator g, RecalibrationDescription run,
      RecalibrationResult r, EvaluationResult evaluation,
      BatchNormFolding.Folded folded) throws IOException {
    boolean sample = run.sampleVariance();
    g.writeStartObject();
    g.writeStringField("model", run.model());
    g.writeStringField("input", run.input());
    g.writeNumberField("rows", r.rows());
    g.writeNumberField("input_rows", r.inputRows());
    if (run.seed() != null) {
      g.writeNumberField("seed", run.seed());
    }
    g.writeNumberField("levels", r.levels());
    g.writeNumberField("passes", r.passes());
    g.writeStringField("variance", run.variance());
    g.writeNumberField("precise_bn_batch_size", run.preciseBnBatchSize());
    g.writeArrayFieldStart("approximations");
    for (String a : run.approximations()) {
      g.writeString(a);
    }
    g.writeEndArray();
    if (!run.layers().isEmpty()) {
      g.writeArrayFieldStart("layers_selected");
      for (String glob : run.layers()) {
        g.writeString(glob);
      }
      g.writeEndArray();
    }
    g.writeNumberField("prior_weight", run.priorWeight());
    g.writeArrayFieldStart("layers");
    for (LayerRecalibration l : r.layers()) {
      writeLayer(g, l, sample);
    }
    g.writeEndArray();
    if (evaluation != null) {
      writeEvaluation(g, run, evaluation);
    }
    if (folded != null) {
      g.writeObjectFieldStart("fold");
      g.writeStringField("model", "model_folded.onnx");
      g.writeNumberField("folded", r.layers().size() - folded.unfolded().size());
      g.writeArrayFieldStart("unfolded");
      for (BatchNormFolding.Unfolded u : folded.unfolded()) {
        g.writeStartObject();
        g.writeStringField("node", u.node());
        g.writeStringField("reason", u.reason());
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
    }
    g.writeEndObject();
  }

  private static void writeLayer(JsonGenerator g, LayerRecalibration l, boolean sample)
      throws IOException {
    BatchNormLayer layer = l.layer();
    g.writeStartObject();
    g.writeStringField("node", layer.node());
    g.writeStringField("input", layer.input());
    g.writeNumberField("level", layer.level());
    g.writeNumberField("channels", layer.channels());
    g.writeNumberField("count", l.exact()[0].count());
    g.writeNumberField("epsilon", layer.epsilon());
    array(g, "mean", values(l.exact(), ExactMoments::mean));
    array(g, "var_pop", values(l.exact(), ExactMoments::varPop));
    array(g, "var_samp", values(l.exact(), ExactMoments::varSamp));
    array(g, "stored_mean", layer.storedMean());
    array(g, "stored_var", layer.storedVariance());
    array(g, "written_mean", l.written()[0]);
    array(g, "written_var", l.written()[1]);
    for (String name : List.of("one_pass", "precise_bn")) {
      ExactMoments[] m = name.equals("one_pass") ? l.onePass() : l.preciseBn();
      if (m != null) {
        double[][] rounded = layer.round(m, sample);
        g.writeObjectFieldStart(name);
        array(g, "mean", rounded[0]);
        array(g, "var", rounded[1]);
        g.writeEndObject();
      }
    }
    g.writeObjectFieldStart("errors");
    for (Map.Entry<String, EstimateErrors> e : l.errors(sample).entrySet()) {
      g.writeObjectFieldStart(e.getKey());
      spread(g, "mean_err_in_std", e.getValue().meanErrInStd());
      spread(g, "var_rel_err", e.getValue().varRelErr());
      spread(g, "kl", e.getValue().kl());
      g.writeEndObject();
    }
    g.writeEndObject();
    g.writeEndObject();
  }

  private static void writeEvaluation(JsonGenerator g, RecalibrationDescription run,
      EvaluationResult e) throws IOException {
    g.writeObjectFieldStart("evaluation");
    g.writeStringField("input", run.evalInput());
    if (run.labels() == null) {
      g.writeNullField("labels");
    } else {
      g.writeStringField("labels", run.labels());
    }
    g.writeStringField("output", run.evalOutput());
    g.writeNumberField("rows", e.rows());
    if (e.correct() != null) {
      g.writeObjectFieldStart("accuracy");
      for (int v = 0; v < e.versions().size(); v++) {
        g.writeNumberField(e.versions().get(v), e.accuracy(v));
      }
      g.writeEndObject();
    }
    g.writeObjectFieldStart("changed_predictions");
    for (int v = 1; v < e.versions().size(); v++) {
      g.writeNumberField(e.versions().get(v), e.changedFraction(v));
    }
    g.writeEndObject();
    g.writeEndObject();
  }

  private static void array(JsonGenerator g, String field, double[] values) throws IOException {
    g.writeArrayFieldStart(field);
    for (double v : values) {
      if (Double.isNaN(v)) {
        g.writeNull();
      } else {
        g.writeNumber(v);
      }
    }
    g.writeEndArray();
  }

  private static void spread(JsonGenerator g, String field, Spread s) throws IOException {
    g.writeObjectFieldStart(field);
    StatsOutput.number(g, "median", s.median());
    StatsOutput.number(g, "p90", s.p90());
    StatsOutput.number(g, "max", s.max());
    g.writeEndObject();
  }
}
