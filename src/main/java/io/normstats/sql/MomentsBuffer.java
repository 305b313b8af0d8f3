package io.normstats.sql;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoSerializable;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import io.normstats.exact.ScalarMoments;
import java.io.Serializable;

/**
 * The aggregation buffer of the exact aggregate functions: one {@link ScalarMoments} per group
 * and column. Spark serializes it (between partial and final aggregation, and when the hash
 * aggregation spills) with Kryo, which calls {@link #write}: the class name and the compact
 * versioned state of {@link ScalarMoments#write}: 91 bytes for a group of 3 values near 1e9.
 */
public final class MomentsBuffer implements KryoSerializable, Serializable {
  private static final long serialVersionUID = 1L;

  private transient ScalarMoments moments = new ScalarMoments();

  /** The state. */
  public ScalarMoments moments() {
    return moments;
  }

  @Override
  public void write(Kryo kryo, Output output) {
    byte[] bytes = moments.toBytes();
    output.writeInt(bytes.length, true);
    output.writeBytes(bytes);
  }

  @Override
  public void read(Kryo kryo, Input input) {
    int n = input.readInt(true);
    moments = ScalarMoments.fromBytes(input.readBytes(n));
  }

  private void writeObject(java.io.ObjectOutputStream out) throws java.io.IOException {
    byte[] bytes = moments.toBytes();
    out.writeInt(bytes.length);
    out.write(bytes);
  }

  private void readObject(java.io.ObjectInputStream in) throws java.io.IOException {
    byte[] bytes = new byte[in.readInt()];
    in.readFully(bytes);
    moments = ScalarMoments.fromBytes(bytes);
  }
}
