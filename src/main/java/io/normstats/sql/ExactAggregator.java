package io.normstats.sql;

import io.normstats.exact.ScalarMoments;
import org.apache.spark.sql.Encoder;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.expressions.Aggregator;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The exact aggregate functions as a typed Spark {@link Aggregator} over a double column (inputs of
 * other numeric types are cast to double first): each group's values are folded into a
 * {@link ScalarMoments}, partial states merge exactly, and {@link #finish} rounds once. The result
 * is therefore bit-for-bit the same for any partitioning, row order and plan.
 *
 * @param <T> the result: a Double, or a Row for {@link Statistic#MOMENTS}
 */
public final class ExactAggregator<T> extends Aggregator<Double, MomentsBuffer, T> {
  private static final long serialVersionUID = 1L;

  /** What the function returns. */
  public enum Statistic {
    MEAN, VAR_POP, VAR_SAMP, STDDEV_POP, STDDEV_SAMP, MOMENTS,
    /** The mergeable state itself, as {@link ScalarMoments#toBytes()} (not a SQL function). */
    STATE
  }

  /**
   * The struct {@code exact_moments} returns: count (non-null values), mean, var_pop, var_samp,
   * std_pop, std_samp, min, max (null without a value; var_samp and std_samp null for one value;
   * NaN with a NaN or infinite value, min and max aside), null_count, nan_count (NaN and infinite
   * values).
   */
  public static final StructType MOMENTS_TYPE = new StructType()
      .add("count", DataTypes.LongType, false)
      .add("mean", DataTypes.DoubleType, true)
      .add("var_pop", DataTypes.DoubleType, true)
      .add("var_samp", DataTypes.DoubleType, true)
      .add("std_pop", DataTypes.DoubleType, true)
      .add("std_samp", DataTypes.DoubleType, true)
      .add("min", DataTypes.DoubleType, true)
      .add("max", DataTypes.DoubleType, true)
      .add("null_count", DataTypes.LongType, false)
      .add("nan_count", DataTypes.LongType, false);

  private final Statistic statistic;

  private ExactAggregator(Statistic statistic) {
    this.statistic = statistic;
  }

  /** The aggregator of one double-valued statistic (not {@link Statistic#MOMENTS}). */
  public static ExactAggregator<Double> of(Statistic statistic) {
    if (statistic == Statistic.MOMENTS || statistic == Statistic.STATE) {
      throw new IllegalArgumentException(statistic + " is not a double: use moments() or state()");
    }
    return new ExactAggregator<>(statistic);
  }

  /** The aggregator of exact_moments. */
  public static ExactAggregator<Row> moments() {
    return new ExactAggregator<>(Statistic.MOMENTS);
  }

  /** The aggregator of each group's state, as {@link ScalarMoments#toBytes()}. */
  public static ExactAggregator<byte[]> state() {
    return new ExactAggregator<>(Statistic.STATE);
  }

  /** The SQL name: exact_mean, exact_var_pop, ..., exact_moments. */
  public String sqlName() {
    return "exact_" + statistic.name().toLowerCase(java.util.Locale.ROOT);
  }

  @Override
  public MomentsBuffer zero() {
    return new MomentsBuffer();
  }

  @Override
  public MomentsBuffer reduce(MomentsBuffer buffer, Double value) {
    if (value == null) {
      buffer.moments().addNull();
    } else {
      buffer.moments().add(value);
    }
    return buffer;
  }

  @Override
  public MomentsBuffer merge(MomentsBuffer a, MomentsBuffer b) {
    a.moments().merge(b.moments());
    return a;
  }

  @Override
  @SuppressWarnings("unchecked")
  public T finish(MomentsBuffer buffer) {
    ScalarMoments m = buffer.moments();
    boolean any = !m.isEmpty();
    boolean two = m.count() > 1;
    return (T) switch (statistic) {
      case MEAN -> any ? (Object) m.mean() : null;
      case VAR_POP -> any ? (Object) m.varPop() : null;
      case VAR_SAMP -> two ? (Object) m.varSamp() : null;
      case STDDEV_POP -> any ? (Object) m.stdPop() : null;
      case STDDEV_SAMP -> two ? (Object) m.stdSamp() : null;
      case STATE -> m.toBytes();
      case MOMENTS -> RowFactory.create(m.count(), any ? m.mean() : null,
          any ? m.varPop() : null, two ? m.varSamp() : null, any ? m.stdPop() : null,
          two ? m.stdSamp() : null, any ? m.min() : null, any ? m.max() : null, m.nullCount(),
          m.nanCount());
    };
  }

  @Override
  public Encoder<MomentsBuffer> bufferEncoder() {
    return Encoders.kryo(MomentsBuffer.class);
  }

  @Override
  @SuppressWarnings("unchecked")
  public Encoder<T> outputEncoder() {
    return (Encoder<T>) (statistic == Statistic.MOMENTS ? Encoders.row(MOMENTS_TYPE)
        : statistic == Statistic.STATE ? Encoders.BINARY() : Encoders.DOUBLE());
  }
}
