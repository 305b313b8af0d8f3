package io.normstats.testing;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/** Writes and reads unsigned-byte IDX files independently of io.normstats.io.IdxReader. */
public final class IdxFiles {
  private IdxFiles() {}

  /** Writes {@code images[i][p]} (0..255) as an idx3 file of {@code rows x cols} images. */
  public static void writeImages(Path file, int rows, int cols, int[][] images, boolean gzip)
      throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(bytes);
    out.writeInt(0x00000803);
    out.writeInt(images.length);
    out.writeInt(rows);
    out.writeInt(cols);
    for (int[] image : images) {
      for (int v : image) {
        out.writeByte(v);
      }
    }
    out.flush();
    try (OutputStream f = gzip ? new GZIPOutputStream(Files.newOutputStream(file))
        : Files.newOutputStream(file)) {
      f.write(bytes.toByteArray());
    }
  }

  /** Reads a gzip-compressed idx3 file of unsigned bytes: [image][pixel] as doubles. */
  public static double[][] readGzipImages(Path file) throws IOException {
    try (InputStream raw = Files.newInputStream(file);
        DataInputStream in = new DataInputStream(new GZIPInputStream(raw))) {
      int magic = in.readInt();
      if (magic != 2051) {
        throw new IOException("not an idx3 ubyte file: " + magic);
      }
      int n = in.readInt();
      int pixels = in.readInt() * in.readInt();
      double[][] images = new double[n][pixels];
      byte[] buffer = new byte[pixels];
      for (int i = 0; i < n; i++) {
        in.readFully(buffer);
        for (int p = 0; p < pixels; p++) {
          images[i][p] = buffer[p] & 0xFF;
        }
      }
      return images;
    }
  }
}
