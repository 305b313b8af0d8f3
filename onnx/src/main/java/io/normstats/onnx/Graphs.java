package io.normstats.onnx;

import io.normstats.InputException;
import io.normstats.onnx.proto.OnnxProto.AttributeProto;
import io.normstats.onnx.proto.OnnxProto.GraphProto;
import io.normstats.onnx.proto.OnnxProto.NodeProto;
import io.normstats.onnx.proto.OnnxProto.TensorProto;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the graph edits of this package share about ONNX graphs: node labels, the values a node
 * reads (its subgraphs' outer values included), a topological order, initializer lookups, unique
 * names, and builders of the standard nodes they insert.
 */
final class Graphs {
  /** The ONNX operator BatchNormalization (default domain). */
  static final String BATCH_NORM = "BatchNormalization";

  private Graphs() {}

  /** A node's name for messages and keys: its name, or its op type and first output. */
  static String label(NodeProto n) {
    return n.getName().isEmpty() ? n.getOpType() + "(" + n.getOutput(0) + ")" : n.getName();
  }

  static boolean isBatchNorm(NodeProto n) {
    return n.getOpType().equals(BATCH_NORM)
        && (n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx"));
  }

  /** The first of name, name_1, name_2, ... not in {@code taken}, which it joins. */
  static String uniqueName(String name, Set<String> taken) {
    String n = name;
    for (int k = 1; taken.contains(n); k++) {
      n = name + "_" + k;
    }
    taken.add(n);
    return n;
  }

  /** The graph's initializers by name. */
  static Map<String, TensorProto> initializerMap(GraphProto g) {
    Map<String, TensorProto> m = new HashMap<>();
    g.getInitializerList().forEach(t -> m.put(t.getName(), t));
    return m;
  }

  static Set<String> initializerNames(GraphProto g) {
    Set<String> names = new HashSet<>();
    g.getInitializerList().forEach(t -> names.add(t.getName()));
    g.getSparseInitializerList().forEach(t -> names.add(t.getValues().getName()));
    return names;
  }

  /** A node's inputs, and the outer values its subgraphs read. */
  static Collection<String> inputsOf(NodeProto n) {
    if (n.getAttributeList().stream().noneMatch(a -> a.hasG() || a.getGraphsCount() > 0)) {
      return n.getInputList();
    }
    Set<String> all = new LinkedHashSet<>(n.getInputList());
    for (AttributeProto a : n.getAttributeList()) {
      List<GraphProto> graphs = new ArrayList<>(a.getGraphsList());
      if (a.hasG()) {
        graphs.add(a.getG());
      }
      for (GraphProto sub : graphs) {
        all.addAll(outerValues(sub));
      }
    }
    return all;
  }

  /** The values a subgraph reads from enclosing scopes. */
  private static Set<String> outerValues(GraphProto g) {
    Set<String> defined = new HashSet<>(initializerNames(g));
    g.getInputList().forEach(v -> defined.add(v.getName()));
    g.getNodeList().forEach(n -> defined.addAll(n.getOutputList()));
    Set<String> outer = new LinkedHashSet<>();
    for (NodeProto n : g.getNodeList()) {
      for (String in : inputsOf(n)) {
        if (!in.isEmpty() && !defined.contains(in)) {
          outer.add(in);
        }
      }
    }
    g.getOutputList().forEach(v -> {
      if (!defined.contains(v.getName())) {
        outer.add(v.getName());
      }
    });
    return outer;
  }

  /** The graph's nodes in a topological order (the file's order where it is one). */
  static List<NodeProto> topologicalOrder(GraphProto g, String what) {
    List<NodeProto> nodes = g.getNodeList();
    Map<String, Integer> producer = new HashMap<>();
    for (int i = 0; i < nodes.size(); i++) {
      for (String o : nodes.get(i).getOutputList()) {
        if (!o.isEmpty()) {
          producer.put(o, i);
        }
      }
    }
    Set<String> available = new HashSet<>(initializerNames(g));
    g.getInputList().forEach(v -> available.add(v.getName()));
    int[] missing = new int[nodes.size()];
    List<List<Integer>> consumers = new ArrayList<>();
    for (int i = 0; i < nodes.size(); i++) {
      consumers.add(new ArrayList<>());
    }
    for (int i = 0; i < nodes.size(); i++) {
      for (String in : new LinkedHashSet<>(inputsOf(nodes.get(i)))) {
        if (in.isEmpty() || available.contains(in)) {
          continue;
        }
        Integer p = producer.get(in);
        if (p == null) {
          throw InputException.data(what + ": node " + label(nodes.get(i)) + " reads '" + in
              + "', which no node, input or initializer of the graph provides");
        }
        missing[i]++;
        consumers.get(p).add(i);
      }
    }
    java.util.PriorityQueue<Integer> ready = new java.util.PriorityQueue<>();
    for (int i = 0; i < nodes.size(); i++) {
      if (missing[i] == 0) {
        ready.add(i);
      }
    }
    List<NodeProto> sorted = new ArrayList<>(nodes.size());
    while (!ready.isEmpty()) {
      int i = ready.poll();
      sorted.add(nodes.get(i));
      for (int c : consumers.get(i)) {
        if (--missing[c] == 0) {
          ready.add(c);
        }
      }
    }
    if (sorted.size() != nodes.size()) {
      throw InputException.data(what + ": the graph has a cycle");
    }
    return List.copyOf(sorted);
  }

  static NodeProto reduceMean(String name, String input, String axes, int opset,
      String output) {
    NodeProto.Builder n = NodeProto.newBuilder().setOpType("ReduceMean").setName(name)
        .addInput(input).addOutput(output)
        .addAttribute(AttributeProto.newBuilder().setName("keepdims").setI(1)
            .setType(AttributeProto.AttributeType.INT));
    if (opset >= 18) {
      n.addInput(axes);
    } else {
      n.addAttribute(AttributeProto.newBuilder().setName("axes").addInts(0).addInts(2)
          .setType(AttributeProto.AttributeType.INTS));
    }
    return n.build();
  }

  static NodeProto node(String op, String name, List<String> inputs, String output) {
    return NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs)
        .addOutput(output).build();
  }
}
