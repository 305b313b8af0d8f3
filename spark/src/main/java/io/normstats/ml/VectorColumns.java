package io.normstats.ml;

import io.normstats.InputException;
import io.normstats.norm.VectorNormalization;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.attribute.AttributeGroup;
import org.apache.spark.ml.linalg.DenseVector;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The vector-column plumbing every normalization stage shares: schema validation and the row-wise
 * transform with handleInvalid.
 */
final class VectorColumns {
  private VectorColumns() {}

  /**
   * The output schema: the input's fields plus {@code outputCol}.
   *
   * @param length the vector length the stage needs, or 0 for any
   * @throws IllegalArgumentException if the input column is missing or not a vector type, its
   *     metadata gives another length, or the output column exists
   */
  static StructType transformSchema(StructType schema, String inputCol, String outputCol,
      String outputType, int length) {
    StructField in = field(schema, inputCol);
    if (List.of(schema.fieldNames()).contains(outputCol)) {
      throw new IllegalArgumentException("output column '" + outputCol + "' already exists");
    }
    int known = in.dataType() instanceof VectorUDT ? AttributeGroup.fromStructField(in).size() : -1;
    if (length > 0 && known >= 0 && known != length) {
      throw new IllegalArgumentException("column '" + inputCol + "' has vectors of length " + known
          + ", expected " + length);
    }
    DataType out;
    if ("array".equals(outputType)) {
      out = in.dataType() instanceof ArrayType a ? a : DataTypes.createArrayType(DataTypes.DoubleType, false);
      return schema.add(new StructField(outputCol, out, true,
          org.apache.spark.sql.types.Metadata.empty()));
    }
    int size = length > 0 ? length : known;
    StructField vector = size >= 0 ? new AttributeGroup(outputCol, size).toStructField()
        : new StructField(outputCol, new VectorUDT(), true, org.apache.spark.sql.types.Metadata.empty());
    return schema.add(new StructField(outputCol, new VectorUDT(), true, vector.metadata()));
  }

  /** The field {@code name}; it must be a Vector, array&lt;double&gt; or array&lt;float&gt;. */
  static StructField field(StructType schema, String name) {
    if (name == null) {
      throw new IllegalArgumentException("inputCol is not set");
    }
    for (StructField f : schema.fields()) {
      if (f.name().equals(name)) {
        DataType t = f.dataType();
        boolean ok = t instanceof VectorUDT || (t instanceof ArrayType a
            && (a.elementType() == DataTypes.DoubleType || a.elementType() == DataTypes.FloatType));
        if (!ok) {
          throw new IllegalArgumentException("column '" + name + "' is " + t.simpleString()
              + ", not a vector, array<double> or array<float>");
        }
        return f;
      }
    }
    throw new IllegalArgumentException("unknown column '" + name + "' (columns: "
        + String.join(", ", schema.fieldNames()) + ")");
  }

  /**
   * Adds {@code outputCol} = the normalization of {@code inputCol} to every row.
   *
   * <p>handleInvalid: a null vector or a NaN or infinite element fails the job naming the column
   * ("error"), drops the row ("skip"), or gives a null output / passes the non-finite value through
   * ("keep"). A vector of the wrong length always fails.
   *
   * @param normalizations the normalization for a vector length; throws IllegalArgumentException
   *     for a length it cannot take
   */
  static Dataset<Row> transform(Dataset<?> dataset, String inputCol, String outputCol,
      String outputType, String handleInvalid, int length,
      SerializableIntFunction<VectorNormalization> normalizations) {
    StructType schema = dataset.schema();
    StructType outSchema = transformSchema(schema, inputCol, outputCol, outputType, length);
    int index = schema.fieldIndex(inputCol);
    DataType inType = schema.fields()[index].dataType();
    boolean floats = inType instanceof ArrayType a && a.elementType() == DataTypes.FloatType;
    boolean asArray = "array".equals(outputType);
    int width = schema.size();
    MapPartitionsFunction<Row, Row> f = rows -> new Iterator<>() {
      final Map<Integer, VectorNormalization.Applier> appliers = new HashMap<>();
      Row next;

      @Override
      public boolean hasNext() {
        while (next == null && rows.hasNext()) {
          next = normalize(rows.next());
        }
        return next != null;
      }

      @Override
      public Row next() {
        if (!hasNext()) {
          throw new java.util.NoSuchElementException();
        }
        Row r = next;
        next = null;
        return r;
      }

      /** The output row, or null to skip the input row. */
      private Row normalize(Row row) {
        Object[] values = new Object[width + 1];
        for (int i = 0; i < width; i++) {
          values[i] = row.get(i);
        }
        if (row.isNullAt(index)) {
          return invalid("a null value", values);
        }
        double[] x = read(row, index, inType, inputCol);
        if (length > 0 && x.length != length) {
          throw InputException.data("column '" + inputCol + "' has a vector of length " + x.length
              + ", expected " + length);
        }
        for (double v : x) {
          if (!Double.isFinite(v)) {
            if ("keep".equals(handleInvalid)) {
              break;
            }
            return invalid("a NaN or infinite value", values);
          }
        }
        VectorNormalization.Applier applier = appliers.computeIfAbsent(x.length, len -> {
          try {
            return normalizations.apply(len).applier();
          } catch (IllegalArgumentException e) {
            throw InputException.data("column '" + inputCol + "': " + e.getMessage());
          }
        });
        double[] y = new double[x.length];
        applier.apply(x, y);
        values[width] = asArray ? boxed(y, floats) : Vectors.dense(y);
        return RowFactory.create(values);
      }

      private Row invalid(String what, Object[] values) {
        switch (handleInvalid) {
          case "skip":
            return null;
          case "keep":
            values[width] = null;
            return RowFactory.create(values);
          default:
            throw InputException.data("column '" + inputCol + "' has " + what
                + " (handleInvalid=error; set it to skip or keep)");
        }
      }
    };
    return dataset.toDF().mapPartitions(f, Encoders.row(outSchema));
  }

  /** The rows whose {@code column} vector is present and all finite. */
  static Dataset<Row> dropInvalid(Dataset<Row> df, String column) {
    int index = df.schema().fieldIndex(column);
    DataType type = df.schema().fields()[index].dataType();
    return df.filter((org.apache.spark.api.java.function.FilterFunction<Row>) row -> {
      if (row.isNullAt(index)) {
        return false;
      }
      for (double v : read(row, index, type, column)) {
        if (!Double.isFinite(v)) {
          return false;
        }
      }
      return true;
    });
  }

  /** An IntFunction that Spark can ship to executors. */
  interface SerializableIntFunction<T> extends IntFunction<T>, java.io.Serializable {}

  /** The vector of {@code row}'s field {@code index} as doubles. */
  static double[] read(Row row, int index, DataType type, String column) {
    if (type instanceof VectorUDT) {
      Vector v = (Vector) row.get(index);
      if (v instanceof DenseVector d) {
        return d.values().clone();
      }
      SparseVector s = (SparseVector) v;
      double[] x = new double[s.size()];
      int[] indices = s.indices();
      double[] vals = s.values();
      for (int k = 0; k < indices.length; k++) {
        x[indices[k]] = vals[k];
      }
      return x;
    }
    List<Object> list = row.getList(index);
    double[] x = new double[list.size()];
    for (int k = 0; k < x.length; k++) {
      Object o = list.get(k);
      x[k] = o == null ? Double.NaN : ((Number) o).doubleValue();
    }
    return x;
  }

  private static Object boxed(double[] y, boolean floats) {
    if (floats) {
      Float[] out = new Float[y.length];
      for (int k = 0; k < y.length; k++) {
        out[k] = (float) y[k];
      }
      return out;
    }
    Double[] out = new Double[y.length];
    for (int k = 0; k < y.length; k++) {
      out[k] = y[k];
    }
    return out;
  }

  /** The values of {@code v}, or null for a null vector (an unset weight or bias). */
  static double[] array(org.apache.spark.ml.linalg.Vector v) {
    return v == null ? null : v.toArray();
  }
}
