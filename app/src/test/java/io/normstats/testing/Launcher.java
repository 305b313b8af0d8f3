package io.normstats.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs {@code jobs/normstats} as a user does, in its own process, from the project directory. */
public final class Launcher {
  /** The project directory (failsafe passes it as {@code normstats.home}). */
  public static final Path HOME = Path.of(System.getProperty("normstats.home", "."));

  private Launcher() {}

  /** What a run printed and returned. */
  public record Result(int exitCode, String stdout, String stderr) {}

  /**
   * Runs the launcher with {@code args} and the extra environment {@code env}, capturing its output
   * in files under {@code tmp}; fails the test if it takes more than {@code minutes}.
   */
  public static Result launch(Path tmp, Map<String, String> env, int minutes, String... args)
      throws IOException, InterruptedException {
    Path out = Files.createTempFile(tmp, "stdout", ".txt");
    Path err = Files.createTempFile(tmp, "stderr", ".txt");
    Process p = start(env, out, err, args);
    if (!p.waitFor(minutes, TimeUnit.MINUTES)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      assertTrue(false, "launcher timed out after " + minutes + " minutes");
    }
    return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
        Files.readString(err, StandardCharsets.UTF_8));
  }

  /**
   * Starts the launcher with {@code args} and the extra environment {@code env} without waiting,
   * its stdout to {@code out} and stderr to {@code err} (the same file for both is fine). The
   * process is the driver JVM in embedded mode (the launcher execs java).
   */
  public static Process start(Map<String, String> env, Path out, Path err, String... args)
      throws IOException {
    List<String> command = new ArrayList<>();
    command.add(HOME.resolve("jobs/normstats").toString());
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).directory(HOME.toFile())
        .redirectOutput(out.toFile());
    if (out.equals(err)) {
      builder.redirectErrorStream(true);
    } else {
      builder.redirectError(err.toFile());
    }
    builder.environment().putAll(env);
    return builder.start();
  }
}
