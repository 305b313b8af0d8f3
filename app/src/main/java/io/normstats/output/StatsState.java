package io.normstats.output;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.normstats.InputException;
import io.normstats.exact.ScalarMoments;
import io.normstats.result.DatasetStatistics;
import io.normstats.result.FeatureStatistics;
import io.normstats.result.GroupStatistics;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The exact state a stats run leaves in {@code DIR/state/}, from which later runs continue
 * ({@code stats --previous DIR}) and runs over disjoint inputs combine ({@code merge-stats}), with
 * results bit-identical to one run over all the inputs.
 *
 * <p>Format version 1: {@code state/state.json} is {@code {"format": "normstats stats state",
 * "version": 1, "features": [names], "channels": C (0: per element or column), "group_by":
 * [{"name", "type"}] (empty without --group-by), "inputs": [{"path", "bytes", "modified"}]}}, the
 * inputs counted so far (qualified path, total bytes of its data files, latest modification time
 * in ms). {@code state/moments.parquet} has one row per group (or one row) and feature: the
 * group-by columns, {@code rows} (the group's rows), {@code feature} (the index) and {@code state}
 * (binary: {@link ScalarMoments#write}, its own format version 1).
 */
public final class StatsState {
  /** The format version this code writes and reads. */
  public static final int VERSION = 1;
  private static final String FORMAT = "normstats stats state";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One input counted: its qualified path, total bytes and latest modification (ms). */
  public record Input(String path, long bytes, long modified) {}

  /** One group (the only one, with an empty key, without --group-by). */
  public record Entry(List<Object> key, long rows, List<ScalarMoments> states) {}

  /** A run's state: what it is over, the inputs counted, and the entries. */
  public record State(List<String> features, int channels, StructType groupBy,
      List<Input> inputs, List<Entry> entries) {

    /** The ungrouped statistics. */
    public DatasetStatistics result() {
      Entry e = entries.get(0);
      List<FeatureStatistics> out = new ArrayList<>();
      for (int j = 0; j < features.size(); j++) {
        out.add(new FeatureStatistics(features.get(j), j,
            e.states().get(j).toFeatureMoments()));
      }
      return new DatasetStatistics(e.rows(), out, e.states());
    }

    /** The statistics per group, in key order. */
    public List<GroupStatistics> groups() {
      List<GroupStatistics> out = new ArrayList<>();
      for (Entry e : entries) {
        List<FeatureStatistics> f = new ArrayList<>();
        for (int j = 0; j < features.size(); j++) {
          f.add(new FeatureStatistics(features.get(j), j,
              e.states().get(j).toFeatureMoments()));
        }
        out.add(new GroupStatistics(e.key(), e.rows(), f, e.states()));
      }
      return out;
    }
  }

  private StatsState() {}

  /** The state of an ungrouped run. */
  public static State of(DatasetStatistics result, int channels, Input input) {
    List<String> names = result.features().stream().map(FeatureStatistics::name).toList();
    return new State(names, channels, new StructType(), List.of(input),
        List.of(new Entry(List.of(), result.rows(), result.states())));
  }

  /** The state of a grouped run. */
  public static State of(List<GroupStatistics> groups, StructType groupBy, int channels,
      Input input) {
    List<String> names = groups.get(0).features().stream().map(FeatureStatistics::name)
        .toList();
    List<Entry> entries = groups.stream().map(g -> new Entry(g.key(), g.rows(), g.states()))
        .toList();
    return new State(names, channels, groupBy, List.of(input), entries);
  }

  /**
   * What is recorded of input {@code path}: its qualified path, the total bytes of its files and
   * their latest modification time.
   *
   * @throws InputException (usage) if it cannot be read
   */
  public static Input describe(SparkSession spark, String path) {
    try {
      Path p = new Path(path);
      FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
      Path qualified = fs.makeQualified(p);
      long bytes = 0;
      long modified = 0;
      var files = fs.listFiles(qualified, true);
      while (files.hasNext()) {
        FileStatus f = files.next();
        bytes += f.getLen();
        modified = Math.max(modified, f.getModificationTime());
      }
      return new Input(qualified.toString(), bytes, modified);
    } catch (IOException e) {
      throw InputException.usage("cannot read input " + path + ": " + e.getMessage());
    }
  }

  /** Writes {@code state} into {@code out}'s staging directory, under state/. */
  public static void write(SparkSession spark, State state, OutputDirectory out)
      throws IOException {
    try (OutputStream stream = out.fileSystem().create(out.file("state/state.json"), false);
        JsonGenerator g = JsonFiles.generator(stream)) {
      g.writeStartObject();
      g.writeStringField("format", FORMAT);
      g.writeNumberField("version", VERSION);
      g.writeArrayFieldStart("features");
      for (String f : state.features()) {
        g.writeString(f);
      }
      g.writeEndArray();
      g.writeNumberField("channels", state.channels());
      g.writeArrayFieldStart("group_by");
      for (StructField f : state.groupBy().fields()) {
        g.writeStartObject();
        g.writeStringField("name", f.name());
        g.writeStringField("type", f.dataType().json());
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeArrayFieldStart("inputs");
      for (Input i : state.inputs()) {
        g.writeStartObject();
        g.writeStringField("path", i.path());
        g.writeNumberField("bytes", i.bytes());
        g.writeNumberField("modified", i.modified());
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
    }
    StructType schema = tableSchema(state.groupBy());
    List<Row> rows = new ArrayList<>();
    for (Entry e : state.entries()) {
      for (int j = 0; j < e.states().size(); j++) {
        List<Object> values = new ArrayList<>(e.key());
        values.add(e.rows());
        values.add(j);
        values.add(e.states().get(j).toBytes());
        rows.add(RowFactory.create(values.toArray()));
      }
    }
    StatsOutput.writeParquet(spark, rows, schema, out.file("state/moments.parquet"));
  }

  private static StructType tableSchema(StructType groupBy) {
    return new StructType(groupBy.fields()).add("rows", DataTypes.LongType, false)
        .add("feature", DataTypes.IntegerType, false).add("state", DataTypes.BinaryType, false);
  }

  /**
   * Reads the state a stats run left in {@code dir}.
   *
   * @throws InputException (usage) if {@code dir} has no state, or one of another format or
   *     version
   */
  public static State read(SparkSession spark, String dir) {
    Path json = new Path(new Path(dir, "state"), "state.json");
    JsonNode root;
    try {
      FileSystem fs = json.getFileSystem(spark.sparkContext().hadoopConfiguration());
      if (!fs.exists(json)) {
        throw InputException.usage(dir + " holds no stats state (no state/state.json): it is not "
            + "the output of a stats run of this version");
      }
      try (InputStream in = fs.open(json)) {
        root = JSON.readTree(in);
      }
    } catch (IOException e) {
      throw InputException.usage("cannot read the state of " + dir + ": " + e.getMessage());
    }
    if (!FORMAT.equals(root.path("format").asText())) {
      throw InputException.usage(json + " is not a normstats stats state");
    }
    int version = root.path("version").asInt(-1);
    if (version != VERSION) {
      throw InputException.usage("the state in " + dir + " has format version " + version
          + "; this normstats reads version " + VERSION);
    }
    List<String> features = new ArrayList<>();
    root.path("features").forEach(n -> features.add(n.asText()));
    StructType groupBy = new StructType();
    for (JsonNode f : root.path("group_by")) {
      groupBy = groupBy.add(f.path("name").asText(), DataType.fromJson(f.path("type").asText()));
    }
    List<Input> inputs = new ArrayList<>();
    for (JsonNode i : root.path("inputs")) {
      inputs.add(new Input(i.path("path").asText(), i.path("bytes").asLong(),
          i.path("modified").asLong()));
    }
    int k = groupBy.size();
    Map<List<Object>, Entry> entries = new LinkedHashMap<>();
    List<Row> rows = spark.read().parquet(new Path(new Path(dir, "state"), "moments.parquet")
        .toString()).collectAsList();
    for (Row r : rows) {
      List<Object> key = new ArrayList<>();
      for (int i = 0; i < k; i++) {
        key.add(r.get(i));
      }
      Entry e = entries.computeIfAbsent(key, unused -> new Entry(key, r.getLong(k),
          new ArrayList<>(java.util.Collections.nCopies(features.size(), (ScalarMoments) null))));
      e.states().set(r.getInt(k + 1), ScalarMoments.fromBytes((byte[]) r.get(k + 2)));
    }
    List<Entry> sorted = new ArrayList<>(entries.values());
    sorted.sort(Comparator.comparing(Entry::key, StatsState::compareKeys));
    return new State(features, root.path("channels").asInt(), groupBy, inputs, sorted);
  }

  /**
   * {@code a} and {@code b} combined: every group's states merged exactly, rows added, inputs
   * joined.
   *
   * @throws InputException (usage) if they are over other features, channels or group-by
   *     columns, or have an input in common (it would be counted twice)
   */
  public static State merge(State a, String aName, State b, String bName) {
    if (!a.features().equals(b.features())) {
      throw InputException.usage(bName + " has statistics of other features than " + aName + ": "
          + abbreviate(b.features()) + " and " + abbreviate(a.features()));
    }
    if (a.channels() != b.channels()) {
      throw InputException.usage(bName + " has " + b.channels() + " channels, " + aName + " "
          + a.channels());
    }
    if (!a.groupBy().equals(b.groupBy())) {
      throw InputException.usage(bName + " is grouped by " + a.groupBy().simpleString() + " and "
          + aName + " by " + b.groupBy().simpleString());
    }
    for (Input i : b.inputs()) {
      for (Input j : a.inputs()) {
        if (i.path().equals(j.path())) {
          throw InputException.usage("input " + i.path() + " is counted in both " + aName
              + " and " + bName + ": it would be counted twice");
        }
      }
    }
    Map<List<Object>, Entry> merged = new LinkedHashMap<>();
    for (State s : List.of(a, b)) {
      for (Entry e : s.entries()) {
        Entry have = merged.get(e.key());
        if (have == null) {
          List<ScalarMoments> copies = new ArrayList<>();
          for (ScalarMoments m : e.states()) {
            copies.add(ScalarMoments.fromBytes(m.toBytes()));
          }
          merged.put(e.key(), new Entry(e.key(), e.rows(), copies));
        } else {
          for (int j = 0; j < have.states().size(); j++) {
            have.states().get(j).merge(e.states().get(j));
          }
          merged.put(e.key(), new Entry(e.key(), have.rows() + e.rows(), have.states()));
        }
      }
    }
    List<Entry> sorted = new ArrayList<>(merged.values());
    sorted.sort(Comparator.comparing(Entry::key, StatsState::compareKeys));
    List<Input> inputs = new ArrayList<>(a.inputs());
    inputs.addAll(b.inputs());
    return new State(a.features(), a.channels(), a.groupBy(), List.copyOf(inputs), sorted);
  }

  private static String abbreviate(List<String> names) {
    return names.size() <= 4 ? names.toString()
        : "[" + String.join(", ", names.subList(0, 3)) + ", ... " + names.size() + " in all]";
  }

  /** Keys in order: element by element, nulls first (Spark's ascending order). */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private static int compareKeys(List<Object> a, List<Object> b) {
    for (int i = 0; i < a.size(); i++) {
      Object x = a.get(i);
      Object y = b.get(i);
      if (Objects.equals(x, y)) {
        continue;
      }
      if (x == null) {
        return -1;
      }
      if (y == null) {
        return 1;
      }
      int c = x instanceof Comparable cx ? cx.compareTo(y) : x.toString().compareTo(y.toString());
      if (c != 0) {
        return c;
      }
    }
    return 0;
  }
}
