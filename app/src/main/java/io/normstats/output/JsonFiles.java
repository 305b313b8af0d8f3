package io.normstats.output;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamWriteFeature;
import java.io.IOException;
import java.io.OutputStream;

/**
 * The JSON generator every output file (stats.json, compare.json, report.json, recalibrate.json,
 * state.json) is written with: UTF-8, Jackson's default pretty printer, and doubles written by
 * Jackson's fast writer (the Schubfach algorithm: the shortest decimal that reads back as the same
 * double, Raffaello Giulietti 2020, as {@code Double.toString} does from Java 19). Java 17's
 * {@code Double.toString}, Jackson's default, made a pretty-printed number field twice as slow to
 * write (a compare.json is 12.6 MB of them for Fashion-MNIST); both forms read back as the same
 * double.
 */
final class JsonFiles {
  private static final JsonFactory FACTORY = JsonFactory.builder()
      .enable(StreamWriteFeature.USE_FAST_DOUBLE_WRITER)
      .build();

  private JsonFiles() {}

  /**
   * A pretty-printing UTF-8 generator writing to {@code stream}; closing it closes the stream.
   *
   * @throws IOException if the generator cannot be created
   */
  static JsonGenerator generator(OutputStream stream) throws IOException {
    JsonGenerator g = FACTORY.createGenerator(stream, JsonEncoding.UTF8);
    g.useDefaultPrettyPrinter();
    return g;
  }
}
