package io.normstats.spark;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RuntimeConfig;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.AttributeReference;
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
 * directly skips Spark's batch-to-row conversion, and lets the statistics copy each column into the
 * row buffer in one tight loop.
 *
 * <p>Only a physical plan of the form [WholeStageCodegen] [Project of columns] ColumnarToRow(scan)
 * qualifies: anything else (filters, computed columns, row-based sources, Spark's vectorized reader
 * turned off or not applicable) is read as rows.
 *
 * <p>Wide selections: Spark's file sources give batches only to plans of at most
 * {@code spark.sql.codegen.maxFields} (100) columns, and turn wider scans into rows with a projection
 * over every column, the slowest way to read a table of thousands of columns. Since these batches
 * are read by normstats and not by generated code, {@link #of} plans the scan with that limit above
 * the selection's width (the session's setting is restored before it returns).
 */
record ColumnarScan(RDD<ColumnarBatch> batches, int[] columns, DataType[] types) {
  private static final String MAX_FIELDS = "spark.sql.codegen.maxFields";

  /** The batches of {@code selected} (plain columns of {@code df}), if its plan is a columnar scan. */
  static Optional<ColumnarScan> of(Dataset<Row> selected) {
    RuntimeConfig conf = selected.sparkSession().conf();
    boolean set = conf.contains(MAX_FIELDS);
    String limit = conf.get(MAX_FIELDS);
    int width = selected.schema().size();
    if (width <= Integer.parseInt(limit)) { // Spark gives batches up to the limit
      return plan(selected);
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
    List<Attribute> output = CollectionConverters.asJava(plan.output());
    if (plan instanceof WholeStageCodegenExec stage) {
      plan = stage.child();
    }
    if (plan instanceof ProjectExec project) {
      for (NamedExpression e : CollectionConverters.asJava(project.projectList())) {
        if (!(e instanceof AttributeReference)) {
          return Optional.empty();
        }
      }
      plan = project.child();
    }
    if (!(plan instanceof ColumnarToRowExec toRows) || !toRows.child().supportsColumnar()) {
      return Optional.empty();
    }
    SparkPlan scan = toRows.child();
    List<Attribute> scanOutput = new ArrayList<>(CollectionConverters.asJava(scan.output()));
    int[] columns = new int[output.size()];
    DataType[] types = new DataType[output.size()];
    for (int j = 0; j < columns.length; j++) {
      Attribute a = output.get(j);
      int index = -1;
      for (int k = 0; k < scanOutput.size(); k++) {
        if (scanOutput.get(k).exprId().equals(a.exprId())) {
          index = k;
        }
      }
      if (index < 0) {
        return Optional.empty();
      }
      columns[j] = index;
      types[j] = a.dataType();
    }
    return Optional.of(new ColumnarScan(scan.executeColumnar(), columns, types));
  }
}
