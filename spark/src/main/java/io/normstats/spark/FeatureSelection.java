package io.normstats.spark;

import io.normstats.InputException;
import io.normstats.spark.internal.ArrayCopy;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.spark.ml.attribute.AttributeGroup;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Which features of a DataFrame the statistics are over: a list of scalar numeric columns (one
 * feature each), or one vector column (one feature per element): a Spark ML {@link Vector}, dense or
 * sparse, or an {@code array<double>} / {@code array<float>}.
 *
 * <p>Scalar columns of any numeric type are converted to double first: exact for byte, short, int,
 * float and for long or decimal values of at most 53 significant bits; larger ones are rounded to the
 * nearest double. Feature names are the column names, or {@code col[i]} for element {@code i} of a
 * vector column {@code col}.
 */
public final class FeatureSelection implements Serializable {
  private static final long serialVersionUID = 1L;

  /** How the features are laid out in the DataFrame. */
  public enum Kind {
    /** Scalar numeric columns, one feature each. */
    SCALARS,
    /** One Spark ML Vector column. */
    VECTOR,
    /** One array&lt;double&gt; or array&lt;float&gt; column. */
    ARRAY
  }

  private final Kind kind;
  private final List<String> columns;
  private static final int UNKNOWN = -1;
  private final int length;
  private final int channels;

  private FeatureSelection(Kind kind, List<String> columns, int length) {
    this(kind, columns, length, 0);
  }

  private FeatureSelection(Kind kind, List<String> columns, int length, int channels) {
    this.kind = kind;
    this.columns = List.copyOf(columns);
    this.length = length;
    this.channels = channels;
  }

  /**
   * The same vector column read as {@code c} channels (BatchNorm2d): a vector of length
   * {@code C*H*W} in channel-major order has one feature per channel, over all of its H*W elements
   * in every row.
   *
   * @throws InputException (usage) if the features are scalar columns, or {@code c} is below 1 or
   *     does not divide the vector length
   */
  public FeatureSelection withChannels(int c) {
    if (kind == Kind.SCALARS) {
      throw InputException.usage("channels need a vector column, not scalar columns " + columns);
    }
    if (c < 1 || (length != UNKNOWN && length % c != 0)) {
      throw InputException.usage(c + " channels do not divide column '" + columns.get(0)
          + "' of vectors of length " + length);
    }
    return new FeatureSelection(kind, columns, length, c);
  }

  /**
   * Whether the vector length is known: always, except after {@link #resolveDeferred} for a vector
   * column without ML attribute metadata, before the statistics pass has read it.
   */
  public boolean lengthKnown() {
    return length != UNKNOWN;
  }

  /**
   * This selection with the vector length read from the data.
   *
   * @throws InputException (usage) if the channels do not divide {@code n}
   */
  FeatureSelection withLength(int n) {
    FeatureSelection known = new FeatureSelection(kind, columns, n, 0);
    return channels == 0 ? known : known.withChannels(channels);
  }

  private int known(int value) {
    if (length == UNKNOWN) {
      throw new IllegalStateException("the length of column '" + columns.get(0)
          + "' is read by the statistics pass; use the selection it returns");
    }
    return value;
  }

  /** The number of channels, or 0 when every element is its own feature. */
  public int channels() {
    return channels;
  }

  /** The length of each row's vector (the number of scalar columns for scalars). */
  public int vectorLength() {
    return known(length);
  }

  /** Values per row and feature: {@code H*W} with channels, else 1. */
  public int valuesPerFeature() {
    return channels == 0 ? 1 : known(length) / channels;
  }

  /**
   * Resolves the features of {@code df}.
   *
   * @param features the scalar columns to use, or null
   * @param vectorColumn the vector column to use, or null (at most one of the two is given)
   * @return with neither given: every numeric scalar column, or, if there is none, the only vector
   *     or array column
   * @throws InputException (usage) for an unknown column, a column of the wrong type, or no usable
   *     column; (data) when a vector column has no non-null value to take the length from
   */
  public static FeatureSelection resolve(Dataset<Row> df, List<String> features, String vectorColumn) {
    return resolve(df, features, vectorColumn, true);
  }

  /**
   * As {@link #resolve}, except that the length of a vector column without ML attribute metadata
   * is not read here (which costs a Spark job) but by {@link ExactStatistics#compute}, from the
   * data it reads anyway; until then {@link #lengthKnown()} is false and the sizes are unavailable.
   *
   * @throws InputException (usage) as {@link #resolve}
   */
  public static FeatureSelection resolveDeferred(Dataset<Row> df, List<String> features,
      String vectorColumn) {
    return resolve(df, features, vectorColumn, false);
  }

  private static FeatureSelection resolve(Dataset<Row> df, List<String> features,
      String vectorColumn, boolean readLength) {
    StructType schema = df.schema();
    if (features != null && vectorColumn != null) {
      throw InputException.usage("give either --features or --vector-col, not both");
    }
    if (vectorColumn != null) {
      StructField field = field(schema, vectorColumn);
      if (!isVectorLike(field.dataType())) {
        throw InputException.usage("column '" + vectorColumn + "' is "
            + field.dataType().simpleString() + ", not a vector, array<double> or array<float>");
      }
      return vector(df, field, readLength);
    }
    if (features != null) {
      if (features.isEmpty()) {
        throw InputException.usage("--features lists no column");
      }
      for (String name : features) {
        StructField field = field(schema, name);
        if (!isNumeric(field.dataType())) {
          throw InputException.usage("column '" + name + "' is " + field.dataType().simpleString()
              + ", not numeric");
        }
      }
      if (features.stream().distinct().count() != features.size()) {
        throw InputException.usage("--features lists a column twice: " + features);
      }
      return new FeatureSelection(Kind.SCALARS, features, features.size());
    }
    List<String> numeric = Arrays.stream(schema.fields())
        .filter(f -> isNumeric(f.dataType())).map(StructField::name).collect(Collectors.toList());
    if (!numeric.isEmpty()) {
      return new FeatureSelection(Kind.SCALARS, numeric, numeric.size());
    }
    List<StructField> vectors = Arrays.stream(schema.fields())
        .filter(f -> isVectorLike(f.dataType())).collect(Collectors.toList());
    if (vectors.size() == 1) {
      return vector(df, vectors.get(0), readLength);
    }
    String all = Arrays.stream(schema.fields()).map(f -> f.name() + ":" + f.dataType().simpleString())
        .collect(Collectors.joining(", "));
    throw InputException.usage(vectors.isEmpty()
        ? "no numeric or vector column in the input (columns: " + all + ")"
        : "several vector columns and no numeric column: choose one with --vector-col (columns: "
            + all + ")");
  }

  private static FeatureSelection vector(Dataset<Row> df, StructField field, boolean readLength) {
    Kind kind = field.dataType() instanceof VectorUDT ? Kind.VECTOR : Kind.ARRAY;
    int length = -1;
    if (kind == Kind.VECTOR) {
      length = AttributeGroup.fromStructField(field).size(); // -1 when the metadata does not say
    }
    if (length < 0 && !readLength) {
      return new FeatureSelection(kind, List.of(field.name()), UNKNOWN);
    }
    if (length < 0) {
      Column c = quoted(field.name());
      List<Row> first = df.select(c).filter(c.isNotNull()).limit(1).collectAsList();
      if (first.isEmpty()) {
        throw InputException.data("column '" + field.name()
            + "' has no non-null value to take the vector length from");
      }
      Object v = first.get(0).get(0);
      length = v instanceof Vector vec ? vec.size() : first.get(0).getList(0).size();
    }
    return new FeatureSelection(kind, List.of(field.name()), length);
  }

  /**
   * The field {@code name} of {@code schema}.
   *
   * @throws InputException (usage) naming the column and the schema's columns if it is missing
   */
  public static StructField field(StructType schema, String name) {
    for (StructField f : schema.fields()) {
      if (f.name().equals(name)) {
        return f;
      }
    }
    String all = Arrays.stream(schema.fieldNames()).collect(Collectors.joining(", "));
    throw InputException.usage("unknown column '" + name + "' (columns: " + all + ")");
  }

  static boolean isNumeric(DataType t) {
    return t == DataTypes.ByteType || t == DataTypes.ShortType || t == DataTypes.IntegerType
        || t == DataTypes.LongType || t == DataTypes.FloatType || t == DataTypes.DoubleType
        || t instanceof DecimalType;
  }

  static boolean isVectorLike(DataType t) {
    if (t instanceof VectorUDT) {
      return true;
    }
    return t instanceof ArrayType a
        && (a.elementType() == DataTypes.DoubleType || a.elementType() == DataTypes.FloatType);
  }

  /** A column reference that treats dots and spaces in the name literally. */
  public static Column quoted(String name) {
    return functions.col("`" + name.replace("`", "``") + "`");
  }

  /** How the features are laid out. */
  public Kind kind() {
    return kind;
  }

  /** The input columns read: the scalar columns, or the one vector column. */
  public List<String> columns() {
    return columns;
  }

  /** The number of features: the scalar columns, the vector elements, or the channels. */
  public int size() {
    return channels == 0 ? known(length) : channels;
  }

  /**
   * The name of feature {@code i}: its column, {@code column[i]} for a vector element, or
   * {@code column[channel i]} for a channel.
   */
  public String featureName(int i) {
    known(length);
    if (kind == Kind.SCALARS) {
      return columns.get(i);
    }
    return columns.get(0) + (channels == 0 ? "[" + i + "]" : "[channel " + i + "]");
  }

  /**
   * As {@link #values(Row)}, for Spark's internal row of the {@link #projection()}, into
   * {@code out[0 .. vectorLength())}: no Row, Vector or boxed value per row, one memory copy for a
   * dense vector or array (Spark's {@code UnsafeArrayData}).
   *
   * @throws InputException (data) for a null value or vector, or a vector of another length
   */
  public void values(InternalRow row, double[] out) {
    values(row, out, 0, "");
  }

  /**
   * As {@link #values(InternalRow, double[])}, into {@code out[offset .. offset +
   * vectorLength())}, with {@code why} appended to the message of a null value, vector, array or
   * element (for example "; the network needs complete rows").
   *
   * @throws InputException (data) for a null value or vector, or a vector of another length
   */
  public void values(InternalRow row, double[] out, int offset, String why) {
    String column = columns.get(0);
    switch (kind) {
      case SCALARS -> {
        for (int j = 0; j < length; j++) {
          if (row.isNullAt(j)) {
            throw InputException.data("column '" + columns.get(j) + "' has a null value" + why);
          }
          out[offset + j] = row.getDouble(j);
        }
      }
      case VECTOR -> {
        if (row.isNullAt(0)) {
          throw InputException.data("column '" + column + "' has a null vector" + why);
        }
        InternalRow vector = row.getStruct(0, RowFolding.VECTOR_FIELDS);
        ArrayData values = vector.getArray(3);
        if (vector.getByte(0) == RowFolding.DENSE) {
          checkLength(values.numElements());
          ArrayCopy.doubles(values, length, out, offset);
        } else {
          checkLength(vector.getInt(1));
          Arrays.fill(out, offset, offset + length, 0.0);
          ArrayData indices = vector.getArray(2);
          for (int k = 0; k < indices.numElements(); k++) {
            out[offset + indices.getInt(k)] = values.getDouble(k);
          }
        }
      }
      case ARRAY -> {
        if (row.isNullAt(0)) {
          throw InputException.data("column '" + column + "' has a null array" + why);
        }
        ArrayData values = row.getArray(0);
        checkLength(values.numElements());
        for (int j = 0; j < length; j++) {
          if (values.isNullAt(j)) {
            throw InputException.data("column '" + column + "' has a null element" + why);
          }
        }
        ArrayCopy.doubles(values, length, out, offset);
      }
    }
  }

  /**
   * The features of one row of the {@link #projection()} (read from its leading columns) as a new
   * dense array of {@link #size()} values.
   *
   * @throws InputException (data) for a null value or vector, or a vector of another length
   */
  public double[] values(Row row) {
    double[] out = new double[length];
    String column = columns.get(0);
    switch (kind) {
      case SCALARS -> {
        for (int j = 0; j < length; j++) {
          if (row.isNullAt(j)) {
            throw InputException.data("column '" + columns.get(j) + "' has a null value");
          }
          out[j] = row.getDouble(j);
        }
      }
      case VECTOR -> {
        if (row.isNullAt(0)) {
          throw InputException.data("column '" + column + "' has a null vector");
        }
        Vector v = (Vector) row.get(0);
        checkLength(v.size());
        if (v instanceof org.apache.spark.ml.linalg.DenseVector dense) {
          System.arraycopy(dense.values(), 0, out, 0, length);
        } else {
          org.apache.spark.ml.linalg.SparseVector sparse = (org.apache.spark.ml.linalg.SparseVector) v;
          int[] indices = sparse.indices();
          double[] values = sparse.values();
          for (int k = 0; k < indices.length; k++) {
            out[indices[k]] = values[k];
          }
        }
      }
      case ARRAY -> {
        if (row.isNullAt(0)) {
          throw InputException.data("column '" + column + "' has a null array");
        }
        List<Object> values = row.getList(0);
        checkLength(values.size());
        for (int j = 0; j < length; j++) {
          Object x = values.get(j);
          if (x == null) {
            throw InputException.data("column '" + column + "' has a null element");
          }
          out[j] = (Double) x;
        }
      }
    }
    return out;
  }

  /** @throws InputException (data) if a row's vector length {@code actual} is not the selection's */
  void checkLength(int actual) {
    if (actual != length) {
      throw InputException.data("column '" + columns.get(0) + "' has vectors of different lengths: "
          + length + " (the first one) and " + actual);
    }
  }

  /** The selected input columns as they are, without casts. */
  Column[] columnReferences() {
    return columns.stream().map(FeatureSelection::quoted).toArray(Column[]::new);
  }

  /**
   * The projection the accumulation reads: scalar columns cast to double, or the vector column
   * (arrays cast to {@code array<double>}, exact for floats).
   */
  public Column[] projection() {
    List<Column> out = new ArrayList<>();
    for (String name : columns) {
      Column c = quoted(name);
      out.add(switch (kind) {
        case SCALARS -> c.cast(DataTypes.DoubleType);
        case ARRAY -> c.cast(DataTypes.createArrayType(DataTypes.DoubleType));
        case VECTOR -> c;
      });
    }
    return out.toArray(new Column[0]);
  }
}
