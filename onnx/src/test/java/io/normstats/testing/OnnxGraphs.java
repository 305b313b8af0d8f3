package io.normstats.testing;

import com.google.protobuf.ByteString;
import io.normstats.onnx.proto.OnnxProto.AttributeProto;
import io.normstats.onnx.proto.OnnxProto.GraphProto;
import io.normstats.onnx.proto.OnnxProto.ModelProto;
import io.normstats.onnx.proto.OnnxProto.NodeProto;
import io.normstats.onnx.proto.OnnxProto.OperatorSetIdProto;
import io.normstats.onnx.proto.OnnxProto.TensorProto;
import io.normstats.onnx.proto.OnnxProto.TensorShapeProto;
import io.normstats.onnx.proto.OnnxProto.TypeProto;
import io.normstats.onnx.proto.OnnxProto.ValueInfoProto;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * ONNX graphs built in the tests with the protobuf classes, and the sample model's path.
 *
 * <p>{@link #residualMlp}: Gemm-BN1d-Relu-Gemm-BN1d-Relu, then a residual block whose two branches
 * (Gemm-BN1d-Relu and Gemm-BN1d) are added and normalized again, then a Gemm to 3 logits: levels
 * 0, 1, 2, 2 (the two branches share a level) and 3.
 */
public final class OnnxGraphs {
  private OnnxGraphs() {}

  /** The sample CNN (Conv-BN2d x 2, Gemm-BN1d): input "image" [N, 1, 28, 28], output "logits". */
  public static Path sampleModel() {
    return Path.of("sample-data/fashion-mnist-cnn/model.onnx").toAbsolutePath();
  }

  /** The sample model's bytes. */
  public static byte[] sampleModelBytes() {
    try {
      return Files.readAllBytes(sampleModel());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The residual MLP over input "x" [N, features] with output "logits" [N, 3], as bytes. */
  public static byte[] residualMlp(int features, long seed) {
    return residualMlpGraph(features, seed, 17).toByteArray();
  }

  /** The residual MLP as a ModelProto for the given opset. */
  public static ModelProto residualMlpGraph(int features, long seed, int opset) {
    SplittableRandom rnd = new SplittableRandom(seed);
    int h = 6;
    GraphProto.Builder g = GraphProto.newBuilder().setName("residual_mlp");
    g.addInput(input("x", TensorProto.DataType.FLOAT_VALUE, -1, features));
    gemm(g, rnd, "fc1", "x", features, h, "fc1_out");
    batchNorm(g, rnd, "bn_a", "fc1_out", h, "bn_a_out");
    g.addNode(node("Relu", "relu_a", "r1", "bn_a_out"));
    gemm(g, rnd, "fc2", "r1", h, h, "fc2_out");
    batchNorm(g, rnd, "bn_b", "fc2_out", h, "bn_b_out");
    g.addNode(node("Relu", "relu_b", "r2", "bn_b_out"));
    gemm(g, rnd, "branch1", "r2", h, h, "branch1_out");
    batchNorm(g, rnd, "bn_c", "branch1_out", h, "bn_c_out");
    g.addNode(node("Relu", "relu_c", "r3", "bn_c_out"));
    gemm(g, rnd, "branch2", "r2", h, h, "branch2_out");
    batchNorm(g, rnd, "bn_d", "branch2_out", h, "bn_d_out");
    g.addNode(node("Add", "join", "sum", "r3", "bn_d_out"));
    batchNorm(g, rnd, "bn_e", "sum", h, "bn_e_out");
    gemm(g, rnd, "head", "bn_e_out", h, 3, "logits");
    g.addOutput(ValueInfoProto.newBuilder().setName("logits").setType(tensorType(
        TensorProto.DataType.FLOAT_VALUE, -1, 3)));
    return model(g, opset);
  }

  /** A model of the graph {@code g} with the default opset {@code opset}. */
  public static ModelProto model(GraphProto.Builder g, int opset) {
    return ModelProto.newBuilder().setIrVersion(8).setProducerName("normstats-test")
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
        .setGraph(g).build();
  }

  /** Adds {@code out = in * W^T + b} with W [outDim, inDim] and b [outDim] random. */
  public static void gemm(GraphProto.Builder g, SplittableRandom rnd, String name, String in,
      int inDim, int outDim, String out) {
    g.addInitializer(floats(name + ".weight", random(rnd, outDim * inDim, 1.0 / Math.sqrt(inDim)),
        outDim, inDim));
    g.addInitializer(floats(name + ".bias", random(rnd, outDim, 0.5), outDim));
    g.addNode(node("Gemm", name, out, in, name + ".weight", name + ".bias").toBuilder()
        .addAttribute(AttributeProto.newBuilder().setName("transB").setI(1)
            .setType(AttributeProto.AttributeType.INT)).build());
  }

  /** Adds an inference-mode BatchNormalization with random stored statistics and affine. */
  public static void batchNorm(GraphProto.Builder g, SplittableRandom rnd, String name, String in,
      int channels, String out) {
    double[] scale = new double[channels];
    double[] bias = new double[channels];
    double[] mean = new double[channels];
    double[] var = new double[channels];
    for (int c = 0; c < channels; c++) {
      scale[c] = (float) (0.5 + rnd.nextDouble());
      bias[c] = (float) rnd.nextDouble(-0.5, 0.5);
      mean[c] = (float) rnd.nextDouble(-1, 1);
      var[c] = (float) (0.2 + rnd.nextDouble());
    }
    g.addInitializer(floats(name + ".weight", scale, channels));
    g.addInitializer(floats(name + ".bias", bias, channels));
    g.addInitializer(floats(name + ".running_mean", mean, channels));
    g.addInitializer(floats(name + ".running_var", var, channels));
    g.addNode(node("BatchNormalization", name, out, in, name + ".weight", name + ".bias",
        name + ".running_mean", name + ".running_var").toBuilder()
        .addAttribute(AttributeProto.newBuilder().setName("epsilon").setF(1e-5f)
            .setType(AttributeProto.AttributeType.FLOAT)).build());
  }

  /** A node with one output. */
  public static NodeProto node(String op, String name, String out, String... in) {
    NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(name).addOutput(out);
    for (String i : in) {
      n.addInput(i);
    }
    return n.build();
  }

  /** A graph input of the given element type and dims (-1 open, as "N"). */
  public static ValueInfoProto input(String name, int elemType, long... dims) {
    return ValueInfoProto.newBuilder().setName(name).setType(tensorType(elemType, dims)).build();
  }

  /** A tensor type of the given dims (-1 open). */
  public static TypeProto tensorType(int elemType, long... dims) {
    TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
    for (long d : dims) {
      s.addDim(d < 0 ? TensorShapeProto.Dimension.newBuilder().setDimParam("N")
          : TensorShapeProto.Dimension.newBuilder().setDimValue(d));
    }
    return TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
        .setElemType(elemType).setShape(s)).build();
  }

  /** A float initializer (raw little-endian data). */
  public static TensorProto floats(String name, double[] values, long... dims) {
    ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    for (double v : values) {
      b.putFloat((float) v);
    }
    b.flip();
    TensorProto.Builder t = TensorProto.newBuilder().setName(name)
        .setDataType(TensorProto.DataType.FLOAT_VALUE).setRawData(ByteString.copyFrom(b));
    for (long d : dims) {
      t.addDims(d);
    }
    return t.build();
  }

  private static double[] random(SplittableRandom rnd, int n, double scale) {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (scale * rnd.nextDouble(-1.5, 1.5));
    }
    return v;
  }
}
