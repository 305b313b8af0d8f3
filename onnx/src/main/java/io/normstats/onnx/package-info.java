/**
 * The network layer: ONNX models and ONNX Runtime, in plain Java beside the numeric core (no
 * Spark).
 *
 * <ul>
 *   <li>{@link io.normstats.onnx.OnnxModel}: a model's BatchNormalization layers and their levels,
 *       and the graph edits recalibration needs (capturing tensors, replacing statistics, training
 *       mode), on the protobuf classes generated from ONNX's {@code onnx.proto}.</li>
 *   <li>{@link io.normstats.onnx.NetworkSession}: one ONNX Runtime session, set up so that a row's
 *       activations are reproducible bit for bit whatever its batch.</li>
 *   <li>{@link io.normstats.onnx.ActivationMoments}: exact per-channel moments of captured
 *       tensors, on {@link io.normstats.exact.MomentAccumulator}.</li>
 * </ul>
 */
package io.normstats.onnx;
