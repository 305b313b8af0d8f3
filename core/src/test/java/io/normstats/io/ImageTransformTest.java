package io.normstats.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.InputException;
import org.junit.jupiter.api.Test;

/**
 * {@link ImageTransform} on hand-derived cases: torchvision's CenterCrop window (Python's round,
 * half to even) and zero padding, the Resize size rule, a uniform image resized (every weight set
 * sums to 1 in fixed point), and its refusals. python/tests/test_images.py checks the resampling
 * itself against Pillow's on photographs, bit for bit.
 */
class ImageTransformTest {
  /** A one-channel image whose level at (y, x) is 10 y + x. */
  static ImageTransform.Levels grid(int h, int w) {
    int[] data = new int[h * w];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        data[y * w + x] = 10 * y + x;
      }
    }
    return new ImageTransform.Levels(h, w, 1, 8, "L", data);
  }

  @Test
  void centerCropWindowRoundsHalfToEven() {
    // 3 x 6 to 2 x 3: top = round(0.5) = 0, left = round(1.5) = 2
    ImageTransform.Levels c = ImageTransform.centerCrop(grid(3, 6), 2, 3);
    assertArrayEquals(new int[] {2, 3, 4, 12, 13, 14}, c.data());
    // 5 x 5 to 2 x 2: top = left = round(1.5) = 2
    assertArrayEquals(new int[] {22, 23, 32, 33}, ImageTransform.centerCrop(grid(5, 5), 2, 2)
        .data());
  }

  @Test
  void aSmallerImageIsPaddedWithZerosFirst() {
    // 1 x 2 to 4 x 3: padded left 0, right 1, top 1, bottom 2, then the whole 4 x 3
    ImageTransform.Levels c = ImageTransform.centerCrop(new ImageTransform.Levels(1, 2, 1, 8, "L",
        new int[] {7, 9}), 4, 3);
    assertArrayEquals(new int[] {0, 0, 0, 7, 9, 0, 0, 0, 0, 0, 0, 0}, c.data());
  }

  @Test
  void resizeKeepsTheAspectAsTorchvisionAndAUniformImageUniform() {
    int[] data = new int[40 * 25 * 3];
    java.util.Arrays.fill(data, 200);
    ImageTransform.Levels in = new ImageTransform.Levels(40, 25, 3, 8, "RGB", data);
    ImageTransform.Levels out = new ImageTransform(10, 0, 0).apply(in, "u.png");
    assertEquals(10, out.width()); // the shorter side
    assertEquals(16, out.height()); // int(10 * 40 / 25)
    assertTrue(java.util.Arrays.stream(out.data()).allMatch(v -> v == 200));
    ImageTransform.Levels up = new ImageTransform(50, 7, 9).apply(in, "u.png");
    assertEquals(7, up.height());
    assertEquals(9, up.width());
    assertTrue(java.util.Arrays.stream(up.data()).allMatch(v -> v == 200));
  }

  @Test
  void sixteenBitAndAlphaImagesAreRefusedNamingThem() {
    ImageTransform t = new ImageTransform(8, 0, 0);
    InputException deep = assertThrows(InputException.class, () -> t.apply(
        new ImageTransform.Levels(2, 2, 1, 16, "L", new int[4]), "deep.png"));
    assertTrue(deep.getMessage().startsWith("deep.png: resize and center crop take 8-bit"));
    InputException alpha = assertThrows(InputException.class, () -> t.apply(
        new ImageTransform.Levels(2, 2, 2, 8, "LA", new int[8]), "a.png"));
    assertTrue(alpha.getMessage().startsWith("a.png: resize and center crop of images with alpha"));
    assertThrows(IllegalArgumentException.class, () -> new ImageTransform(0, 3, 0));
  }
}
