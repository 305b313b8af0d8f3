package io.normstats.spark;

import io.normstats.InputException;
import java.io.Serializable;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.catalyst.InternalRow;

/**
 * Exactly N rows of an input, the same rows whatever the partitioning: the N rows with the
 * smallest key (h, g), where g is the row's position in the input order ({@link InputOrder}: the
 * files in path order, each file's rows in file order) and h = {@link #hash}(seed, g), ties (of
 * h, which are rare) broken by g. What NNCF (2,000 samples), mmpretrain's PreciseBN hook (8,192)
 * and fvcore (200 batches) recalibrate on, without depending on how Spark splits the files.
 *
 * <p>Costs two passes over the input without the network: one counts each split's rows (the input
 * order), one finds the N-th smallest key (Spark's {@code takeOrdered}: N keys of 16 bytes reach
 * the driver). The rows are then kept by a filter in every later pass.
 */
public final class RowSample {
  private RowSample() {}

  /** The sampled rows (in each split's order, not reshuffled) and the input's row count. */
  public record Sampled(JavaRDD<InternalRow> rows, long inputRows) {}

  /**
   * The key hash of row {@code index} for {@code seed}: SplitMix64's finalizer (Steele, Lea and
   * Flood 2014, "Fast splittable pseudorandom number generators") of seed * 2^64/phi + index.
   */
  public static long hash(long seed, long index) {
    long z = seed * 0x9E3779B97F4A7C15L + index;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /**
   * The N sampled rows of {@code source}.
   *
   * @param source the input's rows in each split's order, with the file name at {@code fileIndex}
   *     and the split start at {@code fileIndex + 1}
   * @param n the rows to keep, at least 1
   * @param seed the seed of the keys
   * @throws InputException (usage) if {@code n} is below 1 or above the input's row count
   */
  public static Sampled of(JavaRDD<InternalRow> source, int fileIndex, long n, long seed) {
    if (n < 1) {
      throw InputException.usage("--sample-rows must be at least 1: " + n);
    }
    InputOrder order = InputOrder.of(source.mapPartitions(it -> {
      InputOrder.Counter counter = new InputOrder.Counter();
      while (it.hasNext()) {
        InternalRow row = it.next();
        counter.add(row.getUTF8String(fileIndex), row.getLong(fileIndex + 1));
      }
      return List.of(counter).iterator();
    }).reduce(InputOrder.Counter::merge).counts());
    if (n > order.rows()) {
      throw InputException.usage("--sample-rows " + n + " is more than the input's "
          + order.rows() + " rows");
    }
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(source.context());
    Broadcast<InputOrder> orderRef = sc.broadcast(order);
    List<long[]> smallest = source.mapPartitions(it -> {
      InputOrder.Indexer indexer = new InputOrder.Indexer(orderRef.value());
      return new Iterator<long[]>() {
        @Override
        public boolean hasNext() {
          return it.hasNext();
        }

        @Override
        public long[] next() {
          InternalRow row = it.next();
          long g = indexer.next(row.getUTF8String(fileIndex).toString(),
              row.getLong(fileIndex + 1));
          return new long[] {hash(seed, g), g};
        }
      };
    }).takeOrdered((int) Math.min(n, Integer.MAX_VALUE), new KeyOrder());
    long[] last = smallest.get(smallest.size() - 1);
    long lastHash = last[0];
    long lastIndex = last[1];
    JavaRDD<InternalRow> kept = source.mapPartitions(it -> {
      InputOrder.Indexer indexer = new InputOrder.Indexer(orderRef.value());
      // lazily: Spark's scans reuse one row object, so the next row is read only once the
      // caller is done with this one
      return new Iterator<InternalRow>() {
        private InternalRow next;

        private InternalRow advance() {
          while (it.hasNext()) {
            InternalRow row = it.next();
            long g = indexer.next(row.getUTF8String(fileIndex).toString(),
                row.getLong(fileIndex + 1));
            if (KeyOrder.compare(hash(seed, g), g, lastHash, lastIndex) <= 0) {
              return row;
            }
          }
          return null;
        }

        @Override
        public boolean hasNext() {
          if (next == null) {
            next = advance();
          }
          return next != null;
        }

        @Override
        public InternalRow next() {
          if (!hasNext()) {
            throw new NoSuchElementException();
          }
          InternalRow row = next;
          next = null;
          return row;
        }
      };
    });
    return new Sampled(kept, order.rows());
  }

  /** Keys {hash, index} by hash, then index. */
  private static final class KeyOrder implements Comparator<long[]>, Serializable {
    private static final long serialVersionUID = 1L;

    @Override
    public int compare(long[] a, long[] b) {
      return compare(a[0], a[1], b[0], b[1]);
    }

    static int compare(long hashA, long indexA, long hashB, long indexB) {
      int c = Long.compare(hashA, hashB);
      return c != 0 ? c : Long.compare(indexA, indexB);
    }
  }
}
