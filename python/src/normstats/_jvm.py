"""The normstats jars, and the JVM's errors as Python exceptions."""

from __future__ import annotations

import contextlib
import os
from importlib import resources
from typing import Iterator

from py4j.protocol import Py4JJavaError

__all__ = ["spark_jars", "NormstatsInputError", "java_errors"]

_INPUT_EXCEPTION = "io.normstats.InputException"


def spark_jars(*, onnx: bool = False) -> str:
    """The normstats jars for ``spark.jars`` (or ``spark-submit --jars``), comma-separated.

    The wheel carries two jars, both built by ``mvn package``:

    - ``normstats/jars/normstats-spark.jar`` (under 1 MB): the ML stages ``BatchNorm``,
      ``LayerNorm``, ``RMSNorm``, the exact SQL functions, :func:`normstats.exact_stats` and
      :func:`normstats.image_stats`;
    - ``normstats/jars/normstats-onnx.jar`` (about 36 MB: ONNX Runtime's native libraries for
      Linux, macOS and Windows): ``BatchNormRecalibration`` and ``RecalibratedNetworkModel``,
      which run ONNX networks. It needs the first one beside it.

    Parameters
    ----------
    onnx : bool, default False
        Also the ONNX jar, for the network stages.

    Returns
    -------
    str
        ``$NORMSTATS_JAR`` if that variable is set (one jar with everything, such as the
        application jar ``app/target/normstats-VERSION.jar`` of a source checkout), otherwise the
        paths of the jars installed inside this package, joined by commas as ``spark.jars``
        takes them.

    Raises
    ------
    FileNotFoundError
        If ``$NORMSTATS_JAR`` names no file, or the package has no jars inside (a source tree
        used without installing: ``pip install ./python`` after ``mvn -B -DskipTests package``, or
        set ``NORMSTATS_JAR``).
    """
    override = os.environ.get("NORMSTATS_JAR")
    if override:
        if not os.path.isfile(override):
            raise FileNotFoundError(f"NORMSTATS_JAR={override} does not exist")
        return os.path.abspath(override)
    names = ["normstats-spark.jar"] + (["normstats-onnx.jar"] if onnx else [])
    jars = [resources.files("normstats").joinpath("jars", name) for name in names]
    for jar in jars:
        if not jar.is_file():
            raise FileNotFoundError(
                f"this normstats has no {jar.name} inside (installed from a source tree?); "
                "install the wheel built by `pip install ./python` after `mvn package`, or set "
                "NORMSTATS_JAR")
    return ",".join(str(jar) for jar in jars)


class NormstatsInputError(ValueError):
    """Bad input reported by the JVM side: a column, value or file that cannot work.

    ``str(error)`` is the JVM's one-line message naming the column, value or file.

    Attributes
    ----------
    exit_code : int
        The exit code the jobs use for it: 2 for a usage error (a missing or non-numeric column,
        a bad option), 1 for bad data (a NaN under handleInvalid="error", vectors of different
        lengths, a malformed file).
    """

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _input_exception(java_exception: object) -> NormstatsInputError | None:
    """The InputException in a Java exception's cause chain, as a Python exception, or None."""
    seen = 0
    t = java_exception
    while t is not None and seen < 32:
        name = t.getClass().getName()  # type: ignore[attr-defined]
        if name == "java.lang.IllegalArgumentException":
            return None  # a bad param: PySpark raises its own IllegalArgumentException
        if name == _INPUT_EXCEPTION:  # type: ignore[attr-defined]
            return NormstatsInputError(t.getMessage(), t.exitCode())  # type: ignore[attr-defined]
        cause = t.getCause()  # type: ignore[attr-defined]
        if cause is None or cause.equals(t):
            break
        t = cause
        seen += 1
    return None


@contextlib.contextmanager
def java_errors() -> Iterator[None]:
    """Turns a normstats InputException raised in the JVM into :class:`NormstatsInputError`.

    Other JVM errors pass through as PySpark raises them (an IllegalArgumentException of a bad
    param as ``pyspark.errors.IllegalArgumentException`` with the JVM's message).
    """
    try:
        yield
    except Py4JJavaError as e:
        converted = _input_exception(e.java_exception)
        if converted is None:
            raise
        raise converted from None
    except Exception as e:  # PySpark's captured exceptions keep the Java object
        java = getattr(e, "_origin", None)
        converted = _input_exception(java) if java is not None else None
        if converted is None:
            raise
        raise converted from None
