package io.normstats.onnx.spark;

import io.normstats.InputException;
import io.normstats.onnx.ExternalData;
import io.normstats.onnx.OnnxModel;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Reads ONNX models through Hadoop's FileSystem (local paths, {@code hdfs:}, {@code s3a:}), with
 * their external data files, which ONNX locates relative to the model file's directory (PyTorch's
 * default exporter writes {@code model.onnx} and {@code model.onnx.data}). The data is read on the
 * driver into the model, which Spark then ships to the executors whole.
 */
public final class ModelFiles {
  private ModelFiles() {}

  /**
   * Reads and parses the model at {@code path}.
   *
   * @param conf the Hadoop configuration (the session's)
   * @param path the {@code .onnx} file
   * @param name how to name the path in messages ("model", "modelPath")
   * @throws InputException (usage) if the file or one of its external data files does not exist
   *     or is a directory; as {@link OnnxModel#parse(byte[], String, ExternalData.Files)}
   * @throws IOException if reading fails
   */
  public static OnnxModel read(Configuration conf, String path, String name)
      throws IOException {
    Path model = new Path(path);
    FileSystem fs = model.getFileSystem(conf);
    byte[] bytes = readFile(fs, model, name + " " + path);
    Path dir = model.getParent();
    // each data file is looked up and opened once, however many tensors it holds (PyTorch's
    // default exporter puts every weight in one file)
    Map<Path, FileStatus> statuses = new HashMap<>();
    Map<Path, FSDataInputStream> open = new HashMap<>();
    ExternalData.Files files = (location, offset, length) -> {
      Path p = new Path(dir, location);
      FileStatus status = statuses.get(p);
      if (status == null) {
        if (!fs.exists(p) || fs.getFileStatus(p).isDirectory()) {
          throw InputException.usage("the external data file " + p + " of model " + path
              + " does not exist (ONNX looks for it beside the model)");
        }
        status = fs.getFileStatus(p);
        statuses.put(p, status);
      }
      long size = status.getLen();
      long n = length >= 0 ? length : size - offset;
      if (offset + n > size) {
        throw new EOFException(p + " holds " + size + " bytes, the tensor ends at byte "
            + (offset + n));
      }
      byte[] out = new byte[Math.toIntExact(n)];
      FSDataInputStream in = open.get(p);
      if (in == null) {
        in = fs.open(p);
        open.put(p, in);
      }
      in.readFully(offset, out);
      return out;
    };
    try {
      return OnnxModel.parse(bytes, path, files);
    } finally {
      for (FSDataInputStream in : open.values()) {
        in.close();
      }
    }
  }

  /**
   * The whole file at {@code path}.
   *
   * @param what how to name it in messages ("model m.onnx")
   * @throws InputException (usage) if it does not exist or is a directory
   */
  public static byte[] readFile(FileSystem fs, Path path, String what) throws IOException {
    if (!fs.exists(path)) {
      throw InputException.usage(what + " does not exist");
    }
    if (fs.getFileStatus(path).isDirectory()) {
      throw InputException.usage(what + " is a directory, not a file");
    }
    try (InputStream s = fs.open(path)) {
      return s.readAllBytes();
    }
  }
}
