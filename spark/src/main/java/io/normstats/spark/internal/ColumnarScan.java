package io.normstats.spark.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RuntimeConfig;
import org.apache.spark.sql.catalyst.expressions.Alias;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.AttributeReference;
import org.apache.spark.sql.catalyst.expressions.CreateNamedStruct;
import org.apache.spark.sql.catalyst.expressions.ExprId;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.GetStructField;
import org.apache.spark.sql.catalyst.expressions.KnownNotNull;
import org.apache.spark.sql.catalyst.expressions.NamedExpression;
import org.apache.spark.sql.execution.ColumnarToRowExec;
import org.apache.spark.sql.execution.ProjectExec;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.execution.WholeStageCodegenExec;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.vectorized.ColumnarBatch;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The columnar batches behind a plain column selection from a columnar source: Spark's vectorized
 * Parquet or ORC reader, or another scan that produces {@link ColumnarBatch}es. Reading them
 * directly skips Spark's batch-to-row conversion, and lets the statistics copy each column, a run
 * of rows at a time, into the tiles they sum
 * ({@link io.normstats.exact.MomentAccumulator#addColumns}).
 *
 * <p>Only a physical plan of the form [WholeStageCodegen] [Projects] ColumnarToRow(scan) whose
 * every output column is a column of the scan qualifies: renamed columns, and fields of the hidden
 * {@code _metadata} column (the file and split each row came from, which the scan gives as
 * per-file constant columns) count as such. Anything else (filters, computed columns, row-based
 * sources, Spark's vectorized reader turned off or not applicable) is read as rows.
 *
 * <p>Wide selections: Spark's file sources give batches only to plans of at most
 * {@code spark.sql.codegen.maxFields} (100) columns, and turn wider scans into rows with a projection
 * over every column, the slowest way to read a table of thousands of columns. The limit is read
 * from the session the file relation belongs to (the caller's), so the only way to plan a wider
 * scan as batches is to raise it there while planning. normstats does that only when its caller
 * says the session allows it ({@code io.normstats.spark.ExactStatistics#PLAN_WIDE_SCANS}, which the
 * jobs set on the session they own): any other query planned in that session meanwhile would see
 * the raised limit. Elsewhere a wider selection is read as rows: the same bits, more time.
 *
 * @param batches the scan's batches, one RDD partition per scan partition
 * @param columns for each selected column, its index among the batch's columns
 * @param types for each selected column, its type
 */
public record ColumnarScan(RDD<ColumnarBatch> batches, int[] columns, DataType[] types) {
  private static final String MAX_FIELDS = "spark.sql.codegen.maxFields";

  /**
   * The batches of {@code selected} (plain columns of a DataFrame), if its plan is a columnar scan.
   *
   * @param planWide whether a selection wider than {@code spark.sql.codegen.maxFields} may be
   *     planned by raising that limit on {@code selected}'s session while planning (only where
   *     nothing else plans queries in that session meanwhile); if false such a selection is empty
   */
  public static Optional<ColumnarScan> of(Dataset<Row> selected, boolean planWide) {
    RuntimeConfig conf = selected.sparkSession().conf();
    boolean set = conf.contains(MAX_FIELDS);
    String limit = conf.get(MAX_FIELDS);
    int width = selected.schema().size();
    if (width <= Integer.parseInt(limit)) { // Spark gives batches up to the limit
      return plan(selected);
    }
    if (!planWide) {
      return Optional.empty(); // the caller's session: read as rows rather than touch its conf
    }
    conf.set(MAX_FIELDS, Integer.toString(width));
    try {
      return plan(selected);
    } finally {
      if (set) {
        conf.set(MAX_FIELDS, limit);
      } else {
        conf.unset(MAX_FIELDS);
      }
    }
  }

  private static Optional<ColumnarScan> plan(Dataset<Row> selected) {
    SparkPlan plan = selected.queryExecution().executedPlan();
    // copies: the plans' outputs are Scala Lists, linear to index (and to size)
    List<Attribute> output = new ArrayList<>(CollectionConverters.asJava(plan.output()));
    if (plan instanceof WholeStageCodegenExec stage) {
      plan = stage.child();
    }
    Map<ExprId, Expression> aliases = new HashMap<>();
    while (plan instanceof ProjectExec project) {
      for (NamedExpression e : CollectionConverters.asJava(project.projectList())) {
        if (e instanceof Alias alias) {
          aliases.put(alias.exprId(), alias.child());
        }
      }
      plan = project.child();
    }
    if (!(plan instanceof ColumnarToRowExec toRows) || !toRows.child().supportsColumnar()) {
      return Optional.empty();
    }
    SparkPlan scan = toRows.child();
    // by id, not by scanning: a selection of thousands of columns (quadratic cost otherwise)
    Map<ExprId, Integer> scanColumns = new HashMap<>();
    List<Attribute> scanOutput = new ArrayList<>(CollectionConverters.asJava(scan.output()));
    for (int k = 0; k < scanOutput.size(); k++) {
      scanColumns.put(scanOutput.get(k).exprId(), k);
    }
    Map<CreateNamedStruct, List<Expression>> structFields = new IdentityHashMap<>();
    int[] columns = new int[output.size()];
    DataType[] types = new DataType[output.size()];
    for (int j = 0; j < columns.length; j++) {
      Attribute a = output.get(j);
      Expression source = resolve(a, aliases, structFields);
      Integer index = source instanceof AttributeReference ref ? scanColumns.get(ref.exprId())
          : null;
      if (index == null) {
        return Optional.empty();
      }
      columns[j] = index;
      types[j] = a.dataType();
    }
    return Optional.of(new ColumnarScan(scan.executeColumnar(), columns, types));
  }

  /**
   * The expression {@code e} stands for below the projections: an attribute passes through,
   * an alias is its child, and a field of a struct built by a projection (Spark builds the hidden
   * {@code _metadata} column so, from per-file constant columns of the scan) is that field's value.
   * Anything computed resolves to itself, which no scan column matches.
   */
  private static Expression resolve(Expression e, Map<ExprId, Expression> aliases,
      Map<CreateNamedStruct, List<Expression>> structFields) {
    if (e instanceof AttributeReference ref && aliases.containsKey(ref.exprId())) {
      return resolve(aliases.get(ref.exprId()), aliases, structFields);
    }
    if (e instanceof Alias alias) {
      return resolve(alias.child(), aliases, structFields);
    }
    if (e instanceof KnownNotNull known) {
      return resolve(known.child(), aliases, structFields);
    }
    if (e instanceof GetStructField field
        && resolve(field.child(), aliases, structFields) instanceof CreateNamedStruct struct) {
      // valExprs is a Scala List: index a copy, not the list (linear per lookup)
      List<Expression> values = structFields.computeIfAbsent(struct,
          s -> new ArrayList<>(CollectionConverters.asJava(s.valExprs())));
      return resolve(values.get(field.ordinal()), aliases, structFields);
    }
    return e;
  }
}
