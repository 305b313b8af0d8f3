package io.normstats.spark.internal;

import io.normstats.exact.ExactMoments;
import io.normstats.exact.ScalarMoments;
import io.normstats.sql.ExactFunctions;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.analysis.TypeCheckResult;
import org.apache.spark.sql.catalyst.expressions.BoundReference;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.SpecializedGetters;
import org.apache.spark.sql.catalyst.expressions.aggregate.TypedImperativeAggregate;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.catalyst.util.GenericArrayData;
import org.apache.spark.sql.classic.ExpressionUtils;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.ByteType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Decimal;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.DoubleType;
import org.apache.spark.sql.types.FloatType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.NullType;
import org.apache.spark.sql.types.ShortType;
import org.apache.spark.sql.types.StructType;
import scala.collection.immutable.IndexedSeq;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The exact aggregate functions as one Catalyst aggregate expression ({@link
 * TypedImperativeAggregate}, planned as Spark's object hash aggregation): each group's values are
 * folded into a {@link ScalarMoments} (one per element for a vector or array column), partial
 * states merge exactly, and {@link #eval(MomentsBuffer)} rounds once. The result is therefore
 * bit-for-bit the same for any partitioning, row order and plan.
 *
 * <p>Input: a double, float, byte, short, integer, long or decimal column, each value converted to
 * the nearest double (exact for floats, integers and longs up to 2^53; decimals correctly rounded);
 * for {@link Statistic#MOMENTS} also an ML {@code Vector} column or an array of those numeric
 * types, summarized per element (every non-NULL row of a group must have the same length; a NULL
 * row counts as a null for each element, as the stats job counts it). Between partial and final
 * aggregation (and in a streaming query's state store) the state is {@link MomentsBuffer}'s bytes,
 * serialized directly, without Kryo.
 */
public final class ExactAggregate extends TypedImperativeAggregate<MomentsBuffer>
    implements java.io.Serializable {
  private static final long serialVersionUID = 1L;

  /** What the function returns. */
  public enum Statistic {
    MEAN, VAR_POP, VAR_SAMP, STDDEV_POP, STDDEV_SAMP, MOMENTS,
    /** The mergeable state itself, as {@link MomentsBuffer}'s bytes (not a SQL function). */
    STATE;

    private final String sqlName = "exact_" + name().toLowerCase(Locale.ROOT);

    /** The SQL name: exact_mean, exact_var_pop, ..., exact_moments, exact_state. */
    public String sqlName() {
      return sqlName;
    }
  }


  /** How a value of the input type is read as a double. */
  private enum Kind { NULL, DOUBLE, FLOAT, LONG, INT, SHORT, BYTE, DECIMAL }

  private final Expression child;
  private final Statistic statistic;
  private final int mutableAggBufferOffset;
  private final int inputAggBufferOffset;
  /**
   * For {@link Statistic#MOMENTS}, which of mean, var_pop, var_samp, std_pop and std_samp are
   * computed (bit i for field i of {@link ExactFunctions#MOMENTS_TYPE}; the others are NULL): all
   * of them for {@code exact_moments}, fewer when {@link SharedMomentsRule} lets several
   * functions of one column share one state.
   */
  private final int computed;
  /** The input's kind (of its elements for an array), resolved on first use. */
  private transient Kind kind;
  private transient boolean array;
  private transient boolean vector;
  private transient int precision;
  private transient int scale;
  /** The input's ordinal when it is a bound column (read without evaluating), or -1. */
  private transient int ordinal;

  /**
   * Every rounded statistic of {@link ExactFunctions#MOMENTS_TYPE}: fields 1 (mean) to 5
   * (std_samp).
   */
  static final int ALL_STATISTICS = 0b111110;

  /**
   * The function {@code statistic} of {@code child}.
   *
   * @param computed for {@link Statistic#MOMENTS}, the bit set of the struct's fields 1 to 5 to
   *     compute ({@link #ALL_STATISTICS} for exact_moments); ignored otherwise
   * @param mutableAggBufferOffset and {@code inputAggBufferOffset}: Spark's buffer offsets
   */
  public ExactAggregate(Expression child, Statistic statistic, int computed,
      int mutableAggBufferOffset, int inputAggBufferOffset) {
    this.child = Objects.requireNonNull(child, "child");
    this.statistic = Objects.requireNonNull(statistic, "statistic");
    this.computed = statistic == Statistic.MOMENTS ? computed & ALL_STATISTICS : 0;
    this.mutableAggBufferOffset = mutableAggBufferOffset;
    this.inputAggBufferOffset = inputAggBufferOffset;
  }

  /** The function {@code statistic} of {@code child}. */
  public ExactAggregate(Expression child, Statistic statistic) {
    this(child, statistic, ALL_STATISTICS, 0, 0);
  }

  /**
   * The function {@code statistic} of {@code input}, as a Column of a classic session (through
   * Spark's {@code ExpressionUtils}, which turns a Column into its Catalyst expression and back).
   */
  public static Column column(Column input, Statistic statistic) {
    return ExpressionUtils.column(
        new ExactAggregate(ExpressionUtils.expression(input), statistic).toAggregateExpression());
  }

  /** The input expression. */
  public Expression child() {
    return child;
  }

  /** What this function returns. */
  public Statistic statistic() {
    return statistic;
  }

  /** Whether the input is a vector or array column (summarized per element). */
  boolean overArrays() {
    return arrayInput();
  }

  private static Kind kindOf(DataType t) {
    if (t instanceof DoubleType) {
      return Kind.DOUBLE;
    } else if (t instanceof FloatType) {
      return Kind.FLOAT;
    } else if (t instanceof LongType) {
      return Kind.LONG;
    } else if (t instanceof IntegerType) {
      return Kind.INT;
    } else if (t instanceof ShortType) {
      return Kind.SHORT;
    } else if (t instanceof ByteType) {
      return Kind.BYTE;
    } else if (t instanceof DecimalType) {
      return Kind.DECIMAL;
    } else if (t instanceof NullType) {
      return Kind.NULL;
    }
    return null;
  }

  private boolean arrayInput() {
    DataType t = child.dataType();
    return t instanceof ArrayType || t instanceof VectorUDT;
  }

  /** Whether the input is a vector or array, from the fields resolved once per instance. */
  private boolean resolvedArray() {
    if (kind == null) {
      resolve();
    }
    return array;
  }

  private void resolve() {
    DataType t = child.dataType();
    vector = t instanceof VectorUDT;
    array = vector || t instanceof ArrayType;
    DataType values = vector ? DataTypes.DoubleType
        : array ? ((ArrayType) t).elementType() : t;
    if (values instanceof DecimalType d) {
      precision = d.precision();
      scale = d.scale();
    }
    ordinal = child instanceof BoundReference b ? b.ordinal() : -1;
    kind = kindOf(values);
  }

  @Override
  public TypeCheckResult checkInputDataTypes() {
    DataType t = child.dataType();
    boolean numeric = kindOf(t) != null;
    boolean arrays = t instanceof VectorUDT
        || t instanceof ArrayType a && kindOf(a.elementType()) != null;
    if (numeric || arrays && (statistic == Statistic.MOMENTS || statistic == Statistic.STATE)) {
      return TypeCheckResult.TypeCheckSuccess$.MODULE$;
    }
    return new TypeCheckResult.TypeCheckFailure(statistic.sqlName() + " takes a numeric column"
        + (statistic == Statistic.MOMENTS ? " or a vector or numeric array column"
            : arrays ? " (use exact_moments for vector and array columns)" : "")
        + ", not " + t.simpleString());
  }

  private static double read(SpecializedGetters from, int i, Kind kind, int precision,
      int scale) {
    return switch (kind) {
      case DOUBLE -> from.getDouble(i);
      case FLOAT -> from.getFloat(i);
      case LONG -> from.getLong(i);
      case INT -> from.getInt(i);
      case SHORT -> from.getShort(i);
      case BYTE -> from.getByte(i);
      case DECIMAL -> from.getDecimal(i, precision, scale).toJavaBigDecimal().doubleValue();
      case NULL -> throw new IllegalStateException("a NULL-typed value is never read");
    };
  }

  private static double toDouble(Object v) {
    return v instanceof Decimal d ? d.toJavaBigDecimal().doubleValue()
        : ((Number) v).doubleValue();
  }

  @Override
  public MomentsBuffer createAggregationBuffer() {
    return resolvedArray() ? MomentsBuffer.ofArray() : MomentsBuffer.ofScalar();
  }

  @Override
  public MomentsBuffer update(MomentsBuffer buffer, InternalRow input) {
    if (!resolvedArray()) {
      ScalarMoments m = buffer.scalar;
      if (ordinal >= 0) {
        if (input.isNullAt(ordinal)) {
          m.addNull();
        } else {
          m.add(read(input, ordinal, kind, precision, scale));
        }
      } else {
        Object v = child.eval(input);
        if (v == null) {
          m.addNull();
        } else {
          m.add(toDouble(v));
        }
      }
      return buffer;
    }
    Object v = child.eval(input);
    if (v == null) {
      buffer.nullRows++;
    } else if (vector) {
      addVector(buffer, (InternalRow) v);
    } else {
      ArrayData values = (ArrayData) v;
      ScalarMoments[] e = buffer.elements(values.numElements(), prettyName());
      for (int i = 0; i < e.length; i++) {
        if (values.isNullAt(i)) {
          e[i].addNull();
        } else {
          e[i].add(read(values, i, kind, precision, scale));
        }
      }
    }
    return buffer;
  }

  /** Adds one ML vector (VectorUDT's struct: type 0 sparse, 1 dense; size; indices; values). */
  private void addVector(MomentsBuffer buffer, InternalRow v) {
    ArrayData values = v.getArray(3);
    if (v.getByte(0) == 1) {
      ScalarMoments[] e = buffer.elements(values.numElements(), prettyName());
      for (int i = 0; i < e.length; i++) {
        e[i].add(values.getDouble(i));
      }
      return;
    }
    ArrayData indices = v.getArray(2);
    ScalarMoments[] e = buffer.elements(v.getInt(1), prettyName());
    int k = 0;
    for (int i = 0; i < e.length; i++) {
      if (k < indices.numElements() && indices.getInt(k) == i) {
        e[i].add(values.getDouble(k++));
      } else {
        e[i].add(0.0);
      }
    }
  }

  @Override
  public MomentsBuffer merge(MomentsBuffer buffer, MomentsBuffer input) {
    buffer.merge(input, prettyName());
    return buffer;
  }

  @Override
  public Object eval(MomentsBuffer buffer) {
    if (statistic == Statistic.STATE) {
      return buffer.toBytes();
    }
    if (buffer.scalar != null) {
      return statistic == Statistic.MOMENTS ? moments(buffer.scalar, 0, computed)
          : value(buffer.scalar, statistic);
    }
    if (buffer.elements == null) {
      return null;
    }
    Object[] rows = new Object[buffer.elements.length];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = moments(buffer.elements[i], buffer.nullRows, computed);
    }
    return new GenericArrayData(rows);
  }

  private static Object value(ScalarMoments m, Statistic statistic) {
    boolean any = !m.isEmpty();
    boolean two = m.count() > 1;
    return switch (statistic) {
      case MEAN -> any ? (Object) m.mean() : null;
      case VAR_POP -> any ? (Object) m.varPop() : null;
      case VAR_SAMP -> two ? (Object) m.varSamp() : null;
      case STDDEV_POP -> any ? (Object) m.stdPop() : null;
      case STDDEV_SAMP -> two ? (Object) m.stdSamp() : null;
      default -> throw new IllegalArgumentException(statistic + " is not a double");
    };
  }

  /**
   * The exact_moments struct of {@code m}, its {@code computed} fields rounded from one exact
   * evaluation of the sums.
   */
  private static InternalRow moments(ScalarMoments m, long extraNulls, int computed) {
    long count = m.count();
    Object[] values = new Object[10];
    values[0] = count;
    if (count > 0) {
      int defined = count > 1 ? ALL_STATISTICS : 0b10110; // var_samp, std_samp need 2 values
      int wanted = computed & defined;
      if (m.nanCount() > 0) {
        for (int i = 1; i <= 5; i++) {
          values[i] = (wanted & 1 << i) != 0 ? (Object) Double.NaN : null;
        }
      } else if (wanted != 0) {
        ExactMoments e = m.exact();
        values[1] = (wanted & 1 << 1) != 0 ? (Object) e.mean() : null;
        values[2] = (wanted & 1 << 2) != 0 ? (Object) e.varPop() : null;
        values[3] = (wanted & 1 << 3) != 0 ? (Object) e.varSamp() : null;
        values[4] = (wanted & 1 << 4) != 0 ? (Object) e.stdPop() : null;
        values[5] = (wanted & 1 << 5) != 0 ? (Object) e.stdSamp() : null;
      }
      values[6] = m.min();
      values[7] = m.max();
    }
    values[8] = m.nullCount() + extraNulls;
    values[9] = m.nanCount();
    return new GenericInternalRow(values);
  }

  @Override
  public byte[] serialize(MomentsBuffer buffer) {
    return buffer.toBytes();
  }

  @Override
  public MomentsBuffer deserialize(byte[] bytes) {
    return MomentsBuffer.fromBytes(bytes, resolvedArray());
  }

  @Override
  public DataType dataType() {
    return switch (statistic) {
      case STATE -> DataTypes.BinaryType;
      case MOMENTS -> arrayInput() ? new ArrayType(ExactFunctions.MOMENTS_TYPE, false)
          : ExactFunctions.MOMENTS_TYPE;
      default -> DataTypes.DoubleType;
    };
  }

  @Override
  public boolean nullable() {
    return statistic != Statistic.STATE;
  }

  @Override
  public String prettyName() {
    return statistic.sqlName();
  }

  @Override
  public int mutableAggBufferOffset() {
    return mutableAggBufferOffset;
  }

  @Override
  public ExactAggregate withNewMutableAggBufferOffset(int offset) {
    return new ExactAggregate(child, statistic, computed, offset, inputAggBufferOffset);
  }

  @Override
  public int inputAggBufferOffset() {
    return inputAggBufferOffset;
  }

  @Override
  public ExactAggregate withNewInputAggBufferOffset(int offset) {
    return new ExactAggregate(child, statistic, computed, mutableAggBufferOffset, offset);
  }

  @Override
  public Seq<Expression> children() {
    return CollectionConverters.asScala(List.of(child)).toSeq();
  }

  @Override
  public Expression withNewChildrenInternal(IndexedSeq<Expression> children) {
    return new ExactAggregate(children.apply(0), statistic, computed, mutableAggBufferOffset,
        inputAggBufferOffset);
  }

  @Override
  public int productArity() {
    return 5;
  }

  @Override
  public Object productElement(int n) {
    return switch (n) {
      case 0 -> child;
      case 1 -> statistic;
      case 2 -> computed;
      case 3 -> mutableAggBufferOffset;
      case 4 -> inputAggBufferOffset;
      default -> throw new IndexOutOfBoundsException(n);
    };
  }

  @Override
  public boolean canEqual(Object other) {
    return other instanceof ExactAggregate;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ExactAggregate other && statistic == other.statistic
        && computed == other.computed && mutableAggBufferOffset == other.mutableAggBufferOffset
        && inputAggBufferOffset == other.inputAggBufferOffset && child.equals(other.child);
  }

  @Override
  public int hashCode() {
    return Objects.hash(child, statistic, computed, mutableAggBufferOffset,
        inputAggBufferOffset);
  }
}
