package io.normstats.result;

import com.esotericsoftware.kryo.DefaultSerializer;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import java.io.Serializable;

/**
 * An image's size in pixels.
 *
 * @param height rows of pixels
 * @param width columns of pixels
 */
@DefaultSerializer(JavaSerializer.class) // Spark's Kryo cannot serialize records
public record ImageSize(int height, int width) implements Serializable {
  /** The pixels, height times width. */
  public long pixels() {
    return (long) height * width;
  }

  /** Whether this size has fewer pixels than {@code o} (then is lower, then narrower). */
  public boolean smallerThan(ImageSize o) {
    return pixels() != o.pixels() ? pixels() < o.pixels()
        : height != o.height ? height < o.height : width < o.width;
  }
}
