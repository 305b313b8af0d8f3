package io.normstats.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * The rows of one partition of an ordered input, in the order the exact pass read them, packed
 * ({@link PackedRows}) one after the other, each with its split (file and start): what
 * {@link ExactStatistics#computeOrderedKeepingRows} keeps so that the minibatch pass does not read
 * and convert the input a second time.
 *
 * <p>The rows are stored in chunks of about {@value #CHUNK_BYTES} bytes (a row never straddles
 * two), so a partition takes its packed size plus at most one chunk of slack, whatever its row
 * count (one byte per value for 8-bit pixels). The splits are stored as runs: a task reads each
 * split's rows one after the other.
 *
 * <p>A partition with an incomplete row (a null value or vector) stops keeping rows and says so
 * ({@link #complete()}): the minibatch statistics need complete rows, and the jobs refuse such
 * input after the exact pass.
 */
final class KeptRows implements Serializable {
  private static final long serialVersionUID = 1L;
  /** The size of a chunk of packed rows (a row larger than this gets a chunk of its own). */
  static final int CHUNK_BYTES = 1 << 22;

  private final int length;
  private final ArrayList<byte[]> chunks = new ArrayList<>();
  private int[] chunkUsed = new int[4];
  private String[] runFiles = new String[4];
  private long[] runStarts = new long[4];
  private long[] runEnds = new long[4];
  private int runs;
  private long rows;
  private boolean complete = true;
  private transient InputOrder.FileNames names;

  /** Rows of {@code length} values each. */
  KeptRows(int length) {
    this.length = length;
  }

  /**
   * Keeps the next row: {@code values[from .. from + length)}, of split ({@code file},
   * {@code start}).
   */
  void add(UTF8String file, long start, double[] values, int from) {
    if (!complete) {
      return;
    }
    if (names == null) {
      names = new InputOrder.FileNames();
    }
    String name = names.of(file);
    if (runs == 0 || runStarts[runs - 1] != start || !runFiles[runs - 1].equals(name)) {
      if (runs == runFiles.length) {
        runFiles = Arrays.copyOf(runFiles, 2 * runs);
        runStarts = Arrays.copyOf(runStarts, 2 * runs);
        runEnds = Arrays.copyOf(runEnds, 2 * runs);
      }
      runFiles[runs] = name;
      runStarts[runs] = start;
      runs++;
    }
    int need = PackedRows.maxBytes(length);
    int last = chunks.size() - 1;
    if (last < 0 || chunks.get(last).length - chunkUsed[last] < need) {
      if (chunks.size() == chunkUsed.length) {
        chunkUsed = Arrays.copyOf(chunkUsed, 2 * chunkUsed.length);
      }
      chunks.add(new byte[Math.max(CHUNK_BYTES, need)]);
      last++;
    }
    chunkUsed[last] += PackedRows.pack(values, from, length, chunks.get(last),
        chunkUsed[last]);
    rows++;
    runEnds[runs - 1] = rows;
  }

  /** Drops the rows kept so far and keeps no more: a row was incomplete. */
  void markIncomplete() {
    complete = false;
    chunks.clear();
    runs = 0;
    rows = 0;
  }

  /** Whether every row of the partition was kept. */
  boolean complete() {
    return complete;
  }

  /** The number of rows kept. */
  long rows() {
    return rows;
  }

  /** Shrinks the last chunk to its rows, once the partition is read. */
  KeptRows trim() {
    int last = chunks.size() - 1;
    if (last >= 0 && chunkUsed[last] < chunks.get(last).length) {
      chunks.set(last, Arrays.copyOf(chunks.get(last), chunkUsed[last]));
    }
    return this;
  }

  /** A cursor before the first row. */
  Cursor cursor() {
    return new Cursor();
  }

  /** The kept rows, one at a time, in the order they were read. */
  final class Cursor {
    private int chunk;
    private int at;
    private int size;
    private int run;
    private long row = -1;

    /**
     * Moves to the next row; false when there is none.
     *
     * @throws IllegalStateException if the partition was not kept whole ({@link #complete()})
     */
    boolean advance() {
      if (!complete) {
        throw new IllegalStateException("the partition's rows were not kept: a row is incomplete");
      }
      if (row + 1 >= rows) {
        return false;
      }
      row++;
      at += size;
      if (at == chunkUsed[chunk]) {
        chunk++;
        at = 0;
      }
      size = PackedRows.bytes(chunks.get(chunk), at, length);
      while (row >= runEnds[run]) {
        run++;
      }
      return true;
    }

    /** The current row's file. */
    String file() {
      return runFiles[run];
    }

    /** Where the current row's split of the file starts. */
    long start() {
      return runStarts[run];
    }

    /** A copy of the current row, packed. */
    byte[] packedRow() {
      return Arrays.copyOfRange(chunks.get(chunk), at, at + size);
    }
  }
}
