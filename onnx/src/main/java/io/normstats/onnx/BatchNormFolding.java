package io.normstats.onnx;

import io.normstats.InputException;
import io.normstats.onnx.proto.OnnxProto.AttributeProto;
import io.normstats.onnx.proto.OnnxProto.GraphProto;
import io.normstats.onnx.proto.OnnxProto.NodeProto;
import io.normstats.onnx.proto.OnnxProto.TensorProto;
import io.normstats.onnx.proto.OnnxProto.ValueInfoProto;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Folds inference-mode BatchNormalizations into the Conv, ConvTranspose or Gemm before them, as
 * deployment tools do after re-estimating the statistics (AIMET's
 * {@code fold_all_batch_norms_to_scale}, ONNX Runtime's ConvBNFusion, PyTorch's
 * {@code torch.nn.utils.fusion.fuse_conv_bn_weights}). With s = scale / sqrt(var + epsilon) per
 * output channel c: W'[c] = W[c] * s[c] and b'[c] = (b[c] - mean[c]) * s[c] + B[c] (for Gemm, the
 * bias is beta * C, and beta becomes 1). Computed in double from the stored values, then rounded
 * once to the weights' element type.
 *
 * <p>A BatchNormalization stays, with the reason, when its input is not the output of a Conv,
 * ConvTranspose or Gemm of the default domain, when something else reads that output or it is a
 * graph output, when the weights are not float or double initializers, when the bias is neither
 * an initializer nor computed from initializers alone ({@link ConstantTensors}: PyTorch's default
 * exporter computes a zero bias at run time), or (Gemm) when C is not a vector of the output
 * width. Weights and biases get initializers of their own (new
 * names), so nothing else that read them changes.
 */
public final class BatchNormFolding {
  private BatchNormFolding() {}

  /** A BatchNormalization left in the graph, and why. */
  public record Unfolded(String node, String reason) {}

  /** The folded model and the BatchNormalizations that stayed. */
  public record Folded(OnnxModel model, List<Unfolded> unfolded) {}

  /**
   * Folds the given BatchNormalizations of {@code model}, each with the statistics it stores.
   *
   * @param nodes the layers' node names ({@link BatchNormLayer#node()})
   * @throws InputException (usage) for a model over 2 GB ({@link OnnxModel#external()}), whose
   *     folded weights one protobuf would not hold
   */
  public static Folded fold(OnnxModel model, Collection<String> nodes) {
    if (!model.external().isEmpty()) {
      throw InputException.usage(model.what() + " is over 2 GB with its data, and normstats "
          + "folds models up to 2 GB");
    }
    GraphProto g = model.proto().getGraph();
    Map<String, TensorProto> initializers = Graphs.initializerMap(g);
    Map<String, Integer> uses = new HashMap<>();
    for (NodeProto n : g.getNodeList()) {
      Graphs.inputsOf(n).forEach(in -> uses.merge(in, 1, Integer::sum));
    }
    Set<String> outputs = new HashSet<>();
    g.getOutputList().forEach(v -> outputs.add(v.getName()));
    Map<String, Integer> producer = new HashMap<>();
    for (int i = 0; i < g.getNodeCount(); i++) {
      for (String o : g.getNode(i).getOutputList()) {
        producer.put(o, i);
      }
    }
    Set<String> names = new HashSet<>(initializers.keySet());
    g.getNodeList().forEach(n -> names.addAll(n.getOutputList()));
    g.getInputList().forEach(v -> names.add(v.getName()));

    List<NodeProto.Builder> nodeList = new ArrayList<>();
    g.getNodeList().forEach(n -> nodeList.add(n.toBuilder()));
    Set<Integer> removed = new HashSet<>();
    List<TensorProto> added = new ArrayList<>();
    List<Unfolded> unfolded = new ArrayList<>();
    Map<String, BatchNormLayer> layers = new HashMap<>();
    model.batchNorms().forEach(l -> layers.put(l.node(), l));
    for (String node : nodes) {
      BatchNormLayer bn = layers.get(node);
      if (bn == null) {
        throw new IllegalArgumentException("no BatchNormalization " + node + " in "
            + model.what());
      }
      String reason = foldOne(model, bn, nodeList, producer, uses, outputs, initializers, names, removed,
          added);
      if (reason != null) {
        unfolded.add(new Unfolded(node, reason));
      }
    }
    GraphProto.Builder b = g.toBuilder().clearNode();
    for (int i = 0; i < nodeList.size(); i++) {
      if (!removed.contains(i)) {
        b.addNode(nodeList.get(i));
      }
    }
    // the BatchNorms' parameters are read by nothing now: drop them with their value infos
    Set<String> read = new HashSet<>();
    for (NodeProto.Builder n : nodeList) {
      if (!removed.contains(nodeList.indexOf(n))) {
        read.addAll(Graphs.inputsOf(n.build()));
      }
    }
    b.clearInitializer();
    for (TensorProto t : g.getInitializerList()) {
      if (read.contains(t.getName()) || outputs.contains(t.getName())) {
        b.addInitializer(t);
      }
    }
    added.forEach(b::addInitializer);
    List<ValueInfoProto> infos = new ArrayList<>(b.getValueInfoList());
    b.clearValueInfo();
    Set<String> produced = new HashSet<>();
    b.getNodeList().forEach(n -> produced.addAll(n.getOutputList()));
    for (ValueInfoProto v : infos) {
      if (produced.contains(v.getName()) || read.contains(v.getName())) {
        b.addValueInfo(v);
      }
    }
    Set<String> keptInits = new HashSet<>();
    b.getInitializerList().forEach(t -> keptInits.add(t.getName()));
    List<ValueInfoProto> inputs = new ArrayList<>(b.getInputList());
    b.clearInput();
    for (ValueInfoProto v : inputs) {
      if (!initializers.containsKey(v.getName()) || keptInits.contains(v.getName())) {
        b.addInput(v);
      }
    }
    return new Folded(model.edited(model.proto().toBuilder().setGraph(b).build()),
        List.copyOf(unfolded));
  }

  private static String foldOne(OnnxModel model, BatchNormLayer bn, List<NodeProto.Builder> nodes,
      Map<String, Integer> producer, Map<String, Integer> uses, Set<String> outputs,
      Map<String, TensorProto> initializers, Set<String> names, Set<Integer> removed,
      List<TensorProto> added) {
    Integer at = producer.get(bn.input());
    if (at == null) {
      return "its input is not computed by a node";
    }
    NodeProto.Builder p = nodes.get(at);
    String op = p.getOpType();
    boolean domain = p.getDomain().isEmpty() || p.getDomain().equals("ai.onnx");
    if (!domain || !(op.equals("Conv") || op.equals("ConvTranspose") || op.equals("Gemm"))) {
      return "its input comes from " + op + ", not Conv, ConvTranspose or Gemm";
    }
    if (uses.getOrDefault(bn.input(), 0) != 1 || outputs.contains(bn.input())) {
      return "the output of " + op + " " + label(p) + " is read by other nodes too";
    }
    TensorProto w = p.getInputCount() > 1 ? initializers.get(p.getInput(1)) : null;
    if (w == null || ElementType.of(w.getDataType()) == null) {
      return "the weights of " + op + " " + label(p) + " are not float or double initializers";
    }
    ElementType type = ElementType.of(w.getDataType());
    String biasName = p.getInputCount() > 2 && !p.getInput(2).isEmpty() ? p.getInput(2) : null;
    TensorProto bias = biasName == null ? null : initializers.get(biasName);
    double[] biasValues = null;
    if (bias != null && ElementType.of(bias.getDataType()) != null) {
      biasValues = Tensors.values(bias);
    } else if (biasName != null) {
      // computed from initializers alone (PyTorch's default exporter: a zero bias Expanded)
      biasValues = ConstantTensors.evaluate(model, biasName).orElse(null);
      if (biasValues == null) {
        return "the bias of " + op + " " + label(p) + " is computed from the data, or is not "
            + "float or double";
      }
    }
    int c = bn.channels();
    double[] s = new double[c];
    double[] shift = new double[c];
    for (int k = 0; k < c; k++) {
      s[k] = bn.scaleValues()[k] / Math.sqrt(bn.storedVariance()[k] + bn.epsilon());
      shift[k] = bn.biasValues()[k] - bn.storedMean()[k] * s[k];
    }
    double[] weights = Tensors.values(w);
    List<Long> dims = w.getDimsList();
    double[] b = new double[c];
    if (op.equals("Gemm")) {
      boolean transB = attribute(p, "transB", 0) != 0;
      double beta = attributeF(p, "beta", 1.0);
      if (dims.size() != 2 || dims.get(transB ? 0 : 1) != c) {
        return "Gemm " + label(p) + " has " + dims + " weights for " + c + " channels";
      }
      if (biasValues != null) {
        double[] cv = biasValues;
        if (cv.length != c && cv.length != 1) {
          return "the C of Gemm " + label(p) + " is not a vector of its " + c + " outputs";
        }
        for (int k = 0; k < c; k++) {
          b[k] = beta * cv[cv.length == 1 ? 0 : k];
        }
      }
      long rows = dims.get(0);
      long cols = dims.get(1);
      for (int i = 0; i < rows; i++) {
        for (int j = 0; j < cols; j++) {
          int out = transB ? i : j;
          weights[(int) (i * cols + j)] *= s[out];
        }
      }
    } else {
      long group = attribute(p, "group", 1);
      boolean transpose = op.equals("ConvTranspose");
      long per = 1;
      for (int d = 2; d < dims.size(); d++) {
        per *= dims.get(d);
      }
      long d0 = dims.get(0);
      long d1 = dims.get(1);
      long outChannels = transpose ? d1 * group : d0;
      if (dims.size() < 3 || outChannels != c) {
        return op + " " + label(p) + " has " + dims + " weights for " + c + " channels";
      }
      for (long i = 0; i < d0; i++) {
        for (long j = 0; j < d1; j++) {
          int out = (int) (transpose ? (i / (d0 / group)) * d1 + j : i);
          int base = (int) ((i * d1 + j) * per);
          for (int k = 0; k < per; k++) {
            weights[base + k] *= s[out];
          }
        }
      }
      if (biasValues != null) {
        if (biasValues.length != c) {
          return "the bias of " + op + " " + label(p) + " has " + biasValues.length
              + " values for " + c + " channels";
        }
        b = biasValues;
      }
    }
    double[] newBias = new double[c];
    for (int k = 0; k < c; k++) {
      newBias[k] = type.nearest(b[k] * s[k] + shift[k]);
    }
    for (int i = 0; i < weights.length; i++) {
      weights[i] = type.nearest(weights[i]);
    }
    String wName = Graphs.uniqueName(p.getInput(1) + "__folded", names);
    String bName = Graphs.uniqueName((biasName != null ? biasName : bn.bias()) + "__folded", names);
    added.add(Tensors.of(wName, type, weights, dims));
    added.add(Tensors.of(bName, type, newBias, List.of((long) c)));
    p.setInput(1, wName);
    if (p.getInputCount() > 2) {
      p.setInput(2, bName);
    } else {
      p.addInput(bName);
    }
    if (op.equals("Gemm")) {
      List<AttributeProto> attrs = new ArrayList<>(p.getAttributeList());
      p.clearAttribute();
      for (AttributeProto a : attrs) {
        if (!a.getName().equals("beta")) {
          p.addAttribute(a);
        }
      }
    }
    p.setOutput(0, bn.output());
    for (int i = 0; i < nodes.size(); i++) {
      NodeProto.Builder n = nodes.get(i);
      if (!removed.contains(i) && n.getOpType().equals("BatchNormalization")
          && n.getOutputCount() > 0 && n.getOutput(0).equals(bn.output()) && i != at) {
        removed.add(i);
      }
    }
    return null;
  }

  private static long attribute(NodeProto.Builder n, String name, long otherwise) {
    for (AttributeProto a : n.getAttributeList()) {
      if (a.getName().equals(name)) {
        return a.getI();
      }
    }
    return otherwise;
  }

  private static double attributeF(NodeProto.Builder n, String name, double otherwise) {
    for (AttributeProto a : n.getAttributeList()) {
      if (a.getName().equals(name)) {
        return a.getF();
      }
    }
    return otherwise;
  }

  private static String label(NodeProto.Builder n) {
    return Graphs.label(n.buildPartial());
  }
}
