package io.normstats.jobs;

import io.normstats.InputException;
import io.normstats.spark.input.ReadErrors;
import java.io.PrintWriter;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The entry point of every normstats job: {@code normstats JOB [options]}, one picocli subcommand per
 * job. Run by {@code jobs/normstats} (embedded local Spark by default) or by spark-submit.
 *
 * <p>Exit codes: 0 done; 1 bad data; 2 usage error (see {@link InputException}).
 */
@Command(name = "normstats", mixinStandardHelpOptions = true, version = "normstats 0.1.0",
    description = "Exact dataset statistics for normalization layers, on Apache Spark.",
    footer = {"", "From a checkout, jobs/normstats bench runs the benchmark (docs/benchmarks.md); it "
        + "is not part of the application jar."},
    subcommands = {ReportJob.class, StatsJob.class, CompareJob.class, FitJob.class, NormalizeJob.class,
        RecalibrateJob.class, MergeStatsJob.class,
        CommandLine.HelpCommand.class})
public final class Main implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "name a job, e.g. 'stats'");
  }

  /**
   * The jobs' command line, its shared options' defaults from {@link io.normstats.Defaults}
   * ({@link OptionDefaults}).
   */
  static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new Main());
    cli.setDefaultValueProvider(new OptionDefaults());
    return cli;
  }

  /** Options renamed to their Spark ML param's name, by old name. */
  static final Map<String, String> RENAMED = Map.of("--invalid", "--handle-invalid",
      "--variance", "--variance-mode", "--channels", "--num-channels");

  /** For an unknown option that was renamed: "; --invalid is now --handle-invalid", else "". */
  private static String renamed(CommandLine.ParameterException e) {
    if (!(e instanceof CommandLine.UnmatchedArgumentException u)) {
      return "";
    }
    StringBuilder out = new StringBuilder();
    for (String arg : u.getUnmatched()) {
      String option = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
      if (RENAMED.containsKey(option)) {
        out.append("; ").append(option).append(" is now ").append(RENAMED.get(option))
            .append(", as the Spark ML param is named");
      }
    }
    return out.toString();
  }

  /** Runs the command line and returns the exit code, without exiting the JVM. */
  public static int run(String... args) {
    return run(new PrintWriter(System.err, true), args);
  }

  /**
   * Runs the command line with errors going to {@code err}, and returns the exit code without
   * exiting the JVM (a SparkSession it started stays up for the next call).
   */
  public static int run(PrintWriter err, String... args) {
    return execute(commandLine(), err, args);
  }

  /**
   * Runs {@code cli} (the jobs' command line, or another command built on the jobs' options, as
   * the benchmark's) with the jobs' error handling: a usage error or bad input is one line on
   * {@code err} and exit code 2 or 1 ({@link InputException}), anything else "internal error" with
   * its stack trace and 1. Returns the exit code without exiting the JVM.
   */
  public static int execute(CommandLine cli, PrintWriter err, String... args) {
    cli.setErr(err);
    // A usage error is one line too, with where to look, not the whole help text.
    cli.setParameterExceptionHandler((e, args1) -> {
      CommandLine command = e.getCommandLine();
      String name = command.getCommandSpec().qualifiedName();
      command.getErr().println(name + ": error: " + e.getMessage().strip().replace('\n', ' ')
          + renamed(e) + " (see '" + name + " --help')");
      command.getErr().flush();
      return InputException.USAGE;
    });
    cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
      PrintWriter errors = commandLine.getErr();
      InputException ie = InputException.find(e);
      if (ie == null) {
        ie = ReadErrors.describe(e);
      }
      if (ie == null && stoppedContext(e)) {
        ie = InputException.usage("the Spark application was stopped before the job could run: "
            + "the master did not accept it (check --master and, if the cluster authenticates, "
            + "--properties-file with its spark.authenticate.secret; the warnings above say more)");
      }
      String job = commandLine.getCommandName();
      if (ie != null) {
        errors.println("normstats " + job + ": error: " + ie.getMessage());
        errors.flush();
        return ie.exitCode();
      }
      errors.println("normstats " + job + ": internal error: " + e);
      e.printStackTrace(errors);
      errors.flush();
      return 1;
    });
    return cli.execute(args);
  }

  /** Whether {@code e} comes from using a SparkContext that Spark stopped (master unreachable). */
  private static boolean stoppedContext(Throwable e) {
    for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof IllegalStateException
          && String.valueOf(c.getMessage()).startsWith("Cannot call methods on a stopped SparkContext")) {
        return true;
      }
    }
    return false;
  }

  public static void main(String[] args) {
    int code = run(args);
    System.exit(code);
  }
}
