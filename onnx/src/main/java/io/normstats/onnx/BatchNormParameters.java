package io.normstats.onnx;

import io.normstats.onnx.proto.OnnxProto.AttributeProto;
import io.normstats.onnx.proto.OnnxProto.GraphProto;
import io.normstats.onnx.proto.OnnxProto.ModelProto;
import io.normstats.onnx.proto.OnnxProto.NodeProto;
import io.normstats.onnx.proto.OnnxProto.TensorProto;
import io.normstats.onnx.proto.OnnxProto.ValueInfoProto;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Gives the parameters of every BatchNormalization (scale, B, input_mean, input_var: inputs 1 to
 * 4) initializers of their own, so that replacing one layer's statistics changes nothing else.
 *
 * <p>Exporters share and forward parameters. PyTorch's TorchScript exporter ({@code dynamo=False})
 * deduplicates equal initializers and feeds each duplicate through an {@code Identity} node: in a
 * trained torchvision ResNet the downsample BatchNorm's bias equals {@code bn2}'s (both feed one
 * Add, so they get the same gradients), and in an untrained model every {@code running_mean} of a
 * width is the same initializer. Other tools put parameters in {@code Constant} nodes. Here, for
 * each BatchNormalization input that is not an initializer read by that input alone:
 * <ul>
 *   <li>a value computed by a chain of Identity nodes ending in an initializer or a Constant, and
 *       read by this BatchNormalization only, becomes an initializer under the same name (the
 *       state-dict name the exporter gave it) and its Identity or Constant node goes;</li>
 *   <li>an initializer that other nodes read too stays this BatchNormalization's, and the other
 *       readers read a copy under a new name;</li>
 *   <li>otherwise (a graph output, a value a subgraph reads, an initializer already given to
 *       another BatchNormalization) the BatchNormalization reads a copy under a new name.</li>
 * </ul>
 * The graph computes exactly what it did: only where the values come from changes. Nodes and
 * initializers that nothing reads any more after this are removed. A parameter that is computed
 * by other operators is left as it is ({@link OnnxModel#batchNorms()} then names it).
 */
final class BatchNormParameters {
  private static final String BATCH_NORM = "BatchNormalization";

  private BatchNormParameters() {}

  /**
   * The tensor a value holds when it is an initializer, a Constant's value, or an Identity chain
   * from one of them; null otherwise. The tensor keeps its own name (the initializer's or none).
   */
  static TensorProto resolve(String value, Map<String, TensorProto> initializers,
      Map<String, NodeProto> producer) {
    String v = value;
    for (int hops = 0; hops <= producer.size(); hops++) {
      TensorProto t = initializers.get(v);
      if (t != null) {
        return t;
      }
      NodeProto p = producer.get(v);
      if (p == null || !isDefaultDomain(p)) {
        return null;
      }
      if (p.getOpType().equals("Identity") && p.getInputCount() == 1) {
        v = p.getInput(0);
      } else if (p.getOpType().equals("Constant")) {
        return constantValue(p);
      } else {
        return null;
      }
    }
    return null;
  }

  /** A Constant node's tensor ({@code value}, {@code value_float} or {@code value_floats}). */
  private static TensorProto constantValue(NodeProto constant) {
    for (AttributeProto a : constant.getAttributeList()) {
      switch (a.getName()) {
        case "value":
          return a.getT();
        case "value_float":
          return TensorProto.newBuilder().setDataType(TensorProto.DataType.FLOAT_VALUE)
              .addFloatData(a.getF()).build();
        case "value_floats":
          return TensorProto.newBuilder().setDataType(TensorProto.DataType.FLOAT_VALUE)
              .addDims(a.getFloatsCount()).addAllFloatData(a.getFloatsList()).build();
        default:
          break;
      }
    }
    return null;
  }

  /** The model with every BatchNormalization's parameters its own (the class comment). */
  static ModelProto owned(ModelProto model) {
    GraphProto g = model.getGraph();
    List<NodeProto.Builder> nodes = new ArrayList<>();
    g.getNodeList().forEach(n -> nodes.add(n.toBuilder()));
    Map<String, TensorProto> initializers = new LinkedHashMap<>();
    g.getInitializerList().forEach(t -> initializers.put(t.getName(), t));
    Map<String, NodeProto> producer = new HashMap<>();
    g.getNodeList().forEach(n -> n.getOutputList().forEach(o -> producer.put(o, n)));
    Set<String> pinned = new HashSet<>(); // read by name where a rewire cannot reach
    g.getOutputList().forEach(v -> pinned.add(v.getName()));
    for (NodeProto n : g.getNodeList()) {
      for (AttributeProto a : n.getAttributeList()) {
        if (a.hasG() || a.getGraphsCount() > 0) {
          pinned.addAll(Graphs.inputsOf(n));
        }
      }
    }
    Map<String, Integer> uses = new HashMap<>();
    for (NodeProto.Builder n : nodes) {
      n.getInputList().forEach(in -> uses.merge(in, 1, Integer::sum));
    }
    Set<String> names = new HashSet<>(initializers.keySet());
    g.getInputList().forEach(v -> names.add(v.getName()));
    g.getNodeList().forEach(n -> names.addAll(n.getOutputList()));
    Set<String> claimed = new HashSet<>();
    Set<Integer> removed = new HashSet<>();
    List<TensorProto> added = new ArrayList<>();
    boolean changed = false;
    for (int i = 0; i < nodes.size(); i++) {
      NodeProto.Builder bn = nodes.get(i);
      if (!bn.getOpType().equals(BATCH_NORM) || !isDefaultDomain(bn.build())
          || bn.getInputCount() != 5) {
        continue;
      }
      for (int k = 1; k < 5; k++) {
        String v = bn.getInput(k);
        boolean initializer = initializers.containsKey(v);
        if (initializer && uses.get(v) == 1 && !pinned.contains(v) && claimed.add(v)) {
          continue;
        }
        TensorProto t = resolve(v, initializers, producer);
        if (t == null) {
          continue;
        }
        changed = true;
        if (initializer && !pinned.contains(v) && claimed.add(v)) {
          // the others read a copy: this layer keeps the name (its state-dict key)
          String copy = Graphs.uniqueName(v + "__shared", names);
          initializers.put(copy, t.toBuilder().setName(copy).build());
          for (int j = 0; j < nodes.size(); j++) {
            NodeProto.Builder other = nodes.get(j);
            for (int s = 0; s < other.getInputCount(); s++) {
              if (other.getInput(s).equals(v) && !(j == i && s == k)) {
                other.setInput(s, copy);
                uses.merge(copy, 1, Integer::sum);
                uses.merge(v, -1, Integer::sum);
              }
            }
          }
          rebuildProducers(nodes, removed, producer);
          continue;
        }
        NodeProto p = producer.get(v);
        int at = p == null ? -1 : indexOf(nodes, removed, p);
        if (!initializer && uses.get(v) == 1 && !pinned.contains(v) && at >= 0
            && p.getOutputCount() == 1 && claimed.add(v)) {
          // the Identity or Constant goes; its value becomes an initializer of the same name
          removed.add(at);
          producer.remove(v);
          release(p.getInputList(), uses);
          initializers.put(v, t.toBuilder().setName(v).build());
          added.add(initializers.get(v));
          continue;
        }
        String own = Graphs.uniqueName(v + "__" + sanitize(label(bn.build())), names);
        initializers.put(own, t.toBuilder().setName(own).build());
        added.add(initializers.get(own));
        bn.setInput(k, own);
        uses.merge(v, -1, Integer::sum);
        uses.put(own, 1);
        claimed.add(own);
      }
    }
    if (!changed) {
      return model;
    }
    // what nothing reads any more: Identity and Constant nodes, then initializers
    ArrayDeque<Integer> dead = new ArrayDeque<>();
    for (int j = 0; j < nodes.size(); j++) {
      dead.add(j);
    }
    while (!dead.isEmpty()) {
      int j = dead.poll();
      NodeProto n = nodes.get(j).build();
      if (removed.contains(j) || !(n.getOpType().equals("Identity")
          || n.getOpType().equals("Constant")) || !isDefaultDomain(n)) {
        continue;
      }
      boolean read = n.getOutputList().stream()
          .anyMatch(o -> uses.getOrDefault(o, 0) > 0 || pinned.contains(o));
      if (!read) {
        removed.add(j);
        release(n.getInputList(), uses);
        for (String in : n.getInputList()) {
          NodeProto up = producer.get(in);
          int u = up == null ? -1 : indexOf(nodes, removed, up);
          if (u >= 0) {
            dead.add(u);
          }
        }
      }
    }
    GraphProto.Builder b = g.toBuilder().clearNode().clearInitializer();
    for (int j = 0; j < nodes.size(); j++) {
      if (!removed.contains(j)) {
        b.addNode(nodes.get(j));
      }
    }
    Set<String> originals = new HashSet<>();
    g.getInitializerList().forEach(t -> originals.add(t.getName()));
    g.getInputList().forEach(v -> pinned.add(v.getName())); // an initializer that is an input stays
    for (TensorProto t : initializers.values()) {
      if (uses.getOrDefault(t.getName(), 0) > 0 || pinned.contains(t.getName())
          || (originals.contains(t.getName()) && !touched(t.getName(), g, uses))) {
        b.addInitializer(t);
      }
    }
    if (model.getIrVersion() < 4) { // before IR 4 every initializer is also a graph input
      Set<String> inputs = new HashSet<>();
      b.getInputList().forEach(v -> inputs.add(v.getName()));
      for (TensorProto t : added) {
        if (!inputs.contains(t.getName())) {
          b.addInput(ValueInfoProto.newBuilder().setName(t.getName()));
        }
      }
    }
    return model.toBuilder().setGraph(b).build();
  }

  /** Whether an initializer of the original graph lost readers here (it had some before). */
  private static boolean touched(String name, GraphProto g, Map<String, Integer> uses) {
    long before = g.getNodeList().stream()
        .flatMap(n -> n.getInputList().stream()).filter(name::equals).count();
    return before > 0 && uses.getOrDefault(name, 0) <= 0;
  }

  private static void release(List<String> inputs, Map<String, Integer> uses) {
    inputs.forEach(in -> uses.merge(in, -1, Integer::sum));
  }

  private static void rebuildProducers(List<NodeProto.Builder> nodes, Set<Integer> removed,
      Map<String, NodeProto> producer) {
    producer.clear();
    for (int j = 0; j < nodes.size(); j++) {
      if (!removed.contains(j)) {
        NodeProto n = nodes.get(j).build();
        n.getOutputList().forEach(o -> producer.put(o, n));
      }
    }
  }

  private static int indexOf(List<NodeProto.Builder> nodes, Set<Integer> removed, NodeProto p) {
    for (int j = 0; j < nodes.size(); j++) {
      if (!removed.contains(j) && nodes.get(j).getOutputList().equals(p.getOutputList())) {
        return j;
      }
    }
    return -1;
  }

  private static boolean isDefaultDomain(NodeProto n) {
    return n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx");
  }

  private static String label(NodeProto n) {
    return n.getName().isEmpty() ? n.getOpType() + "_" + n.getOutput(0) : n.getName();
  }

  private static String sanitize(String s) {
    return s.replaceAll("[^A-Za-z0-9_.]", "_").replaceAll("^_+", "");
  }
}
