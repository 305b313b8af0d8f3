"""Every wrapper has the JVM stage's params, under the same names, with the same defaults."""

from __future__ import annotations

import json

import pytest


def _java_params(java_obj):
    """{name: default or None} of a JVM stage's params."""
    out = {}
    for p in java_obj.params():
        default = java_obj.getDefault(p)
        value = default.get() if default.isDefined() else None
        if value is not None and p.getClass().getSimpleName() == "StringArrayParam":
            value = json.loads(p.jsonEncode(value))  # a Java String[] as a list
        out[p.name()] = value
    return out


@pytest.mark.parametrize("name", ["BatchNorm", "BatchNormModel", "LayerNorm", "RMSNorm",
                                  "BatchNormRecalibration", "RecalibratedNetworkModel"])
def test_params_and_defaults_match_the_jvm(spark, name):
    import normstats.ml as ml

    cls = getattr(ml, name)
    if name.endswith("Model"):
        # the (uid) constructor Spark Connect uses: a model without statistics, params intact
        java = getattr(spark._jvm.io.normstats.ml, name)("m_1")
        stage = cls(java)
    else:
        stage = cls()
        java = stage._java_obj
    jvm = _java_params(java)
    python = {p.name: p for p in stage.params}
    assert sorted(python) == sorted(jvm), name
    for pname, default in jvm.items():
        param = python[pname]
        if pname == "outputCol":
            assert stage.getOrDefault(param) == java.uid() + "__output"
        elif default is None:
            assert not stage.hasDefault(param), f"{name}.{pname} has no JVM default"
        else:
            assert stage.getOrDefault(param) == default, f"{name}.{pname}"
        getter = "get" + pname[0].upper() + pname[1:]
        setter = "set" + pname[0].upper() + pname[1:]
        assert callable(getattr(stage, getter, None)), f"{name}.{getter}"
        assert callable(getattr(stage, setter, None)) or name.endswith("Model"), f"{name}.{setter}"
        # an unset param without a default: the getter answers as the JVM's does (0 or null),
        # where the JVM stage has one
        if default is None and pname != "outputCol" and not stage.isDefined(param):
            try:
                jvm_value = getattr(java, getter)()
            except Exception:  # noqa: BLE001  py4j: no such getter, or one that throws (unset)
                continue
            value = getattr(stage, getter)()
            assert value == (None if jvm_value is None else jvm_value), f"{name}.{getter}"


def test_the_shared_defaults_are_the_frameworks():
    """normstats/_defaults.py (generated from io.normstats.Defaults) holds PyTorch's and Keras'
    defaults, which the wrappers' signatures and the JVM stages share."""
    import sys

    from normstats import _defaults

    assert _defaults.EPSILON == 1e-5  # torch.nn.BatchNorm2d / LayerNorm / GroupNorm eps
    assert _defaults.RMS_NORM_EPSILON == sys.float_info.epsilon  # torch.finfo(torch.float64).eps
    assert _defaults.MOMENTUM == 0.1  # torch.nn.BatchNorm2d momentum
    assert _defaults.KERAS_MOMENTUM == 0.99  # keras.layers.BatchNormalization momentum
    assert _defaults.HANDLE_INVALID == "error"  # Spark ML's handleInvalid default
