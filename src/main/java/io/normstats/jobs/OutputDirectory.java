package io.normstats.jobs;

import io.normstats.InputException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A job's output directory, written all or nothing: the job writes into a hidden staging directory
 * beside the target, and {@link #commit()} renames it into place. A job that fails leaves nothing at
 * the target ({@link #abort()} removes the staging directory).
 *
 * <p>An existing target is refused unless {@code overwrite}; even then it is replaced only if it is
 * empty or a previous normstats output (it holds the {@value #MARKER} file), and never when it is or
 * contains the job's input, so a mistyped path cannot destroy a user's data.
 */
public final class OutputDirectory {
  /** The file that marks a directory as normstats output. */
  public static final String MARKER = "_NORMSTATS";

  private final FileSystem fs;
  private final Path target;
  private final Path staging;
  private final boolean replace;

  private OutputDirectory(FileSystem fs, Path target, Path staging, boolean replace) {
    this.fs = fs;
    this.target = target;
    this.staging = staging;
    this.replace = replace;
  }

  /**
   * Checks that {@code dir} may be written and creates its staging directory.
   *
   * @param inputs the job's input paths, which the output must not replace
   * @throws InputException (usage) if {@code dir} exists and may not be replaced
   */
  public static OutputDirectory prepare(Configuration conf, String dir, boolean overwrite,
      String... inputs) {
    try {
      Path target = new Path(dir);
      FileSystem fs = target.getFileSystem(conf);
      target = fs.makeQualified(target);
      for (String input : inputs) {
        Path in = fs.makeQualified(new Path(input));
        for (Path p = in; p != null; p = p.getParent()) {
          if (p.equals(target)) {
            throw InputException.usage("output " + dir + " is or contains the input " + input);
          }
        }
      }
      boolean exists = fs.exists(target);
      if (exists) {
        if (!overwrite) {
          throw InputException.usage("output " + dir + " already exists (pass --overwrite to replace it)");
        }
        FileStatus status = fs.getFileStatus(target);
        boolean ours = status.isDirectory()
            && (fs.listStatus(target).length == 0 || fs.exists(new Path(target, MARKER)));
        if (!ours) {
          throw InputException.usage("refusing to overwrite " + dir
              + ": it is not empty and not a normstats output");
        }
      }
      Path parent = target.getParent();
      if (parent != null && !fs.exists(parent)) {
        fs.mkdirs(parent);
      }
      Path staging = new Path(parent, "." + target.getName() + ".normstats-" + UUID.randomUUID());
      if (!fs.mkdirs(staging)) {
        throw InputException.usage("cannot create a directory beside " + dir);
      }
      return new OutputDirectory(fs, target, staging, exists);
    } catch (IOException e) {
      throw InputException.usage("cannot write output " + dir + ": " + e.getMessage());
    }
  }

  /** The path of file {@code name} in the staging directory: write the job's outputs here. */
  public Path file(String name) {
    return new Path(staging, name);
  }

  /**
   * The staging directory itself, for writers that fill a whole directory (Spark's DataFrame and ML
   * writers, in overwrite mode).
   */
  public Path staging() {
    return staging;
  }

  /** The file system the output lives on. */
  public FileSystem fileSystem() {
    return fs;
  }

  /** The final output directory. */
  public Path target() {
    return target;
  }

  /**
   * Marks the staging directory as normstats output and moves it to the target, replacing a previous
   * output there.
   *
   * @param job the job name recorded in the marker file
   */
  public void commit(String job) {
    try {
      try (var out = fs.create(new Path(staging, MARKER), true)) {
        out.write((job + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
      }
      Path old = null;
      if (replace && fs.exists(target)) {
        old = new Path(target.getParent(), "." + target.getName() + ".normstats-old-" + UUID.randomUUID());
        if (!fs.rename(target, old)) {
          throw new IOException("cannot move the previous output " + target + " aside");
        }
      }
      if (!fs.rename(staging, target)) {
        if (old != null) {
          fs.rename(old, target);
        }
        throw new IOException("cannot move the output into " + target);
      }
      if (old != null) {
        fs.delete(old, true);
      }
    } catch (IOException e) {
      abort();
      throw new UncheckedIOException(e);
    }
  }

  /** Deletes the staging directory; the target is left as it was. */
  public void abort() {
    try {
      fs.delete(staging, true);
    } catch (IOException ignored) {
      // nothing more can be done; the hidden staging directory is harmless
    }
  }
}
