"""normstats' Spark ML stages for PySpark pipelines.

Each class wraps the JVM stage of the same name in ``io.normstats.ml`` (in the normstats jars, which
the Spark session must have on ``spark.jars``: see :func:`normstats.spark_jars`), following PySpark's
own wrappers: keyword-only constructors and ``setParams``, Params with TypeConverters and the JVM's
defaults, getters and setters under the JVM's names, ML persistence (``save``/``load``, also inside
a ``Pipeline`` or ``PipelineModel``, saved from Python or from Java/Scala).

Vector shapes follow the JVM stages: an input column holds one vector per row (a Vector, dense or
sparse, ``array<double>`` or ``array<float>``); with ``numChannels`` = C, a vector of length
C*H*W is read channel-major (C blocks of H*W values, PyTorch's NCHW with N = the rows).

Importing this module (``import normstats`` does) registers it as the Python module of the JVM
package ``io.normstats.ml``, which PySpark derives from the saved class names when it loads a
pipeline; without the alias, ``PipelineModel.load`` fails on a normstats stage.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, Generic, List, Optional, Sequence, Type, TypeVar

from pyspark import keyword_only
from pyspark.ml.linalg import DenseVector, Vector
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasHandleInvalid, HasInputCol, HasOutputCol
from pyspark.ml.util import JavaMLReadable, JavaMLReader, JavaMLWritable, MLReadable, MLReader
from pyspark.ml.wrapper import JavaEstimator, JavaModel, JavaTransformer
from pyspark.sql import DataFrame, is_remote

from normstats import _defaults
from normstats._jvm import java_errors

if TYPE_CHECKING:
    from py4j.java_gateway import JavaObject

__all__ = [
    "BatchNorm",
    "BatchNormModel",
    "LayerNorm",
    "RMSNorm",
    "BatchNormRecalibration",
    "RecalibratedNetworkModel",
    "RecalibratedLayer",
]

_JAVA_PACKAGE = "io.normstats.ml"

RL = TypeVar("RL", bound="MLReadable[Any]")


class _Reader(JavaMLReader[RL]):
    """Loads a saved stage with the JVM class ``io.normstats.ml.<Python class name>``."""

    @classmethod
    def _java_loader_class(cls, clazz: Type[Any]) -> str:
        return f"{_JAVA_PACKAGE}.{clazz.__name__}"


_CONNECT_NAMES: Dict[type, type] = {}


def _connect_named(clazz: type) -> type:
    """A subclass of ``clazz`` whose module name is the JVM package.

    Spark Connect's reader derives the JVM class from the Python module's name, as it does for
    ``pyspark.ml``; this gives it ``io.normstats.ml.<name>``, and the module alias above resolves
    the name back to ``clazz``.
    """
    named = _CONNECT_NAMES.get(clazz)
    if named is None:
        named = type(clazz.__name__, (clazz,), {"__module__": _JAVA_PACKAGE})
        _CONNECT_NAMES[clazz] = named
    return named


class _Readable(JavaMLReadable[RL], Generic[RL]):
    @classmethod
    def read(cls) -> MLReader[RL]:  # type: ignore[override]  # remote: not a JavaMLReader
        """An MLReader for this class, over py4j or over Spark Connect."""
        if is_remote():
            from pyspark.ml.connect.readwrite import RemoteMLReader

            return RemoteMLReader(_connect_named(cls))  # type: ignore[arg-type]
        return _Reader(cls)  # type: ignore[arg-type]


def _require_classic(what: str, why: Optional[str] = None) -> None:
    if is_remote():
        raise NotImplementedError(why or (
            f"{what} is not reachable over Spark Connect: its server allows attribute calls only "
            "on Spark's own models. Save the model and read its statistics from the saved "
            "directory (path/data is Parquet), or use a classic SparkSession."))


class _ColumnParams(HasInputCol, HasOutputCol):
    """inputCol and outputCol (default ``uid + "__output"``, as on the JVM), with their setters."""

    def setInputCol(self, value: str) -> Any:
        """Sets the input column (a Vector, array<double> or array<float> column)."""
        return self._set(inputCol=value)

    def setOutputCol(self, value: str) -> Any:
        """Sets the output column."""
        return self._set(outputCol=value)


class _NormParams(_ColumnParams, HasHandleInvalid):
    """The params every normalization stage has."""

    epsilon: Param[float] = Param(
        Params._dummy(), "epsilon", "added to the variance (or mean square) before the square "
        "root", typeConverter=TypeConverters.toFloat)
    outputType: Param[str] = Param(
        Params._dummy(), "outputType", "'vector' (default): a dense Vector; 'array': the input's "
        "array type (array<double> for a Vector input)", typeConverter=TypeConverters.toString)

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._setDefault(handleInvalid=_defaults.HANDLE_INVALID, outputType=_defaults.OUTPUT_TYPE)

    def getEpsilon(self) -> float:
        """The epsilon."""
        return self.getOrDefault(self.epsilon)

    def getOutputType(self) -> str:
        """'vector' or 'array'."""
        return self.getOrDefault(self.outputType)

    def setEpsilon(self, value: float) -> Any:
        """Sets epsilon (at least 0)."""
        return self._set(epsilon=value)

    def setHandleInvalid(self, value: str) -> Any:
        """Sets handleInvalid: 'error', 'skip' or 'keep'."""
        return self._set(handleInvalid=value)

    def setOutputType(self, value: str) -> Any:
        """Sets the output type: 'vector' or 'array'."""
        return self._set(outputType=value)


class _HasVarianceMode(Params):
    """varianceMode, as the JVM trait ``io.normstats.ml.param.HasVarianceMode``."""

    varianceMode: Param[str] = Param(
        Params._dummy(), "varianceMode", "'population' (/n, what BatchNorm normalizes with) or "
        "'sample' (/(n-1), as StandardScaler and PyTorch's running_var)",
        typeConverter=TypeConverters.toString)

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._setDefault(varianceMode=_defaults.VARIANCE_MODE)

    def getVarianceMode(self) -> str:
        """'population' or 'sample'."""
        return self.getOrDefault(self.varianceMode)

    def setVarianceMode(self, value: str) -> Any:
        """Sets the variance: 'population' (/n) or 'sample' (/(n-1))."""
        return self._set(varianceMode=value)


class _HasNumChannels(Params):
    """numChannels, as the JVM trait ``io.normstats.ml.param.HasNumChannels``."""

    numChannels: Param[int] = Param(
        Params._dummy(), "numChannels", "channels C of the channel-major input vectors (length "
        "C*H*W): one statistic per channel (BatchNorm2d); unset: every element a channel "
        "(BatchNorm1d)", typeConverter=TypeConverters.toInt)

    def getNumChannels(self) -> int:
        """The channels C; 0 when unset (every element a channel), as the JVM's getter."""
        return self.getOrDefault(self.numChannels) if self.isDefined(self.numChannels) else 0

    def setNumChannels(self, value: int) -> Any:
        """Sets C: vectors of C channel-major channels."""
        return self._set(numChannels=value)


class _HasWeight(Params):
    """weight (gamma), as the JVM trait ``io.normstats.ml.param.HasWeight``."""

    weight: Param[Vector] = Param(
        Params._dummy(), "weight", "gamma, the scale applied after normalizing, one per channel "
        "or element (default: ones)", typeConverter=TypeConverters.toVector)

    def getWeight(self) -> Optional[Vector]:
        """Gamma; None when unset (ones), as the JVM's getter returns null."""
        return self.getOrDefault(self.weight) if self.isDefined(self.weight) else None

    def setWeight(self, value: Vector) -> Any:
        """Sets gamma, one value per channel (per element without numChannels)."""
        return self._set(weight=value)


class _HasBias(Params):
    """bias (beta), as the JVM trait ``io.normstats.ml.param.HasBias``."""

    bias: Param[Vector] = Param(
        Params._dummy(), "bias", "beta, the shift applied after normalizing, one per channel or "
        "element (default: zeros)", typeConverter=TypeConverters.toVector)

    def getBias(self) -> Optional[Vector]:
        """Beta; None when unset (zeros), as the JVM's getter returns null."""
        return self.getOrDefault(self.bias) if self.isDefined(self.bias) else None

    def setBias(self, value: Vector) -> Any:
        """Sets beta, one value per channel (per element without numChannels)."""
        return self._set(bias=value)


class _BatchNormParams(_NormParams, _HasVarianceMode, _HasNumChannels, _HasWeight, _HasBias):
    """The params of :class:`BatchNorm` and :class:`BatchNormModel`."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._setDefault(epsilon=_defaults.EPSILON)


class BatchNorm(JavaEstimator["BatchNormModel"], _BatchNormParams, _Readable["BatchNorm"],
                JavaMLWritable):
    """BatchNorm as an Estimator: ``fit`` computes the exact dataset mean and variance.

    Each statistic is the double nearest the exact rational value (one rounding), bit-for-bit the
    same for any partitioning, over every row of the input column, and the fitted
    :class:`BatchNormModel` normalizes in prediction mode, ``y = weight * (x - mean) /
    sqrt(var + epsilon) + bias``, as PyTorch's ``BatchNorm1d/2d`` in ``eval()`` (Ioffe & Szegedy
    2015, arXiv:1502.03167, Algorithm 2).

    Parameters
    ----------
    inputCol : str
        A Vector (dense or sparse), ``array<double>`` or ``array<float>`` column; every vector
        has the same length D.
    outputCol : str, default ``uid + "__output"``
    epsilon : float, default 1e-5 (PyTorch's)
    varianceMode : {"population", "sample"}, default "population"
        "population" divides by n (what BatchNorm normalizes with); "sample" by n-1 (as
        ``StandardScaler`` and PyTorch's ``running_var``).
    numChannels : int, optional
        Unset: one statistic per element (BatchNorm1d, D statistics). C: vectors of length C*H*W
        in channel-major order get one statistic per channel over all N*H*W values (BatchNorm2d).
    weight, bias : Vector, optional
        Gamma and beta, one value per feature or channel (default ones and zeros).
    handleInvalid : {"error", "skip", "keep"}, default "error"
        For a null vector or a NaN/infinite element: "error" fails naming the column; "skip"
        leaves the row out of the fit (and the model drops it); "keep" leaves the value out of
        the statistics (and the model outputs NaN/null).
    outputType : {"vector", "array"}, default "vector"

    Raises
    ------
    pyspark.errors.IllegalArgumentException
        From ``fit``, for a missing or non-vector inputCol, channels that do not divide the
        length, or weight/bias of the wrong length (the JVM's message).
    normstats.NormstatsInputError
        From ``fit``, for bad data: a NaN, infinite or null value under handleInvalid="error",
        vectors of different lengths, too few values, a variance beyond the double range.

    Examples
    --------
    >>> bn = BatchNorm(inputCol="features", outputCol="normalized", numChannels=3)
    >>> model = bn.fit(df)                                          # doctest: +SKIP
    >>> model.mean                                                  # doctest: +SKIP
    DenseVector([...])
    """

    _input_kwargs: Dict[str, Any]

    @keyword_only
    def __init__(self, *, inputCol: Optional[str] = None, outputCol: Optional[str] = None,
                 epsilon: float = _defaults.EPSILON, varianceMode: str = _defaults.VARIANCE_MODE,
                 numChannels: Optional[int] = None, weight: Optional[Vector] = None,
                 bias: Optional[Vector] = None, handleInvalid: str = _defaults.HANDLE_INVALID,
                 outputType: str = _defaults.OUTPUT_TYPE) -> None:
        super().__init__()
        self._java_obj = self._new_java_obj(f"{_JAVA_PACKAGE}.BatchNorm", self.uid)
        kwargs = self._input_kwargs
        self.setParams(**kwargs)

    @keyword_only
    def setParams(self, *, inputCol: Optional[str] = None, outputCol: Optional[str] = None,
                  epsilon: float = _defaults.EPSILON, varianceMode: str = _defaults.VARIANCE_MODE,
                  numChannels: Optional[int] = None, weight: Optional[Vector] = None,
                  bias: Optional[Vector] = None, handleInvalid: str = _defaults.HANDLE_INVALID,
                  outputType: str = _defaults.OUTPUT_TYPE) -> "BatchNorm":
        """Sets the given params (keyword arguments only)."""
        kwargs = self._input_kwargs
        return self._set(**kwargs)

    def _fit(self, dataset: DataFrame) -> "BatchNormModel":
        with java_errors():
            return super()._fit(dataset)

    def _create_model(self, java_model: "JavaObject") -> "BatchNormModel":
        return BatchNormModel(java_model)


class BatchNormModel(JavaModel, _BatchNormParams, _Readable["BatchNormModel"], JavaMLWritable):
    """BatchNorm in prediction mode with fixed statistics, as fitted by :class:`BatchNorm`.

    ``y = weight * (x - mean) / sqrt(variance + epsilon) + bias`` per element (per channel with
    numChannels), PyTorch's ``BatchNorm1d/2d`` in ``eval()``. Vectors of another length than the
    model's (C, or a multiple of C with numChannels) fail the job naming the column and both
    lengths. Saved as Spark's ``StandardScalerModel`` is: params as JSON metadata, statistics as
    one Parquet row under ``path/data`` (columns mean, variance).
    """

    def __init__(self, java_model: Optional["JavaObject"] = None) -> None:
        super().__init__(java_model)
        # the uid is now the JVM model's: so is the default output column, as on the JVM
        self._setDefault(outputCol=self.uid + "__output")

    @classmethod
    def from_statistics(cls, mean: Sequence[float], variance: Sequence[float], *,
                        inputCol: Optional[str] = None, outputCol: Optional[str] = None,
                        epsilon: Optional[float] = None, numChannels: Optional[int] = None,
                        weight: Optional[Vector] = None, bias: Optional[Vector] = None,
                        handleInvalid: Optional[str] = None,
                        outputType: Optional[str] = None) -> "BatchNormModel":
        """A model from given statistics, without fitting (as StringIndexerModel.from_labels).

        For statistics from elsewhere: an estimate of the compare job, or a framework's
        running_mean and running_var.

        Parameters
        ----------
        mean, variance : sequence of float or Vector
            One value per channel C each; every variance at least 0.
        inputCol, outputCol, epsilon, numChannels, weight, bias, handleInvalid, outputType
            As for :class:`BatchNorm`; unset ones keep the defaults.

        Raises
        ------
        pyspark.errors.IllegalArgumentException
            If the lengths differ or are 0, a variance is negative or NaN, or a mean not finite.
        NotImplementedError
            Over Spark Connect, whose server builds models only by fitting or loading.
        """
        _require_classic("BatchNormModel.from_statistics",
                         "BatchNormModel.from_statistics needs a classic SparkSession: a Spark "
                         "Connect server builds models only by fitting or loading them")
        from pyspark import SparkContext
        from pyspark.ml.common import _py2java

        sc = SparkContext._active_spark_context
        if sc is None or sc._jvm is None:
            raise RuntimeError("BatchNormModel.from_statistics needs an active SparkSession")
        java_class = getattr(sc._jvm, f"{_JAVA_PACKAGE}.BatchNormModel")
        java_model = java_class(_py2java(sc, DenseVector(list(mean))),
                                _py2java(sc, DenseVector(list(variance))))
        model = cls(java_model)
        given = {"inputCol": inputCol, "outputCol": outputCol, "epsilon": epsilon,
                 "numChannels": numChannels, "weight": weight, "bias": bias,
                 "handleInvalid": handleInvalid, "outputType": outputType}
        model._set(**{k: v for k, v in given.items() if v is not None})
        return model

    @property
    def mean(self) -> DenseVector:
        """The mean per channel (C values), correctly rounded.

        Raises
        ------
        NotImplementedError
            Over Spark Connect (see the Python guide's Spark Connect section, docs/guides/python.md).
        """
        _require_classic("BatchNormModel.mean")
        return self._call_java("mean")

    @property
    def variance(self) -> DenseVector:
        """The variance per channel (C values): var_pop, or var_samp with varianceMode "sample".

        Raises
        ------
        NotImplementedError
            Over Spark Connect (see the Python guide's Spark Connect section, docs/guides/python.md).
        """
        _require_classic("BatchNormModel.variance")
        return self._call_java("variance")


class LayerNorm(JavaTransformer, _NormParams, _HasNumChannels, _HasWeight, _HasBias,
                _Readable["LayerNorm"], JavaMLWritable):
    """LayerNorm, and GroupNorm with ``numGroups``: each row normalized with its own statistics.

    ``y = weight * (x - mean) / sqrt(var + epsilon) + bias`` with the mean and the biased variance
    of each row's vector (LayerNorm, Ba et al. 2016, arXiv:1607.06450) or of each group of
    consecutive channels (GroupNorm, Wu & He 2018, arXiv:1803.08494), as PyTorch's ``LayerNorm``
    and ``GroupNorm`` compute them.

    Parameters
    ----------
    inputCol, outputCol : str
    epsilon : float, default 1e-5 (PyTorch's)
    numGroups : int, default 1
        G groups of consecutive channels, normalized separately; G must divide C.
    numChannels : int, optional
        Channels C of the channel-major vector (unset: every element a channel, and the getter
        gives 0 as the JVM's); C must divide the vector length.
    weight, bias : Vector, optional
        C values each (default ones and zeros).
    handleInvalid : {"error", "skip", "keep"}, default "error"
    outputType : {"vector", "array"}, default "vector"
    """

    numGroups: Param[int] = Param(
        Params._dummy(), "numGroups", "groups of consecutive channels normalized separately: 1 "
        "for LayerNorm, G for GroupNorm", typeConverter=TypeConverters.toInt)

    _input_kwargs: Dict[str, Any]

    @keyword_only
    def __init__(self, *, inputCol: Optional[str] = None, outputCol: Optional[str] = None,
                 epsilon: float = _defaults.EPSILON, numGroups: int = _defaults.NUM_GROUPS,
                 numChannels: Optional[int] = None,
                 weight: Optional[Vector] = None, bias: Optional[Vector] = None,
                 handleInvalid: str = _defaults.HANDLE_INVALID,
                 outputType: str = _defaults.OUTPUT_TYPE) -> None:
        super().__init__()
        self._java_obj = self._new_java_obj(f"{_JAVA_PACKAGE}.LayerNorm", self.uid)
        self._setDefault(epsilon=_defaults.EPSILON, numGroups=_defaults.NUM_GROUPS)
        kwargs = self._input_kwargs
        self.setParams(**kwargs)

    @keyword_only
    def setParams(self, *, inputCol: Optional[str] = None, outputCol: Optional[str] = None,
                  epsilon: float = _defaults.EPSILON, numGroups: int = _defaults.NUM_GROUPS,
                  numChannels: Optional[int] = None,
                  weight: Optional[Vector] = None, bias: Optional[Vector] = None,
                  handleInvalid: str = _defaults.HANDLE_INVALID,
                  outputType: str = _defaults.OUTPUT_TYPE) -> "LayerNorm":
        """Sets the given params (keyword arguments only)."""
        kwargs = self._input_kwargs
        return self._set(**kwargs)

    def getNumGroups(self) -> int:
        """The groups G."""
        return self.getOrDefault(self.numGroups)

    def setNumGroups(self, value: int) -> "LayerNorm":
        """Sets G (1: LayerNorm; more: GroupNorm)."""
        return self._set(numGroups=value)


#: PyTorch's default RMSNorm epsilon for float64 inputs, torch.finfo(torch.float64).eps.
RMS_NORM_DEFAULT_EPSILON = _defaults.RMS_NORM_EPSILON


class RMSNorm(JavaTransformer, _NormParams, _HasWeight, _Readable["RMSNorm"],
              JavaMLWritable):
    """RMSNorm (Zhang & Sennrich 2019, arXiv:1910.07467): ``y = weight * x / sqrt(mean(x^2) + eps)``.

    Per row, as PyTorch's ``RMSNorm`` computes it.

    Parameters
    ----------
    inputCol, outputCol : str
    epsilon : float, default 2.220446049250313e-16
        PyTorch's default, ``torch.finfo(torch.float64).eps``.
    weight : Vector, optional
        One value per element (default ones); fixes the vector length.
    handleInvalid : {"error", "skip", "keep"}, default "error"
    outputType : {"vector", "array"}, default "vector"
    """

    _input_kwargs: Dict[str, Any]

    @keyword_only
    def __init__(self, *, inputCol: Optional[str] = None, outputCol: Optional[str] = None,
                 epsilon: float = RMS_NORM_DEFAULT_EPSILON, weight: Optional[Vector] = None,
                 handleInvalid: str = _defaults.HANDLE_INVALID,
                 outputType: str = _defaults.OUTPUT_TYPE) -> None:
        super().__init__()
        self._java_obj = self._new_java_obj(f"{_JAVA_PACKAGE}.RMSNorm", self.uid)
        self._setDefault(epsilon=RMS_NORM_DEFAULT_EPSILON)
        kwargs = self._input_kwargs
        self.setParams(**kwargs)

    @keyword_only
    def setParams(self, *, inputCol: Optional[str] = None, outputCol: Optional[str] = None,
                  epsilon: float = RMS_NORM_DEFAULT_EPSILON, weight: Optional[Vector] = None,
                  handleInvalid: str = _defaults.HANDLE_INVALID,
                  outputType: str = _defaults.OUTPUT_TYPE) -> "RMSNorm":
        """Sets the given params (keyword arguments only)."""
        kwargs = self._input_kwargs
        return self._set(**kwargs)


class _NetworkParams(_ColumnParams):
    """The params of the stages that run an ONNX network."""

    batchSize: Param[int] = Param(
        Params._dummy(), "batchSize", "rows per ONNX Runtime run (the results do not depend on "
        "it)", typeConverter=TypeConverters.toInt)
    inputName: Param[str] = Param(
        Params._dummy(), "inputName", "the network input the rows feed (default: its only input)",
        typeConverter=TypeConverters.toString)
    outputName: Param[str] = Param(
        Params._dummy(), "outputName", "the network output written as the output column "
        "(default: its first output)", typeConverter=TypeConverters.toString)

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._setDefault(batchSize=_defaults.BATCH_SIZE)

    def getBatchSize(self) -> int:
        """Rows per ONNX Runtime run."""
        return self.getOrDefault(self.batchSize)

    def getInputName(self) -> Optional[str]:
        """The network input fed; None when unset (its only input), as the JVM's getter."""
        return self.getOrDefault(self.inputName) if self.isDefined(self.inputName) else None

    def getOutputName(self) -> Optional[str]:
        """The network output written; None when unset (its first), as the JVM's getter."""
        return self.getOrDefault(self.outputName) if self.isDefined(self.outputName) else None

    def setBatchSize(self, value: int) -> Any:
        """Sets the rows per ONNX Runtime run (at least 1)."""
        return self._set(batchSize=value)

    def setInputName(self, value: str) -> Any:
        """Sets the network input fed."""
        return self._set(inputName=value)

    def setOutputName(self, value: str) -> Any:
        """Sets the network output written."""
        return self._set(outputName=value)


@dataclass(frozen=True)
class RecalibratedLayer:
    """One BatchNormalization layer's exact statistics, as recalibrated.

    ``mean``, ``var_pop`` and ``var_samp`` have one value per channel C of the layer's input
    (``[N, C, ...]``); ``count`` is the values per channel (N times the spatial size).
    """

    node: str
    input: str
    level: int
    count: int
    mean: DenseVector
    var_pop: DenseVector
    var_samp: DenseVector


class BatchNormRecalibration(JavaEstimator["RecalibratedNetworkModel"], _NetworkParams,
                             _HasVarianceMode, _Readable["BatchNormRecalibration"],
                             JavaMLWritable):
    """Recalibrates every BatchNormalization layer of a trained ONNX network on a DataFrame.

    ``fit`` computes, bottom-up one level per distributed pass, the exact mean and variance of
    each layer's input over all rows, with the layers below already recalibrated (CNTK's BNStat
    order; exact where ``torch.optim.swa_utils.update_bn`` and fvcore's PreciseBN average
    minibatch statistics), and returns a :class:`RecalibratedNetworkModel`, which runs the network
    with those statistics. ONNX Runtime runs the network on the executors: the session needs
    ``spark.jars`` = :func:`normstats.spark_jars` with ``onnx=True``.

    Parameters
    ----------
    modelPath : str
        The .onnx file (any Hadoop file system), read when fitting.
    inputCol : str
        One vector per row, laid out row-major into the network input's item shape (for an
        input ``[N, 1, 28, 28]``, 784 values).
    outputCol : str, default ``uid + "__output"``
    varianceMode : {"population", "sample"}, default "population"
        The variance stored in the network: /n, or /(n-1) as PyTorch's ``running_var``.
    batchSize : int, default 64
        Rows per ONNX Runtime run; the results do not depend on it.
    inputName, outputName : str, optional
        The network input fed (default: its only input) and output written (default: its first).
    layers : list of str, default []
        Globs of the layers to recompute, matched against node names and parameter prefixes
        (``"net.layer4.*"``; ``*`` any characters, ``?`` one); empty for all. The others keep
        their stored statistics.
    priorWeight : float, default 0.0
        W in [0, 1]: each recomputed layer gets ``W * stored + (1 - W) * exact`` (mean and
        variance alike, bottom-up), as Schneider et al. 2020 (arXiv:2006.16971).

    Raises
    ------
    pyspark.errors.IllegalArgumentException
        From ``fit``, if modelPath is unset or missing, has no BatchNormalization, a ``layers``
        glob matches none, or the vectors do not fit the network's input; from the setters, for
        a priorWeight outside [0, 1].
    normstats.NormstatsInputError
        From ``fit``, for a file that is not an ONNX model, a null vector, a NaN, no rows.
    """

    modelPath: Param[str] = Param(
        Params._dummy(), "modelPath", "the ONNX model whose BatchNormalization layers are "
        "recalibrated (read when fitting)", typeConverter=TypeConverters.toString)
    layers: Param[List[str]] = Param(
        Params._dummy(), "layers", "globs of the BatchNormalization layers to recompute (node "
        "names or parameter prefixes; * any characters, ? one); empty for all",
        typeConverter=TypeConverters.toListString)
    priorWeight: Param[float] = Param(
        Params._dummy(), "priorWeight", "the weight W of the stored statistics: W * stored + "
        "(1 - W) * exact, in [0, 1]", typeConverter=TypeConverters.toFloat)

    _input_kwargs: Dict[str, Any]

    @keyword_only
    def __init__(self, *, modelPath: Optional[str] = None, inputCol: Optional[str] = None,
                 outputCol: Optional[str] = None, varianceMode: str = _defaults.VARIANCE_MODE,
                 batchSize: int = _defaults.BATCH_SIZE, inputName: Optional[str] = None,
                 outputName: Optional[str] = None, layers: Optional[List[str]] = None,
                 priorWeight: float = _defaults.PRIOR_WEIGHT) -> None:
        super().__init__()
        self._java_obj = self._new_java_obj(f"{_JAVA_PACKAGE}.BatchNormRecalibration", self.uid)
        self._setDefault(layers=[], priorWeight=_defaults.PRIOR_WEIGHT)
        kwargs = self._input_kwargs
        self.setParams(**kwargs)

    @keyword_only
    def setParams(self, *, modelPath: Optional[str] = None, inputCol: Optional[str] = None,
                  outputCol: Optional[str] = None, varianceMode: str = _defaults.VARIANCE_MODE,
                  batchSize: int = _defaults.BATCH_SIZE, inputName: Optional[str] = None,
                  outputName: Optional[str] = None, layers: Optional[List[str]] = None,
                  priorWeight: float = _defaults.PRIOR_WEIGHT) -> "BatchNormRecalibration":
        """Sets the given params (keyword arguments only)."""
        kwargs = self._input_kwargs
        return self._set(**kwargs)

    def getModelPath(self) -> str:
        """The .onnx file."""
        return self.getOrDefault(self.modelPath)

    def setModelPath(self, value: str) -> "BatchNormRecalibration":
        """Sets the .onnx file."""
        return self._set(modelPath=value)

    def getLayers(self) -> List[str]:
        """The globs of the layers recomputed; empty for all."""
        return self.getOrDefault(self.layers)

    def setLayers(self, value: List[str]) -> "BatchNormRecalibration":
        """Recomputes only the layers these globs match (node names or parameter prefixes)."""
        return self._set(layers=value)

    def getPriorWeight(self) -> float:
        """W, the weight of the stored statistics."""
        return self.getOrDefault(self.priorWeight)

    def setPriorWeight(self, value: float) -> "BatchNormRecalibration":
        """Sets W in [0, 1]: W * stored + (1 - W) * exact, bottom-up."""
        return self._set(priorWeight=value)

    def _fit(self, dataset: DataFrame) -> "RecalibratedNetworkModel":
        with java_errors():
            return super()._fit(dataset)

    def _create_model(self, java_model: "JavaObject") -> "RecalibratedNetworkModel":
        return RecalibratedNetworkModel(java_model)


class RecalibratedNetworkModel(JavaModel, _NetworkParams, _Readable["RecalibratedNetworkModel"],
                               JavaMLWritable):
    """A network with recalibrated BatchNorm statistics; ``transform`` runs it on every row.

    The output column is a Vector: the flattened ``outputName`` tensor of each row.
    """

    def __init__(self, java_model: Optional["JavaObject"] = None) -> None:
        super().__init__(java_model)
        # the uid is now the JVM model's: so is the default output column, as on the JVM
        self._setDefault(outputCol=self.uid + "__output")

    @property
    def onnxModel(self) -> bytes:
        """The network with the recalibrated statistics, as the bytes of an .onnx file."""
        _require_classic("RecalibratedNetworkModel.onnxModel")
        assert self._java_obj is not None
        return bytes(self._java_obj.onnxModel())

    @property
    def layers(self) -> List[RecalibratedLayer]:
        """Every BatchNormalization layer's statistics, in topological order."""
        _require_classic("RecalibratedNetworkModel.layers")
        assert self._java_obj is not None
        out = []
        for layer in self._java_obj.layers():
            out.append(RecalibratedLayer(
                layer.node(), layer.input(), layer.level(), layer.count(),
                DenseVector(list(layer.mean())), DenseVector(list(layer.varPop())),
                DenseVector(list(layer.varSamp()))))
        return out


# PySpark finds the Python class of a saved or JVM stage by replacing "org.apache.spark" with
# "pyspark" in the JVM class name and importing the module; for io.normstats.ml.* that module is
# this one (the name "io" alone is the standard library's, so only the full name is aliased).
sys.modules.setdefault(_JAVA_PACKAGE, sys.modules[__name__])
