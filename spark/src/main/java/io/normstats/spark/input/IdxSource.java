package io.normstats.spark.input;

import com.esotericsoftware.kryo.DefaultSerializer;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import io.normstats.InputException;
import io.normstats.io.IdxReader;
import io.normstats.spark.InputOrder;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.attribute.AttributeGroup;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * IDX files as a DataFrame with one column, {@value #COLUMN}: a dense Spark ML Vector per item (for
 * an idx3 image file of 28x28 images, 784 pixels in row-major order, as doubles 0..255).
 *
 * <p>The driver reads only each file's header (to count the items); the items themselves are read
 * by the executors, each task decompressing its file and skipping to its own range of items, so no
 * data passes through the driver. A gzip file cannot be split, so a task over items
 * {@code [a, b)} decompresses the first {@code b} items' bytes; with the default parallelism of a
 * few tasks per file that costs much less than the statistics themselves.
 */
public final class IdxSource {
  /** The name of the vector column. */
  public static final String COLUMN = "image";

  private IdxSource() {}

  /**
   * The dimensions of one item of the IDX file at {@code path} (of the first data file of a
   * directory): {28, 28} for Fashion-MNIST images.
   *
   * @throws InputException (data) if the file cannot be read as IDX
   */
  public static int[] itemDimensions(SparkSession spark, String path) {
    FileStatus status = Inputs.checkExists(spark, path);
    FileStatus file = status.isDirectory() ? Inputs.listDataFiles(spark, status.getPath())[0] : status;
    Path p = file.getPath();
    try (IdxReader reader = IdxReader.open(
        p.getFileSystem(spark.sparkContext().hadoopConfiguration()).open(p),
        ReadErrors.displayPath(p.toString()))) {
      int[] dims = reader.dimensions();
      return java.util.Arrays.copyOfRange(dims, 1, dims.length);
    } catch (IOException e) {
      throw InputException.data(e.getMessage(), e);
    }
  }

  /** A range of items of one file, read by one task. */
  @DefaultSerializer(JavaSerializer.class) // Spark's Kryo cannot serialize records
  private record Split(String path, long start, long end, int itemLength) implements Serializable {}

  /**
   * Reads an IDX file, or every file of a directory of IDX files (all with the same item length),
   * in about {@code partitions} partitions.
   *
   * @throws InputException (usage) if a directory holds no files; (data) if a file is not an IDX
   *     file or the item lengths differ
   */
  public static Dataset<Row> read(SparkSession spark, String path, int partitions) {
    return read(spark, path, partitions, false);
  }

  /**
   * Like {@link #read(SparkSession, String, int)}; with {@code withOrigin} every row also carries
   * its file ({@link InputOrder#FILE_COLUMN}) and the index of the first item of its split
   * ({@link InputOrder#START_COLUMN}), from which {@link InputOrder} numbers the rows.
   */
  public static Dataset<Row> read(SparkSession spark, String path, int partitions,
      boolean withOrigin) {
    Path root = new Path(path);
    FileStatus status = Inputs.checkExists(spark, path);
    FileStatus[] files = status.isDirectory()
        ? Inputs.listDataFiles(spark, root)
        : new FileStatus[] {status};
    if (files.length == 0) {
      throw InputException.usage("input directory " + path + " has no IDX files");
    }
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    long[] items = new long[files.length];
    int itemLength = -1;
    long total = 0;
    for (int f = 0; f < files.length; f++) {
      Path p = files[f].getPath();
      try (IdxReader reader = IdxReader.open(p.getFileSystem(conf).open(p),
          ReadErrors.displayPath(p.toString()))) {
        items[f] = reader.items();
        if (itemLength >= 0 && reader.itemLength() != itemLength) {
          throw InputException.data("IDX files under " + path + " have items of different lengths: "
              + itemLength + " and " + reader.itemLength() + " (" + p + ")");
        }
        itemLength = reader.itemLength();
        total += items[f];
      } catch (IOException e) {
        throw InputException.data(e.getMessage(), e);
      }
    }
    List<Split> splits = new ArrayList<>();
    for (int f = 0; f < files.length; f++) {
      int parts = (int) Math.max(1, Math.round((double) partitions * items[f] / Math.max(1, total)));
      for (int k = 0; k < parts; k++) {
        long a = items[f] * k / parts;
        long b = items[f] * (k + 1) / parts;
        splits.add(new Split(files[f].getPath().toString(), a, b, itemLength));
      }
    }
    JavaRDD<Row> rows = JavaSparkContext.fromSparkContext(spark.sparkContext())
        .parallelize(splits, splits.size())
        .flatMap(split -> readSplit(split, withOrigin));
    // Spark ML's attribute metadata records the vector length, as VectorAssembler does.
    StructType schema = new StructType(new StructField[] {
        new AttributeGroup(COLUMN, itemLength).toStructField()});
    if (withOrigin) {
      schema = schema.add(InputOrder.FILE_COLUMN, DataTypes.StringType, false)
          .add(InputOrder.START_COLUMN, DataTypes.LongType, false);
    }
    return spark.createDataFrame(rows, schema);
  }

  private static Iterator<Row> readSplit(Split split, boolean withOrigin) throws IOException {
    Path p = new Path(split.path());
    IdxReader reader = IdxReader.open(p.getFileSystem(new Configuration()).open(p),
        ReadErrors.displayPath(split.path()));
    try {
      reader.skipItems(split.start());
    } catch (IOException e) {
      reader.close();
      throw InputException.data(e.getMessage(), e);
    }
    return new Iterator<>() {
      long next = split.start();

      @Override
      public boolean hasNext() {
        if (next < split.end()) {
          return true;
        }
        try {
          reader.close();
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        return false;
      }

      @Override
      public Row next() {
        if (next >= split.end()) {
          throw new NoSuchElementException();
        }
        double[] values = new double[split.itemLength()];
        try {
          reader.readItem(values);
        } catch (IOException e) {
          throw InputException.data(e.getMessage(), e);
        }
        next++;
        return withOrigin
            ? RowFactory.create(Vectors.dense(values), split.path(), split.start())
            : RowFactory.create(Vectors.dense(values));
      }
    };
  }

}
