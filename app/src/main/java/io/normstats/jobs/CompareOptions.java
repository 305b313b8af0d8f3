package io.normstats.jobs;

import io.normstats.InputException;
import io.normstats.minibatch.CompareSettings;
import java.util.List;
import picocli.CommandLine.Option;

/** The options of the minibatch comparison (a picocli mixin of the compare and report jobs). */
public final class CompareOptions {
  @Option(names = "--batch-sizes", split = ",", paramLabel = "M", defaultValue = "8,32,128,512",
      description = "Batch sizes to simulate (default: ${DEFAULT-VALUE}).")
  List<Integer> batchSizes;

  @Option(names = "--shuffle-seed", paramLabel = "S",
      description = "Seed of the per-epoch random order (default: 0).")
  Long shuffleSeed;

  @Option(names = "--no-shuffle", description = "Keep the input order (files by name, rows in file "
      + "order) in every epoch.")
  boolean noShuffle;

  @Option(names = "--epochs", defaultValue = "1", paramLabel = "E",
      description = "Passes over the data (default: ${DEFAULT-VALUE}).")
  int epochs;

  @Option(names = "--drop-last", description = "Drop each epoch's last partial batch (the default, "
      + "as PyTorch DataLoader drop_last=True).")
  boolean dropLast;

  @Option(names = "--keep-last", description = "Keep each epoch's last partial batch (unless it "
      + "has one row).")
  boolean keepLast;

  @Option(names = "--momentum", paramLabel = "A",
      description = "PyTorch BatchNorm momentum (default: ${DEFAULT-VALUE}).")
  double momentum;

  @Option(names = "--keras-momentum", paramLabel = "B",
      description = "Keras BatchNormalization momentum (default: ${DEFAULT-VALUE}).")
  double kerasMomentum;

  @Option(names = "--epsilon", paramLabel = "EPS",
      description = "BatchNorm epsilon (default: ${DEFAULT-VALUE}, as PyTorch).")
  double epsilon;

  @Option(names = "--trace-points", defaultValue = "200", paramLabel = "P",
      description = "Checkpoints in the moving-average traces (default: ${DEFAULT-VALUE}).")
  int tracePoints;

  @Option(names = "--renorm-rmax", defaultValue = "3", paramLabel = "R",
      description = "Batch Renormalization r_max (default: ${DEFAULT-VALUE}).")
  double renormRmax;

  @Option(names = "--renorm-dmax", defaultValue = "5", paramLabel = "D",
      description = "Batch Renormalization d_max (default: ${DEFAULT-VALUE}).")
  double renormDmax;

  /**
   * The settings these options give.
   *
   * @throws InputException (usage) naming the first option out of range
   */
  CompareSettings settings() {
    if (noShuffle && shuffleSeed != null) {
      throw InputException.usage("give either --shuffle-seed or --no-shuffle, not both");
    }
    if (dropLast && keepLast) {
      throw InputException.usage("give either --drop-last or --keep-last, not both");
    }
    try {
      return CompareSettings.builder(batchSizes.stream().mapToInt(Integer::intValue).toArray())
          .epochs(epochs).shuffle(!noShuffle).seed(shuffleSeed == null ? 0 : shuffleSeed)
          .dropLast(!keepLast).momentum(momentum).kerasMomentum(kerasMomentum).epsilon(epsilon)
          .tracePoints(tracePoints).renormRmax(renormRmax).renormDmax(renormDmax).build();
    } catch (IllegalArgumentException e) {
      throw InputException.usage(e.getMessage());
    }
  }
}
