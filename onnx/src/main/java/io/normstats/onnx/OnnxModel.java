package io.normstats.onnx;

import static io.normstats.onnx.Graphs.initializerNames;
import static io.normstats.onnx.Graphs.inputsOf;
import static io.normstats.onnx.Graphs.isBatchNorm;
import static io.normstats.onnx.Graphs.topologicalOrder;

import com.google.protobuf.InvalidProtocolBufferException;
import io.normstats.InputException;
import io.normstats.onnx.proto.OnnxProto.GraphProto;
import io.normstats.onnx.proto.OnnxProto.ModelProto;
import io.normstats.onnx.proto.OnnxProto.NodeProto;
import io.normstats.onnx.proto.OnnxProto.OperatorSetIdProto;
import io.normstats.onnx.proto.OnnxProto.SparseTensorProto;
import io.normstats.onnx.proto.OnnxProto.TensorProto;
import io.normstats.onnx.proto.OnnxProto.TensorShapeProto;
import io.normstats.onnx.proto.OnnxProto.TypeProto;
import io.normstats.onnx.proto.OnnxProto.ValueInfoProto;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An ONNX model (the protobuf {@code ModelProto} of {@code onnx.proto}) and the graph edits
 * normstats makes to measure and recalibrate its BatchNormalization layers. Plain Java: no Spark,
 * no ONNX Runtime. Instances are immutable; every edit returns a new model.
 *
 * <ul>
 *   <li>{@link #batchNorms()}: the BatchNormalization nodes in topological order, each with its
 *       {@linkplain BatchNormLayer#level() level}: level 0 holds those whose input depends on no
 *       BatchNormalization, level k those whose input depends only on levels below k. Bottom-up
 *       recalibration measures one level per pass (as CNTK's BNStat, "post batch normalization
 *       statistics", did layer by layer).</li>
 *   <li>{@link #capturing}: the graph pruned to what computes some tensors (the inputs of one
 *       level's BatchNormalizations), which become the graph's outputs (as SynapseML's
 *       {@code sliceModelAtOutputs}).</li>
 *   <li>{@link #withStatistics}: input_mean and input_var of some layers replaced; nothing else
 *       changes.</li>
 *   <li>{@link #withBatchNormsInTrainingMode}: every BatchNormalization replaced by standard
 *       operators that normalize with the statistics of the batch being run (Shape, Reshape,
 *       ReduceMean, Sub, Mul, Add, Sqrt, Div): what training-mode BatchNorm, and so fvcore's
 *       PreciseBN, sees upstream of the layer it measures.</li>
 * </ul>
 *
 * <p>Subgraphs (If, Loop, Scan) are kept whole when a node that holds them is needed, with the
 * outer values they use; a BatchNormalization inside a subgraph is not supported.
 *
 * <p>The work is done beside this class, in the package: {@code BatchNormDiscovery} finds the
 * layers and levels, {@code TrainingModeGraph} writes the training-mode graph, {@code Graphs}
 * holds the graph helpers (topological order, the values a node reads, unique names),
 * {@code Tensors} reads and writes tensor values, {@link BatchNormParameters} gives each
 * BatchNormalization parameters of its own and {@link ExternalData} inlines external data.
 */
public final class OnnxModel {
  private static final String CAPTURE_SUFFIX = "__normstats_capture";

  private final ModelProto proto;
  private final String what;
  private final ExternalData.Tensors external;
  private final List<NodeProto> order;
  private List<BatchNormLayer> layers;

  private OnnxModel(ModelProto proto, String what, ExternalData.Tensors external) {
    this.proto = proto;
    this.what = what;
    this.external = external;
    this.order = topologicalOrder(proto.getGraph(), what);
  }

  /** This model's graph edited (this package's graph edits): the same name and external data. */
  OnnxModel edited(ModelProto edited) {
    return new OnnxModel(edited, what, external);
  }

  /** The nodes in topological order (for this package's graph edits). */
  List<NodeProto> order() {
    return order;
  }

  /** The protobuf (for this package's graph edits). */
  ModelProto proto() {
    return proto;
  }

  /**
   * Parses an ONNX model.
   *
   * @param bytes the serialized ModelProto (an {@code .onnx} file)
   * @param what how to name the model in messages (its path)
   * @throws InputException (data) if the bytes are not an ONNX model (not protobuf, truncated, no
   *     graph or opset), or its graph has a cycle or a node whose input nothing produces
   */
  public static OnnxModel parse(byte[] bytes, String what) {
    return parse(bytes, what, null);
  }

  /**
   * Parses an ONNX model whose initializers may keep their data in files beside it (ONNX's
   * external data, as PyTorch's default exporter writes {@code MODEL.onnx.data}): that data is
   * read into the model, which is then self-contained, or for a model over 2 GB with its data,
   * its largest tensors into {@link #external()} ({@link ExternalData}). The parameters of every BatchNormalization
   * become initializers of its own where an exporter shared them or fed them through Identity or
   * Constant nodes ({@link BatchNormParameters}); the graph computes the same.
   *
   * @param bytes the serialized ModelProto (an {@code .onnx} file)
   * @param what how to name the model in messages (its path)
   * @param files reads the external data files, relative to the model's directory; null when the
   *     model came without its path
   * @throws InputException (data) as {@link #parse(byte[], String)}, or if external data does not
   *     hold a tensor's values; (usage) if external data is needed and {@code files} is null, a
   *     data file is missing or outside the model's directory, or one tensor, or the graph with
   *     its BatchNorm parameters, is over 2 GB
   */
  public static OnnxModel parse(byte[] bytes, String what, ExternalData.Files files) {
    ModelProto proto;
    try {
      proto = ModelProto.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw InputException.data(what + " is not an ONNX model (" + e.getMessage().strip()
          + ")", e);
    }
    if (bytes.length == 0 || !proto.hasGraph() || proto.getIrVersion() <= 0
        || proto.getOpsetImportCount() == 0 || proto.getGraph().getNodeCount() == 0) {
      throw InputException.data(what + " is not an ONNX model (no "
          + (bytes.length == 0 ? "bytes" : !proto.hasGraph() ? "graph"
          : proto.getIrVersion() <= 0 ? "IR version" : proto.getOpsetImportCount() == 0
          ? "opset" : "nodes") + ")");
    }
    ExternalData.Loaded loaded = ExternalData.inline(proto, what, files);
    return new OnnxModel(BatchNormParameters.owned(loaded.proto()), what, loaded.external());
  }

  /**
   * The serialized model: the whole model, or for a model over 2 GB the graph whose large
   * tensors {@link #external()} holds.
   */
  public byte[] toByteArray() {
    return proto.toByteArray();
  }

  /**
   * The data of the initializers this model keeps outside its protobuf: none but for a model
   * whose data is over 2 GB ({@link ExternalData}).
   */
  public ExternalData.Tensors external() {
    return external;
  }

  /**
   * Writes the model as an ONNX file to {@code model}; with {@link #external()} data, that data
   * goes to {@code data}, the file {@code dataLocation} in the same directory, and the model
   * refers to it (ONNX's external data format; {@code onnx.load} and ONNX Runtime read the pair).
   *
   * @param data where the external data goes; not written to when there is none
   * @throws IOException if writing fails
   */
  public void write(java.io.OutputStream model, String dataLocation, java.io.OutputStream data)
      throws java.io.IOException {
    if (external.isEmpty()) {
      proto.writeTo(model);
    } else {
      ExternalData.write(proto, external, dataLocation, model, data);
    }
  }

  /** How the model is named in messages (its path). */
  public String what() {
    return what;
  }

  /** The version of the default ONNX operator set the model imports. */
  public int opsetVersion() {
    for (OperatorSetIdProto op : proto.getOpsetImportList()) {
      if (op.getDomain().isEmpty() || op.getDomain().equals("ai.onnx")) {
        return (int) op.getVersion();
      }
    }
    return 0;
  }

  /** The names of the graph's outputs. */
  public List<String> outputs() {
    return proto.getGraph().getOutputList().stream().map(ValueInfoProto::getName).toList();
  }

  /** The graph inputs that the caller feeds: those that are not initializers. */
  public List<String> dataInputs() {
    Set<String> initializers = initializerNames(proto.getGraph());
    return proto.getGraph().getInputList().stream().map(ValueInfoProto::getName)
        .filter(n -> !initializers.contains(n)).toList();
  }

  /**
   * The input normstats feeds.
   *
   * @param name the input's name, or null for the model's only data input
   * @throws InputException (usage) if {@code name} is null and the model has several data inputs,
   *     or names none of them; if the input is not a tensor of float, double, float16 or bfloat16,
   *     or has no shape
   */
  public NetworkInput input(String name) {
    List<String> inputs = dataInputs();
    if (name == null) {
      if (inputs.size() != 1) {
        throw InputException.usage(what + " has " + inputs.size() + " inputs " + inputs
            + ": choose one with --input-name");
      }
      name = inputs.get(0);
    } else if (!inputs.contains(name)) {
      throw InputException.usage(what + " has no input '" + name + "' (inputs: "
          + String.join(", ", inputs) + ")");
    }
    ValueInfoProto info = null;
    for (ValueInfoProto v : proto.getGraph().getInputList()) {
      if (v.getName().equals(name)) {
        info = v;
      }
    }
    TypeProto type = info.getType();
    if (!type.hasTensorType()) {
      throw InputException.usage("input '" + name + "' of " + what + " is not a tensor");
    }
    int elem = type.getTensorType().getElemType();
    ElementType et = ElementType.of(elem);
    if (et == null) {
      throw InputException.usage("input '" + name + "' of " + what + " holds "
          + ElementType.name(elem) + "; normstats feeds float, double, float16 or bfloat16 tensors");
    }
    if (!type.getTensorType().hasShape() || type.getTensorType().getShape().getDimCount() < 2) {
      throw InputException.usage("input '" + name + "' of " + what
          + " has no shape [N, d1, ...] to lay the rows out in");
    }
    List<TensorShapeProto.Dimension> dims = type.getTensorType().getShape().getDimList();
    long[] shape = new long[dims.size()];
    for (int i = 0; i < shape.length; i++) {
      TensorShapeProto.Dimension d = dims.get(i);
      shape[i] = d.hasDimValue() && d.getDimValue() > 0 ? d.getDimValue() : -1;
    }
    return new NetworkInput(name, et, shape);
  }

  /**
   * The BatchNormalization layers, in topological order, with their levels.
   *
   * @throws InputException (usage) for a layer in training mode or inside a subgraph, or one whose
   *     scale, B, mean or var is not stored in the model as C float, double, float16 or bfloat16
   *     values
   */
  public List<BatchNormLayer> batchNorms() {
    if (layers == null) {
      layers = List.copyOf(BatchNormDiscovery.find(proto, order, what));
    }
    return layers;
  }

  /**
   * The BatchNormalization layers.
   *
   * @throws InputException (usage) as {@link #batchNorms()}, and if there are none
   */
  public List<BatchNormLayer> requireBatchNorms() {
    if (batchNorms().isEmpty()) {
      throw InputException.usage(what + " has no BatchNormalization node: an exporter folded "
          + "them into the Conv or Gemm before, or the network has none. PyTorch keeps them with "
          + "torch.onnx.export(model, x, f, dynamo=True, optimize=False) or with "
          + "torch.onnx.export(model, x, f, dynamo=False, "
          + "training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)");
    }
    return batchNorms();
  }

  /** The number of levels: 1 + the highest level of a BatchNormalization (0 without any). */
  public int levels() {
    return batchNorms().stream().mapToInt(BatchNormLayer::level).max().orElse(-1) + 1;
  }

  /**
   * The model with input_mean and input_var of some layers replaced.
   *
   * @param statistics per layer name ({@link BatchNormLayer#node()}): {mean, variance}, each
   *     {@code [C]}, in the layer's element type (float values must be floats exactly, see
   *     {@link BatchNormLayer#round})
   * @throws IllegalArgumentException for an unknown layer, a wrong length, a float statistic that
   *     is not a float, or an initializer shared with another node's input
   */
  public OnnxModel withStatistics(Map<String, double[][]> statistics) {
    Map<String, double[]> replace = new HashMap<>();
    Map<String, ElementType> types = new HashMap<>();
    for (Map.Entry<String, double[][]> e : statistics.entrySet()) {
      BatchNormLayer layer = batchNorms().stream().filter(l -> l.node().equals(e.getKey()))
          .findFirst().orElseThrow(() -> new IllegalArgumentException("no BatchNormalization "
              + e.getKey() + " in " + what));
      double[][] s = e.getValue();
      if (s.length != 2 || s[0].length != layer.channels() || s[1].length != layer.channels()) {
        throw new IllegalArgumentException(layer.node() + " needs " + layer.channels()
            + " means and variances");
      }
      replace.put(layer.mean(), s[0]);
      replace.put(layer.variance(), s[1]);
      types.put(layer.mean(), layer.statsType());
      types.put(layer.variance(), layer.statsType());
    }
    Map<String, Integer> uses = new HashMap<>();
    for (NodeProto n : proto.getGraph().getNodeList()) {
      for (String in : n.getInputList()) {
        uses.merge(in, 1, Integer::sum);
      }
    }
    for (String name : replace.keySet()) {
      if (uses.getOrDefault(name, 0) > 1) {
        throw new IllegalArgumentException("initializer '" + name + "' of " + what
            + " is an input of several nodes; replacing it would change them all");
      }
    }
    GraphProto.Builder g = proto.getGraph().toBuilder();
    for (int i = 0; i < g.getInitializerCount(); i++) {
      String name = g.getInitializer(i).getName();
      if (replace.containsKey(name)) {
        g.setInitializer(i, Tensors.of(name, types.get(name), replace.get(name),
            g.getInitializer(i).getDimsList()));
      }
    }
    return edited(proto.toBuilder().setGraph(g).build());
  }

  /** A pruned graph and the names of its outputs. */
  public record Capture(OnnxModel model, List<String> outputs) {}

  /**
   * The graph pruned to the nodes that compute {@code tensors}, with those as its outputs, in
   * order. A tensor that no node computes (a graph input or an initializer) is passed through an
   * Identity node, whose output name the returned {@link Capture#outputs()} gives in its place.
   * Data inputs that the kept nodes do not read are dropped.
   *
   * @param tensors value names of the graph
   * @throws IllegalArgumentException if a tensor is not a value of the graph
   */
  public Capture capturing(List<String> tensors) {
    return slice(Map.of(), tensors);
  }

  /**
   * The values a pass computing level {@code level}'s BatchNorm inputs leaves for the passes
   * after it: those that depend on the data, can be computed with the BatchNorms below
   * {@code level} alone (they depend on no BatchNorm of level {@code level} or above), and are
   * read by a node that cannot (one that depends on a BatchNorm of level {@code level} or
   * above). They include the level's BatchNorm inputs, the skip connections that cross it, and
   * values such as the batch size that an exporter computes once from the input. Computing
   * level {@code level + 1}'s inputs (and the next cut) needs only these values
   * ({@link #slice}). In the graph's topological order.
   */
  public List<String> cut(int level) {
    Set<String> initializers = initializerNames(proto.getGraph());
    Set<String> data = new HashSet<>(dataInputs());
    Map<String, Integer> depth = new HashMap<>();
    Map<String, Integer> bnLevel = new HashMap<>();
    batchNorms().forEach(l -> bnLevel.put(l.output(), l.level()));
    LinkedHashSet<String> out = new LinkedHashSet<>();
    for (NodeProto n : order) {
      int d = 0;
      boolean fromData = false;
      for (String in : inputsOf(n)) {
        d = Math.max(d, depth.getOrDefault(in, 0));
        fromData |= data.contains(in);
      }
      if (isBatchNorm(n) && bnLevel.containsKey(n.getOutput(0))) {
        d = Math.max(d, bnLevel.get(n.getOutput(0)) + 1);
      }
      if (d >= level + 1) {
        for (String in : inputsOf(n)) {
          if (data.contains(in) && !initializers.contains(in)
              && depth.getOrDefault(in, 0) <= level) {
            out.add(in);
          }
        }
      }
      for (String o : n.getOutputList()) {
        depth.put(o, d);
        if (fromData) {
          data.add(o);
        }
      }
    }
    return List.copyOf(out);
  }

  /**
   * The graph pruned to what computes {@code tensors} from the values {@code from}, which become
   * its inputs (all of them, in their order, of the given ONNX element types, shapes left open) in
   * place of what computes them; {@code tensors} become its outputs, in order. A tensor that no kept node computes (an
   * input, an initializer, or one of {@code from}) is passed through an Identity node, whose
   * output name {@link Capture#outputs()} gives in its place. Data inputs that the kept nodes do
   * not read are dropped.
   *
   * @param from values of the graph, each with its element type; empty to start from the inputs
   * @param tensors value names of the graph
   * @throws IllegalArgumentException if a tensor is not a value of the graph
   */
  public Capture slice(Map<String, Integer> from, List<String> tensors) {
    GraphProto g = proto.getGraph();
    Map<String, NodeProto> producer = new HashMap<>();
    for (NodeProto n : order) {
      for (String o : n.getOutputList()) {
        producer.put(o, n);
      }
    }
    Set<String> initializers = initializerNames(g);
    Set<String> graphInputs = new HashSet<>();
    g.getInputList().forEach(v -> graphInputs.add(v.getName()));
    Set<String> needed = new HashSet<>();
    ArrayDeque<String> work = new ArrayDeque<>();
    List<NodeProto> identities = new ArrayList<>();
    List<String> outputs = new ArrayList<>();
    for (String f : from.keySet()) {
      producer.remove(f);
    }
    for (String t : tensors) {
      if (!producer.containsKey(t) && !initializers.contains(t) && !graphInputs.contains(t)
          && !from.containsKey(t)) {
        throw new IllegalArgumentException("no value '" + t + "' in " + what);
      }
      if (producer.containsKey(t)) {
        outputs.add(t);
      } else {
        String out = t + CAPTURE_SUFFIX;
        identities.add(NodeProto.newBuilder().setOpType("Identity").setName(out).addInput(t)
            .addOutput(out).build());
        outputs.add(out);
      }
      if (needed.add(t)) {
        work.add(t);
      }
    }
    Set<NodeProto> keep = new HashSet<>();
    while (!work.isEmpty()) {
      NodeProto n = producer.get(work.poll());
      if (n == null || !keep.add(n)) {
        continue;
      }
      for (String in : inputsOf(n)) {
        if (!in.isEmpty() && needed.add(in)) {
          work.add(in);
        }
      }
    }
    GraphProto.Builder b = g.toBuilder().clearNode().clearInitializer().clearSparseInitializer()
        .clearInput().clearOutput().clearValueInfo();
    for (NodeProto n : order) {
      if (keep.contains(n)) {
        b.addNode(n);
      }
    }
    identities.forEach(b::addNode);
    for (TensorProto t : g.getInitializerList()) {
      if (needed.contains(t.getName())) {
        b.addInitializer(t);
      }
    }
    for (SparseTensorProto t : g.getSparseInitializerList()) {
      if (needed.contains(t.getValues().getName())) {
        b.addSparseInitializer(t);
      }
    }
    for (ValueInfoProto v : g.getInputList()) {
      if (needed.contains(v.getName()) && !from.containsKey(v.getName())) {
        b.addInput(v);
      }
    }
    for (Map.Entry<String, Integer> f : from.entrySet()) {
      { // every one, read or not, so that a caller feeds them all alike
        b.addInput(ValueInfoProto.newBuilder().setName(f.getKey()).setType(TypeProto.newBuilder()
            .setTensorType(TypeProto.Tensor.newBuilder().setElemType(f.getValue()))));
      }
    }
    for (ValueInfoProto v : g.getValueInfoList()) {
      if (needed.contains(v.getName()) && !from.containsKey(v.getName())) {
        b.addValueInfo(v);
      }
    }
    Map<String, ValueInfoProto> declared = new HashMap<>();
    g.getOutputList().forEach(v -> declared.put(v.getName(), v));
    for (String o : outputs) {
      b.addOutput(declared.getOrDefault(o, ValueInfoProto.newBuilder().setName(o).build()));
    }
    OnnxModel pruned = edited(proto.toBuilder().setGraph(b).build());
    return new Capture(pruned, List.copyOf(outputs));
  }

  /**
   * The model with every BatchNormalization normalizing with the statistics of the batch it is
   * run on, as in training mode: per channel, the mean and the biased (/n) variance over the N
   * items and all their positions, {@code Y = (X - mean) / sqrt(var + epsilon) * scale + B}. The
   * running statistics are not used. Built from standard operators (Shape, Reshape, ReduceMean,
   * Sub, Mul, Add, Sqrt, Div) so that any ONNX runtime runs it; the batch is whatever the caller
   * feeds, so a caller that wants minibatches of m rows runs batches of m.
   */
  public OnnxModel withBatchNormsInTrainingMode() {
    return TrainingModeGraph.of(this);
  }

}
