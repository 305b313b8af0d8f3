"""The defaults the JVM stages, the command line and these wrappers share.

Generated from the Java class io.normstats.Defaults by PythonDefaultsTest (the app module's
tests); do not edit. Each value is documented there.
"""

EPSILON: float = 1.0E-5
RMS_NORM_EPSILON: float = 2.220446049250313E-16
MOMENTUM: float = 0.1
KERAS_MOMENTUM: float = 0.99
VARIANCE_MODE: str = "population"
HANDLE_INVALID: str = "error"
OUTPUT_TYPE: str = "vector"
NUM_GROUPS: int = 1
BATCH_SIZE: int = 64
PRECISE_BN_BATCH_SIZE: int = 32
PRIOR_WEIGHT: float = 0.0
