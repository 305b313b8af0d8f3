package io.normstats.output;

import io.normstats.InputException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A job's output directory, written all or nothing: the job writes into a hidden staging directory
 * beside the target, {@code .NAME.normstats-PID@HOST-ID}, and {@link #commit()} renames it into
 * place. A job that fails leaves nothing at the target ({@link #abort()} removes the staging
 * directory).
 *
 * <p>An existing target is refused unless {@code overwrite}; even then it is replaced only if it is
 * empty or a previous normstats output (it holds the {@value #MARKER} file), and never when it is or
 * contains the job's input, so a mistyped path cannot destroy a user's data. It stays intact until
 * the new output is complete: {@link #commit()} then moves it aside
 * ({@code .NAME.normstats-old-PID@HOST-ID}), moves the new one in and deletes the old one.
 *
 * <p>A driver killed outright (SIGKILL, a lost node) cannot clean up: it leaves its hidden staging
 * directory, and, if killed between the two renames of a commit, the previous output under its
 * {@code -old-} name with nothing at the target. The next job writing the same target repairs both
 * when their owner process is gone (same host, no such PID) or, owned by another host, when they
 * are more than a day old: a previous output moved aside is moved back if the target is missing,
 * and stale staging directories are deleted. Two jobs writing the same target at once are not
 * supported.
 */
public final class OutputDirectory {
  /** The file that marks a directory as normstats output. */
  public static final String MARKER = "_NORMSTATS";

  private static final Logger LOG = LoggerFactory.getLogger(OutputDirectory.class);
  /** After {@code .NAME.normstats-}: {@code [old-]PID@HOST-ID}; groups "old-" or null, PID, host. */
  private static final Pattern SIDE = Pattern.compile("(old-)?(\\d+)@([A-Za-z0-9._]+)-[0-9a-f]{32}");
  private static final long FOREIGN_STALE_MILLIS = 24L * 3600 * 1000;

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
      checkInputs(fs, target, dir, inputs);
      repairInterrupted(fs, target);
      boolean exists = checkReplaceable(fs, target, dir, overwrite);
      Path parent = target.getParent();
      if (parent != null && !fs.exists(parent)) {
        fs.mkdirs(parent);
      }
      Path staging = beside(target, "");
      if (!fs.mkdirs(staging)) {
        throw InputException.usage("cannot create a directory beside " + dir);
      }
      return new OutputDirectory(fs, target, staging, exists);
    } catch (IOException e) {
      throw InputException.usage("cannot write output " + dir + ": " + e.getMessage());
    }
  }

  /**
   * The checks of {@link #prepare} that read and write nothing, for a job to make before Spark
   * starts: every error this raises, {@code prepare} would raise too (repairing an interrupted run
   * only ever restores a missing {@code dir}, never removes one).
   *
   * @throws InputException (usage) if {@code dir} is or contains an input, or exists and may not
   *     be replaced
   */
  public static void check(Configuration conf, String dir, boolean overwrite, String... inputs) {
    try {
      Path target = new Path(dir);
      FileSystem fs = target.getFileSystem(conf);
      target = fs.makeQualified(target);
      checkInputs(fs, target, dir, inputs);
      checkReplaceable(fs, target, dir, overwrite);
    } catch (IOException e) {
      throw InputException.usage("cannot write output " + dir + ": " + e.getMessage());
    }
  }

  private static void checkInputs(FileSystem fs, Path target, String dir, String... inputs) {
    for (String input : inputs) {
      Path in = fs.makeQualified(new Path(input));
      for (Path p = in; p != null; p = p.getParent()) {
        if (p.equals(target)) {
          throw InputException.usage("output " + dir + " is or contains the input " + input);
        }
      }
    }
  }

  /**
   * Refuses an existing {@code target} unless {@code overwrite} and it is ours (or empty).
   *
   * @return whether {@code target} exists
   */
  private static boolean checkReplaceable(FileSystem fs, Path target, String dir,
      boolean overwrite) throws IOException {
    if (!fs.exists(target)) {
      return false;
    }
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
    return true;
  }

  /** A new hidden path beside {@code target} owned by this process. */
  private static Path beside(Path target, String kind) {
    return new Path(target.getParent(), "." + target.getName() + ".normstats-" + kind
        + ProcessHandle.current().pid() + "@" + HOST + "-" + UUID.randomUUID().toString()
            .replace("-", ""));
  }

  /** This host's name as staging directory names carry it. */
  static final String HOST = host();

  private static String host() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName().replaceAll("[^A-Za-z0-9.]", "_");
    } catch (java.io.IOException e) {
      return "localhost";
    }
  }

  /**
   * Repairs what drivers killed while writing {@code target} left beside it (see the class
   * comment): moves a previous output back if the target is missing, deletes stale staging
   * directories.
   */
  private static void repairInterrupted(FileSystem fs, Path target) throws IOException {
    Path parent = target.getParent();
    if (parent == null || !fs.exists(parent)) {
      return;
    }
    String prefix = "." + target.getName() + ".normstats-";
    FileStatus[] siblings = fs.listStatus(parent, p -> p.getName().startsWith(prefix));
    java.util.Arrays.sort(siblings, // newest first
        java.util.Comparator.comparingLong(FileStatus::getModificationTime).reversed());
    for (FileStatus s : siblings) {
      Matcher m = SIDE.matcher(s.getPath().getName().substring(prefix.length()));
      if (!m.matches()) {
        continue; // not of this scheme (an older version's, say): left alone
      }
      boolean here = m.group(3).equals(HOST);
      boolean stale = here
          ? ProcessHandle.of(Long.parseLong(m.group(2))).map(h -> !h.isAlive()).orElse(true)
          : System.currentTimeMillis() - s.getModificationTime() > FOREIGN_STALE_MILLIS;
      if (!stale) {
        continue;
      }
      if (m.group(1) != null && !fs.exists(target)) {
        if (fs.rename(s.getPath(), target)) {
          LOG.warn("restored the previous output {} from {}, left by a job killed while replacing it",
              target, s.getPath().getName());
        }
      } else if (fs.delete(s.getPath(), true)) {
        LOG.warn("deleted {}, left beside {} by a job that was killed", s.getPath().getName(), target);
      }
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
        old = beside(target, "old-");
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
