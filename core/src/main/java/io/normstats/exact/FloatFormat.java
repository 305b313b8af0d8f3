package io.normstats.exact;

/**
 * The IEEE 754 binary formats (and bfloat16) that statistics are rounded to when they are stored
 * in a tensor of that type: significant bits, the exponent of the smallest subnormal's unit in the
 * last place, and the largest exponent of a finite number. Every number of these formats is a
 * double, so values are handed around as doubles that hold them exactly.
 */
public enum FloatFormat {
  /** IEEE 754 binary16 ("half", ONNX {@code float16}): 11 bits, subnormals down to 2^-24. */
  BINARY16(11, -24, 15),
  /** bfloat16 (ONNX {@code bfloat16}): binary32's exponent range with 8 significant bits. */
  BFLOAT16(8, -133, 127),
  /** IEEE 754 binary32 (Java float). */
  BINARY32(24, -149, 127),
  /** IEEE 754 binary64 (Java double). */
  BINARY64(53, -1074, 1023);

  private final int precision;
  private final int minUlpExponent;
  private final int maxExponent;

  FloatFormat(int precision, int minUlpExponent, int maxExponent) {
    this.precision = precision;
    this.minUlpExponent = minUlpExponent;
    this.maxExponent = maxExponent;
  }

  /** Significant bits, the implicit leading bit included. */
  public int precision() {
    return precision;
  }

  /** The exponent of the unit in the last place of the subnormal numbers. */
  public int minUlpExponent() {
    return minUlpExponent;
  }

  /** The largest exponent of a finite number ({@code 2^maxExponent <= MAX < 2^(maxExponent+1)}). */
  public int maxExponent() {
    return maxExponent;
  }

  /**
   * The number of this format nearest to {@code v} (ties to even), as a double: what a cast from
   * double gives (for binary32 exactly Java's {@code (float) v}). Infinite beyond the largest
   * finite number's rounding range; NaN, infinities and zeros (with their sign) stay.
   */
  public double nearest(double v) {
    if (this == BINARY64 || v == 0 || Double.isNaN(v) || Double.isInfinite(v)) {
      return v;
    }
    if (this == BINARY32) {
      return (float) v;
    }
    int ulpExponent = Math.max(Math.getExponent(v) - (precision - 1), minUlpExponent);
    // v / ulp and back are exact (powers of two, far from double's limits); rint ties to even
    double rounded = Math.scalb(Math.rint(Math.scalb(v, -ulpExponent)), ulpExponent);
    return Math.abs(rounded) >= Math.scalb(1.0, maxExponent + 1)
        ? Math.copySign(Double.POSITIVE_INFINITY, v) : rounded;
  }

  /** The binary16 bits of {@code v}, a binary16 number (or an infinity, NaN or signed zero). */
  public static short binary16Bits(double v) {
    int sign = Double.doubleToRawLongBits(v) < 0 ? 0x8000 : 0;
    double a = Math.abs(v);
    if (Double.isNaN(v)) {
      return (short) 0x7E00;
    }
    if (Double.isInfinite(a)) {
      return (short) (sign | 0x7C00);
    }
    if (a < 0x1p-14) { // subnormal or zero: a multiple of 2^-24
      return (short) (sign | (int) Math.scalb(a, 24));
    }
    int e = Math.getExponent(a);
    int mantissa = (int) Math.scalb(a, 10 - e) - 1024;
    return (short) (sign | ((e + 15) << 10) | mantissa);
  }

  /** The value of binary16 bits {@code h}, exactly. */
  public static double binary16Value(short h) {
    int bits = h & 0xFFFF;
    double sign = (bits & 0x8000) != 0 ? -1 : 1;
    int e = (bits >>> 10) & 0x1F;
    int m = bits & 0x3FF;
    if (e == 0x1F) {
      return m == 0 ? sign * Double.POSITIVE_INFINITY : Double.NaN;
    }
    return e == 0 ? sign * Math.scalb((double) m, -24) : sign * Math.scalb((double) (1024 + m),
        e - 25);
  }

  /** The bfloat16 bits of {@code v}, a bfloat16 number (or an infinity, NaN or signed zero). */
  public static short bfloat16Bits(double v) {
    return (short) (Float.floatToRawIntBits((float) v) >>> 16);
  }

  /** The value of bfloat16 bits {@code h}, exactly. */
  public static double bfloat16Value(short h) {
    return Float.intBitsToFloat((h & 0xFFFF) << 16);
  }
}
