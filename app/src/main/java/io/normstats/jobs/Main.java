package io.normstats.jobs;

import io.normstats.InputException;
import io.normstats.spark.input.ReadErrors;
import java.io.PrintWriter;
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
    subcommands = {ReportJob.class, StatsJob.class, CompareJob.class, FitJob.class, NormalizeJob.class,
        RecalibrateJob.class, MergeStatsJob.class, BenchJob.class,
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

  /** Runs the command line and returns the exit code, without exiting the JVM. */
  public static int run(String... args) {
    return run(new PrintWriter(System.err, true), args);
  }

  /**
   * Runs the command line with errors going to {@code err}, and returns the exit code without
   * exiting the JVM (a SparkSession it started stays up for the next call).
   */
  public static int run(PrintWriter err, String... args) {
    CommandLine cli = commandLine();
    cli.setErr(err);
    // A usage error is one line too, with where to look, not the whole help text.
    cli.setParameterExceptionHandler((e, args1) -> {
      CommandLine command = e.getCommandLine();
      String name = command.getCommandSpec().qualifiedName();
      command.getErr().println(name + ": error: " + e.getMessage().strip().replace('\n', ' ')
          + " (see '" + name + " --help')");
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
