package io.normstats.ml;

import io.normstats.io.SafeTensors;
import io.normstats.io.SafeTensors.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.ml.linalg.Vectors;

/**
 * BatchNorm statistics and affine parameters as a PyTorch {@code BatchNorm1d/2d} state dict in
 * safetensors: tensors {@code running_mean}, {@code running_var}, {@code weight}, {@code bias}
 * (shape [C], F32 or F64) and {@code num_batches_tracked} (I64 scalar, 0), so that
 * {@code bn.load_state_dict(safetensors.torch.load_file(path))} puts the exact statistics into a
 * PyTorch layer, and trained gamma/beta can come back. PyTorch normalizes in eval mode with
 * {@code running_var} as given, so the model's variance (population by default) is written as is.
 */
public final class BatchNormSafetensors {
  private BatchNormSafetensors() {}

  /**
   * Writes {@code model} as a BatchNorm state dict.
   *
   * @param dtype "F32" (PyTorch's default float32; values rounded to nearest) or "F64"
   * @param prefix prepended to each tensor name, e.g. {@code "bn1."}; may be empty
   * @throws IllegalArgumentException for another dtype
   */
  public static void write(BatchNormModel model, OutputStream out, String dtype, String prefix)
      throws IOException {
    if (!dtype.equals("F32") && !dtype.equals("F64")) {
      throw new IllegalArgumentException("safetensors dtype must be F32 or F64: " + dtype);
    }
    int c = model.mean().size();
    long[] shape = {c};
    double[] ones = new double[c];
    Arrays.fill(ones, 1);
    double[] weight = model.isDefined(model.weight()) ? model.getOrDefault(model.weight()).toArray()
        : ones;
    double[] bias = model.isDefined(model.bias()) ? model.getOrDefault(model.bias()).toArray()
        : new double[c];
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    tensors.put(prefix + "running_mean", new Tensor(dtype, shape, model.mean().toArray()));
    tensors.put(prefix + "running_var", new Tensor(dtype, shape, model.variance().toArray()));
    tensors.put(prefix + "weight", new Tensor(dtype, shape, weight));
    tensors.put(prefix + "bias", new Tensor(dtype, shape, bias));
    tensors.put(prefix + "num_batches_tracked", new Tensor("I64", new long[0], new double[] {0}));
    Map<String, String> metadata = new LinkedHashMap<>();
    metadata.put("format", "pt");
    metadata.put("producer", "normstats");
    metadata.put("epsilon", Double.toString((Double) model.getOrDefault(model.epsilon())));
    metadata.put("variance_mode", model.getOrDefault(model.varianceMode()));
    SafeTensors.write(out, tensors, metadata);
  }

  /**
   * Reads a BatchNorm state dict: {@code running_mean} and {@code running_var} become the model's
   * statistics, {@code weight} and {@code bias}, when present, its gamma and beta.
   *
   * @param what the file's name, for messages
   * @param prefix the tensor names' prefix, e.g. {@code "bn1."}; may be empty
   * @throws IOException naming the file if it is not safetensors, lacks running_mean or
   *     running_var, or a tensor is not one-dimensional of the same length
   */
  public static BatchNormModel read(InputStream in, String what, String prefix) throws IOException {
    Map<String, Tensor> tensors = SafeTensors.read(in, what);
    Tensor mean = required(tensors, prefix + "running_mean", what);
    Tensor var = required(tensors, prefix + "running_var", what);
    int c = mean.values().length;
    BatchNormModel model;
    try {
      model = new BatchNormModel(Vectors.dense(checkShape(mean, c, prefix + "running_mean", what)),
          Vectors.dense(checkShape(var, c, prefix + "running_var", what)));
    } catch (IllegalArgumentException e) {
      throw new IOException(what + ": " + e.getMessage(), e);
    }
    Tensor weight = tensors.get(prefix + "weight");
    if (weight != null) {
      model.setWeight(Vectors.dense(checkShape(weight, c, prefix + "weight", what)));
    }
    Tensor bias = tensors.get(prefix + "bias");
    if (bias != null) {
      model.setBias(Vectors.dense(checkShape(bias, c, prefix + "bias", what)));
    }
    return model;
  }

  private static Tensor required(Map<String, Tensor> tensors, String name, String what)
      throws IOException {
    Tensor t = tensors.get(name);
    if (t == null) {
      throw new IOException(what + " has no tensor '" + name + "' (it has " + tensors.keySet()
          + ")");
    }
    return t;
  }

  private static double[] checkShape(Tensor t, int c, String name, String what)
      throws IOException {
    if (t.shape().length != 1 || t.shape()[0] != c || t.dtype().equals("I64")) {
      throw new IOException(what + ": tensor '" + name + "' is " + t.dtype() + " of shape "
          + Arrays.toString(t.shape()) + ", expected a float tensor of shape [" + c + "]");
    }
    return t.values();
  }
}
