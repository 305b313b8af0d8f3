package io.normstats.onnx;

import static io.normstats.onnx.Graphs.inputsOf;
import static io.normstats.onnx.Graphs.isBatchNorm;
import static io.normstats.onnx.Graphs.label;

import io.normstats.InputException;
import io.normstats.onnx.proto.OnnxProto.AttributeProto;
import io.normstats.onnx.proto.OnnxProto.GraphProto;
import io.normstats.onnx.proto.OnnxProto.ModelProto;
import io.normstats.onnx.proto.OnnxProto.NodeProto;
import io.normstats.onnx.proto.OnnxProto.TensorProto;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds a graph's BatchNormalization layers and their levels: level 0 holds those whose input
 * depends on no BatchNormalization, level k those whose input depends only on levels below k. A
 * layer's scale, B, mean and var must be initializers of C float, double, float16 or bfloat16
 * values (the ONNX BatchNormalization operator, inference form: 5 inputs, 1 output).
 */
final class BatchNormDiscovery {
  private BatchNormDiscovery() {}

  /**
   * The BatchNormalization layers of {@code proto}, in the topological order {@code order}, with
   * their levels ({@link OnnxModel#batchNorms()}).
   *
   * @throws InputException (usage) as {@link OnnxModel#batchNorms()}
   */
  static List<BatchNormLayer> find(ModelProto proto, List<NodeProto> order, String what) {
    GraphProto g = proto.getGraph();
    for (NodeProto n : g.getNodeList()) {
      for (AttributeProto a : n.getAttributeList()) {
        if (containsBatchNorm(a)) {
          throw InputException.usage(what + ": node " + label(n) + " holds a BatchNormalization "
              + "inside a subgraph, which normstats does not recalibrate");
        }
      }
    }
    Map<String, TensorProto> initializers = Graphs.initializerMap(g);
    Map<String, Integer> depth = new HashMap<>();
    Set<String> names = new HashSet<>();
    List<BatchNormLayer> found = new ArrayList<>();
    for (NodeProto n : order) {
      int d = 0;
      for (String in : inputsOf(n)) {
        d = Math.max(d, depth.getOrDefault(in, 0));
      }
      int out = d;
      if (isBatchNorm(n)) {
        BatchNormLayer layer = layer(n, initializers, depth.getOrDefault(n.getInput(0), 0), order,
            what);
        if (!names.add(layer.node())) {
          throw InputException.usage(what + " has two BatchNormalization nodes named '"
              + layer.node() + "'");
        }
        found.add(layer);
        out = Math.max(out, layer.level() + 1);
      }
      for (String o : n.getOutputList()) {
        depth.put(o, out);
      }
    }
    return found;
  }

  private static BatchNormLayer layer(NodeProto n, Map<String, TensorProto> initializers,
      int level, List<NodeProto> order, String what) {
    String name = label(n);
    for (AttributeProto a : n.getAttributeList()) {
      if (a.getName().equals("training_mode") && a.getI() != 0) {
        throw InputException.usage(what + ": BatchNormalization " + name + " has training_mode=1 "
            + "(a training graph); export the model in eval mode");
      }
    }
    if (n.getInputCount() != 5 || n.getOutputCount() < 1 || nonEmptyOutputs(n) > 1) {
      throw InputException.usage(what + ": BatchNormalization " + name + " has "
          + n.getInputCount() + " inputs and " + nonEmptyOutputs(n) + " outputs; an inference "
          + "BatchNormalization has 5 and 1");
    }
    double epsilon = 1e-5f;
    for (AttributeProto a : n.getAttributeList()) {
      if (a.getName().equals("epsilon")) {
        epsilon = a.getF();
      }
    }
    String[] roles = {"scale", "B", "input_mean", "input_var"};
    double[][] values = new double[4][];
    ElementType statsType = null;
    for (int k = 0; k < 4; k++) {
      String input = n.getInput(k + 1);
      TensorProto t = initializers.get(input);
      if (t == null) {
        NodeProto from = order.stream().filter(p -> p.getOutputList().contains(input))
            .findFirst().orElse(null);
        throw InputException.usage(what + ": the " + roles[k] + " of BatchNormalization " + name
            + " ('" + input + "') is " + (from != null ? "computed by node " + label(from) + " ("
            + from.getOpType() + ")" : "a graph input") + ", not stored in the model; normstats "
            + "recalibrates BatchNormalizations whose parameters are initializers (or Constant "
            + "or Identity nodes of one)");
      }
      ElementType type = ElementType.of(t.getDataType());
      if (type == null) {
        throw InputException.usage(what + ": the " + roles[k] + " of BatchNormalization " + name
            + " ('" + input + "') holds " + ElementType.name(t.getDataType())
            + "; normstats reads float, double, float16 or bfloat16");
      }
      if (k == 2) {
        statsType = type;
      }
      values[k] = Tensors.values(t);
      if (t.getDimsCount() != 1 || values[k].length != values[0].length) {
        throw InputException.usage(what + ": the " + roles[k] + " of BatchNormalization " + name
            + " ('" + input + "') has shape " + t.getDimsList() + "; expected [C] with C = "
            + values[0].length);
      }
    }
    ElementType varType = ElementType.of(initializers.get(n.getInput(4)).getDataType());
    if (varType != statsType) {
      throw InputException.usage(what + ": BatchNormalization " + name + " stores its mean as "
          + statsType + " and its variance as " + varType);
    }
    return new BatchNormLayer(name, n.getInput(0), n.getOutput(0), n.getInput(1), n.getInput(2),
        n.getInput(3), n.getInput(4), epsilon, values[0].length, statsType, values[2], values[3],
        values[0], values[1], level);
  }

  private static int nonEmptyOutputs(NodeProto n) {
    return (int) n.getOutputList().stream().filter(o -> !o.isEmpty()).count();
  }

  private static boolean containsBatchNorm(AttributeProto a) {
    List<GraphProto> graphs = new ArrayList<>(a.getGraphsList());
    if (a.hasG()) {
      graphs.add(a.getG());
    }
    for (GraphProto g : graphs) {
      for (NodeProto n : g.getNodeList()) {
        if (isBatchNorm(n)) {
          return true;
        }
        for (AttributeProto inner : n.getAttributeList()) {
          if (containsBatchNorm(inner)) {
            return true;
          }
        }
      }
    }
    return false;
  }
}
