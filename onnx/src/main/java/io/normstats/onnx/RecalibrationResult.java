package io.normstats.onnx;

import java.util.List;

/**
 * A recalibration of a network's BatchNormalization layers: its layers and the written models.
 *
 * @param rows the number of rows the statistics are over
 * @param inputRows the number of input rows ({@code rows} unless sampled)
 * @param levels the number of levels
 * @param passes the distributed passes of the exact statistics (= levels)
 * @param layers every layer, in topological order
 * @param recalibrated the input model with every layer's statistics replaced
 * @param onePass the model with the one_pass statistics, or null
 * @param preciseBn the model with the precise_bn statistics, or null
 */
public record RecalibrationResult(long rows, long inputRows, int levels, int passes,
    List<LayerRecalibration> layers, OnnxModel recalibrated, OnnxModel onePass,
    OnnxModel preciseBn) {}
