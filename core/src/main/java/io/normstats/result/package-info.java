/**
 * The results that the engines (the stats engine of {@code normstats-spark}, the network passes
 * of {@code normstats-onnx}) return and the outputs and reports read, as plain records without
 * Spark. Naming: {@code *Statistics} records hold values rounded for people and files;
 * {@code *Moments} with a {@code merge} are exact mergeable states; {@code *Accumulator}s are the
 * mutable sums that build them.
 */
package io.normstats.result;
