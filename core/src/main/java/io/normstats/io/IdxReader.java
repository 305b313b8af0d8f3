package io.normstats.io;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;

/**
 * Reads IDX files (the format of MNIST and Fashion-MNIST: Y. LeCun et al.,
 * http://yann.lecun.com/exdb/mnist/), plain or gzip-compressed, one item at a time.
 *
 * <p>Layout: a big-endian header {@code 0x00 0x00 TYPE NDIMS}, then NDIMS int32 dimension sizes, then
 * the data in row-major order. Dimension 0 counts the items; an item is the product of the others
 * (28*28 = 784 pixels for an idx3 image file, 1 for an idx1 label file). TYPE is 0x08 unsigned byte,
 * 0x09 signed byte, 0x0B int16, 0x0C int32, 0x0D float32 or 0x0E float64. Values are returned as
 * doubles (pixels 0..255 for unsigned bytes). Plain Java: no Spark dependency.
 */
public final class IdxReader implements AutoCloseable {
  private final DataInputStream in;
  private final int type;
  private final int[] dims;
  private final long items;
  private final int itemLength;
  private final int valueBytes;
  private final byte[] buffer;
  private final String name;
  private long position;

  private IdxReader(DataInputStream in, String name) throws IOException {
    this.in = in;
    this.name = name;
    int magic;
    try {
      magic = in.readInt();
    } catch (EOFException e) {
      throw new IOException(name + ": not an IDX file (shorter than its header)");
    } catch (java.util.zip.ZipException e) {
      throw new IOException(name + ": corrupt gzip data: " + e.getMessage(), e);
    }
    if ((magic >>> 16) != 0) {
      throw new IOException(name + ": not an IDX file (magic 0x" + Integer.toHexString(magic) + ")");
    }
    type = (magic >>> 8) & 0xFF;
    int ndims = magic & 0xFF;
    valueBytes = switch (type) {
      case 0x08, 0x09 -> 1;
      case 0x0B -> 2;
      case 0x0C, 0x0D -> 4;
      case 0x0E -> 8;
      default -> throw new IOException(
          name + ": unknown IDX data type 0x" + Integer.toHexString(type));
    };
    if (ndims < 1) {
      throw new IOException(name + ": IDX file with no dimensions");
    }
    dims = new int[ndims];
    long length = 1;
    for (int d = 0; d < ndims; d++) {
      try {
        dims[d] = in.readInt();
      } catch (EOFException e) {
        throw new IOException(name + ": not an IDX file (shorter than its header)");
      }
      if (dims[d] < 0) {
        throw new IOException(name + ": negative IDX dimension " + dims[d]);
      }
      if (d > 0) {
        length *= dims[d];
      }
    }
    if (length > Integer.MAX_VALUE / 8) {
      throw new IOException(name + ": IDX items of " + length + " values are too large");
    }
    items = dims[0];
    itemLength = (int) length;
    buffer = new byte[itemLength * valueBytes];
  }

  /**
   * Opens an IDX stream, decompressing it if it starts with the gzip magic bytes. The reader owns
   * the stream and closes it.
   *
   * @param raw the file's bytes
   * @param name the file name, for error messages
   * @throws IOException if the stream is not an IDX file or cannot be read
   */
  public static IdxReader open(InputStream raw, String name) throws IOException {
    BufferedInputStream buffered = new BufferedInputStream(raw, 1 << 16);
    buffered.mark(2);
    int b0 = buffered.read();
    int b1 = buffered.read();
    buffered.reset();
    InputStream data = (b0 == 0x1f && b1 == 0x8b)
        ? new BufferedInputStream(new GZIPInputStream(buffered, 1 << 16), 1 << 16)
        : buffered;
    try {
      return new IdxReader(new DataInputStream(data), name);
    } catch (IOException e) {
      data.close();
      throw e;
    }
  }

  /** The number of items (dimension 0). */
  public long items() {
    return items;
  }

  /** The number of values in one item: the product of dimensions 1..n-1. */
  public int itemLength() {
    return itemLength;
  }

  /** All dimensions, dimension 0 (the item count) first. */
  public int[] dimensions() {
    return Arrays.copyOf(dims, dims.length);
  }

  /** Skips {@code count} items. @throws IOException if the file ends first */
  public void skipItems(long count) throws IOException {
    long bytes = count * buffer.length;
    try {
      while (bytes > 0) {
        long skipped = in.skip(bytes);
        if (skipped <= 0) {
          if (in.read() < 0) {
            throw new EOFException();
          }
          skipped = 1;
        }
        bytes -= skipped;
      }
    } catch (IOException e) {
      throw failed(e, position + count - 1); // somewhere up to the last item skipped
    }
    position += count;
  }

  /**
   * Reads the next item into {@code out} (length {@link #itemLength()}).
   *
   * @throws IOException if the file ends before the item does, or cannot be read
   */
  public void readItem(double[] out) throws IOException {
    try {
      in.readFully(buffer);
    } catch (IOException e) {
      throw failed(e, position);
    }
    position++;
    switch (type) {
      case 0x08 -> {
        for (int i = 0; i < itemLength; i++) {
          out[i] = buffer[i] & 0xFF;
        }
      }
      case 0x09 -> {
        for (int i = 0; i < itemLength; i++) {
          out[i] = buffer[i];
        }
      }
      default -> {
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(buffer); // big-endian
        for (int i = 0; i < itemLength; i++) {
          out[i] = switch (type) {
            case 0x0B -> bb.getShort();
            case 0x0C -> bb.getInt();
            case 0x0D -> bb.getFloat();
            default -> bb.getDouble();
          };
        }
      }
    }
  }

  /** {@code e} from reading up to item {@code item}, as an exception naming the file. */
  private IOException failed(IOException e, long item) {
    if (e instanceof EOFException) { // also gzip's "Unexpected end of ZLIB input stream"
      return new IOException(name + ": truncated: the IDX header says " + items
          + " items, the file ends before the end of item " + item, e);
    }
    return new IOException(name + ": cannot read item " + item + " of " + items + ": "
        + (e instanceof java.util.zip.ZipException ? "corrupt gzip data: " : "") + e.getMessage(), e);
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
