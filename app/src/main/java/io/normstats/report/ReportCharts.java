package io.normstats.report;

import io.normstats.minibatch.Comparison;
import io.normstats.minibatch.Estimator;
import io.normstats.minibatch.LinearHistogram;
import io.normstats.onnx.LayerRecalibration;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The report's charts, drawn with XChart and encoded as PNG, and the mean and standard deviation
 * images. Log axes cannot show zeros: errors below {@value #FLOOR} (exact estimates, for instance) are drawn at
 * {@value #FLOOR}.
 */
public final class ReportCharts {
  /** The smallest error drawn on a log axis. */
  static final double FLOOR = 1e-6;
  static final int WIDTH = 760;
  static final int HEIGHT = 430;

  private ReportCharts() {}

  private static XYChart chart(String title, String x, String y) {
    XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(x)
        .yAxisTitle(y).build();
    Styler s = chart.getStyler();
    s.setLegendPosition(Styler.LegendPosition.OutsideE);
    s.setChartBackgroundColor(Color.WHITE);
    s.setAntiAlias(true);
    return chart;
  }

  /**
   * The median over features of {@code metric} against the batch size, one line per estimator,
   * both axes logarithmic.
   */
  public static byte[] errorAgainstBatchSize(Comparison.Result r, int[] batchSizes, String metric,
      String label) {
    int[] sizes = batchSizes.clone();
    Arrays.sort(sizes);
    XYChart chart = chart(label + " against batch size (median over features)", "batch size",
        label);
    chart.getStyler().setXAxisLogarithmic(true).setYAxisLogarithmic(true);
    double[] x = Arrays.stream(sizes).asDoubleStream().toArray();
    for (Estimator e : Estimator.values()) {
      double[] y = new double[sizes.length];
      for (int i = 0; i < sizes.length; i++) {
        y[i] = Math.max(FLOOR, Findings.median(r, sizes[i], e, metric));
      }
      chart.addSeries(e.wireName(), x, y).setMarker(SeriesMarkers.CIRCLE);
    }
    return png(chart);
  }

  /**
   * The convergence of a moving average: the median over features of the variance's relative
   * error at each trace point, against the epochs seen, one line per batch size.
   */
  public static byte[] convergence(Comparison.Result r, Estimator estimator) {
    XYChart chart = chart(estimator.wireName() + ": convergence over training",
        "epochs seen", "|var - var_pop| / var_pop (median)");
    chart.getStyler().setYAxisLogarithmic(true).setMarkerSize(0);
    for (Comparison.Trace t : r.traces()) {
      if (t.estimator() != estimator) {
        continue;
      }
      List<Comparison.TracePoint> points = t.points();
      double[] x = points.stream().mapToDouble(Comparison.TracePoint::epoch).toArray();
      double[] y = points.stream()
          .mapToDouble(p -> Math.max(FLOOR, nanTo(p.varRelErr().median(), FLOOR))).toArray();
      chart.addSeries("batch size " + t.batchSize(), x, y).setMarker(SeriesMarkers.NONE);
    }
    return png(chart);
  }

  /** The single-minibatch means of one feature as a histogram, with the exact mean marked. */
  public static byte[] batchMeans(ReportData.BatchMeanDistribution d) {
    LinearHistogram h = d.histogram();
    long[] counts = h.counts();
    XYChart chart = chart("Single-minibatch means of " + d.name() + " (batch size " + d.batchSize()
        + ")", d.name() + " mean of one minibatch", "batches");
    double[] x = new double[counts.length + 1];
    double[] y = new double[counts.length + 1];
    long top = 1;
    for (int i = 0; i <= counts.length; i++) {
      x[i] = h.edge(i);
      y[i] = i < counts.length ? counts[i] : counts[counts.length - 1];
      top = Math.max(top, (long) y[i]);
    }
    XYSeries bars = chart.addSeries("batches", x, y);
    bars.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.StepArea);
    bars.setMarker(SeriesMarkers.NONE);
    XYSeries exact = chart.addSeries("exact mean " + Findings.num(d.exactMean()),
        new double[] {d.exactMean(), d.exactMean()}, new double[] {0, top});
    exact.setMarker(SeriesMarkers.NONE);
    exact.setLineColor(Color.RED);
    exact.setLineWidth(2.5f);
    return png(chart);
  }

  /** A channel's pixels by 8-bit level (0 to 255), as a histogram. */
  public static byte[] levels(long[] counts, String channel) {
    XYChart chart = chart("Pixel levels of channel " + channel, "level (0-255)", "pixels");
    double[] x = new double[counts.length + 1];
    double[] y = new double[counts.length + 1];
    for (int i = 0; i <= counts.length; i++) {
      x[i] = i;
      y[i] = counts[Math.min(i, counts.length - 1)];
    }
    XYSeries bars = chart.addSeries("pixels", x, y);
    bars.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.StepArea);
    bars.setMarker(SeriesMarkers.NONE);
    return png(chart);
  }

  /**
   * A network's BatchNorm layers by depth (topological order, 1 = nearest the input): the median
   * over channels of {@code metric} for each estimate, log scale.
   */
  public static byte[] layerErrorsByDepth(ReportData.Network n, String metric, String label) {
    XYChart chart = chart(label + " by layer (median over channels)", "BatchNorm layer, by depth",
        label);
    chart.getStyler().setYAxisLogarithmic(true);
    int layers = n.result().layers().size();
    double[] x = new double[layers];
    for (int k = 0; k < layers; k++) {
      x[k] = k + 1;
    }
    for (String estimate : Findings.ESTIMATES) {
      double[] m = Findings.layerMedians(n, estimate, metric);
      double[] y = new double[layers];
      for (int k = 0; k < layers; k++) {
        y[k] = Math.max(FLOOR, nanTo(m[k], FLOOR));
      }
      chart.addSeries(estimate, x, y).setMarker(SeriesMarkers.CIRCLE);
    }
    return png(chart);
  }

  /**
   * One layer's stored statistic against the exact one, per channel, with the line y = x: the
   * mean, or the variance (in the written variance mode).
   */
  public static byte[] storedAgainstExact(LayerRecalibration l, boolean variance,
      boolean sample) {
    String what = variance ? (sample ? "var_samp" : "var_pop") : "mean";
    XYChart chart = new XYChartBuilder().width(WIDTH / 2).height(HEIGHT * 3 / 4)
        .title(l.layer().node() + ": " + (variance ? "variance" : "mean"))
        .xAxisTitle("exact " + what).yAxisTitle("stored").build();
    Styler s = chart.getStyler();
    s.setLegendVisible(false);
    s.setChartBackgroundColor(Color.WHITE);
    s.setAntiAlias(true);
    int c = l.layer().channels();
    double[] x = new double[c];
    double[] y = variance ? l.layer().storedVariance() : l.layer().storedMean();
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    for (int j = 0; j < c; j++) {
      x[j] = variance ? (sample ? l.exact()[j].varSamp() : l.exact()[j].varPop())
          : l.exact()[j].mean();
      lo = Math.min(lo, Math.min(x[j], y[j]));
      hi = Math.max(hi, Math.max(x[j], y[j]));
    }
    XYSeries identity = chart.addSeries("y = x", new double[] {lo, hi}, new double[] {lo, hi});
    identity.setMarker(SeriesMarkers.NONE);
    identity.setLineColor(Color.GRAY);
    XYSeries channels = chart.addSeries("channels", x, y.clone());
    channels.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
    channels.setMarker(SeriesMarkers.CIRCLE);
    return png(chart);
  }

  /**
   * One grey-level image of {@code values} (H x W, row-major) scaled to 0..255 between their
   * minimum and maximum, each pixel drawn as a {@code scale} x {@code scale} square.
   */
  public static byte[] image(double[] values, int offset, int height, int width, int scale) {
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    for (int k = 0; k < height * width; k++) {
      lo = Math.min(lo, values[offset + k]);
      hi = Math.max(hi, values[offset + k]);
    }
    BufferedImage img = new BufferedImage(width * scale, height * scale, BufferedImage.TYPE_BYTE_GRAY);
    for (int r = 0; r < height; r++) {
      for (int c = 0; c < width; c++) {
        double v = values[offset + r * width + c];
        int g = hi > lo ? (int) Math.round(255 * (v - lo) / (hi - lo)) : 0;
        int rgb = (g << 16) | (g << 8) | g;
        for (int dy = 0; dy < scale; dy++) {
          for (int dx = 0; dx < scale; dx++) {
            img.setRGB(c * scale + dx, r * scale + dy, rgb);
          }
        }
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      ImageIO.write(img, "png", out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static double nanTo(double v, double fallback) {
    return Double.isNaN(v) ? fallback : v;
  }

  private static byte[] png(XYChart chart) {
    try {
      return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
