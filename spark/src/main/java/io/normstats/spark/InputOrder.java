package io.normstats.spark;

import com.esotericsoftware.kryo.DefaultSerializer;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import io.normstats.InputException;
import java.io.Serializable;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * The input order of a DataFrame read from files: row {@code g} is the g-th row when the files are
 * taken in the order of their paths and the rows of each file in file order. It is a property of the
 * data alone, not of how Spark splits the files or partitions the rows.
 *
 * <p>Spark reads a file as one or more splits (byte ranges, or item ranges for IDX), each yielding its
 * rows in file order; a row is identified by (file, split start, position within the split). One
 * pass counts the rows of every split ({@link Counter}); sorting the splits by (file, start) then
 * gives each split's first global index ({@link #offset}).
 */
public final class InputOrder implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The column holding each row's file. */
  public static final String FILE_COLUMN = "_normstats_file";
  /** The column holding where each row's split starts (byte offset, or first IDX item). */
  public static final String START_COLUMN = "_normstats_split_start";

  /** One split of one file. */
  @DefaultSerializer(JavaSerializer.class) // Spark's Kryo cannot serialize records
  public record Split(String file, long start) implements Serializable {}

  private final Map<Split, Long> offsets;
  private final long rows;

  private InputOrder(Map<Split, Long> offsets, long rows) {
    this.offsets = offsets;
    this.rows = rows;
  }

  /** The order implied by the row counts of every split. */
  public static InputOrder of(Map<Split, Long> counts) {
    Map<Split, Long> offsets = new HashMap<>();
    long next = 0;
    for (Split s : counts.keySet().stream()
        .sorted(Comparator.comparing(Split::file).thenComparingLong(Split::start)).toList()) {
      offsets.put(s, next);
      next += counts.get(s);
    }
    return new InputOrder(offsets, next);
  }

  /** The number of rows. */
  public long rows() {
    return rows;
  }

  /**
   * The global index of the first row of split ({@code file}, {@code start}).
   *
   * @throws InputException (data) if the split was not counted: the input changed between passes
   */
  public long offset(String file, long start) {
    Long offset = offsets.get(new Split(file, start));
    if (offset == null) {
      throw InputException.data("input " + file + " changed while the job ran (a split at "
          + start + " was not there before)");
    }
    return offset;
  }

  /**
   * Gives the rows of one task their global indices, as they arrive: each split's rows come in
   * file order, so a row's index is its split's {@link #offset} plus the rows of that split seen
   * before it. Not for rows that a shuffle has reordered.
   */
  public static final class Indexer {
    private final InputOrder order;
    private String file;
    private long start = -1;
    private long index;

    /** An indexer over {@code order}. */
    public Indexer(InputOrder order) {
      this.order = order;
    }

    /**
     * The global index of the next row, of split ({@code file}, {@code start}).
     *
     * @throws InputException (data) if the split was not counted or has more rows than counted:
     *     the input changed between passes
     */
    public long next(String file, long start) {
      if (start != this.start || !file.equals(this.file)) {
        this.file = file;
        this.start = start;
        index = order.offset(file, start);
      } else {
        index++;
      }
      if (index >= order.rows()) {
        throw InputException.data("input " + file
            + " changed while the job ran (more rows than counted)");
      }
      return index;
    }
  }

  /**
   * File names as Strings from Spark's UTF8Strings, converted once per run of rows from the same
   * file (a task reads its files one after the other).
   */
  static final class FileNames {
    private UTF8String last;
    private String string;

    /** {@code file} as a String. */
    String of(UTF8String file) {
      if (!file.equals(last)) {
        last = file.clone();
        string = file.toString();
      }
      return string;
    }
  }

  /** Counts the rows of each split, for one task; merge the tasks' counters with {@link #merge}. */
  public static final class Counter implements Serializable {
    private static final long serialVersionUID = 1L;
    private final HashMap<Split, Long> counts = new HashMap<>();
    private String file;
    private long start = -1;
    private long count;
    private transient FileNames names;

    /**
     * Counts one row of split ({@code file}, {@code start}), the file as Spark reads it (turned into
     * a String once per run of rows from the same file).
     */
    public void add(UTF8String file, long start) {
      if (names == null) {
        names = new FileNames();
      }
      add(names.of(file), start);
    }

    /** Counts one row of split ({@code file}, {@code start}). */
    public void add(String file, long start) {
      if (start != this.start || !file.equals(this.file)) {
        flush();
        this.file = file;
        this.start = start;
      }
      count++;
    }

    private void flush() {
      if (count > 0) {
        counts.merge(new Split(file, start), count, Long::sum);
      }
      count = 0;
    }

    /** Adds {@code other}'s counts to this one's and returns this. */
    public Counter merge(Counter other) {
      flush();
      other.flush();
      other.counts.forEach((k, v) -> counts.merge(k, v, Long::sum));
      return this;
    }

    /** The counts per split. */
    public Map<Split, Long> counts() {
      flush();
      return counts;
    }
  }
}
