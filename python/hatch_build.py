"""Hatch build hook: puts the normstats jars from the Maven build into the wheel."""

from __future__ import annotations

import glob
import os
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

# the wheel's jar name, by the Maven module whose bundle it is
_BUNDLES = {"spark": "normstats-spark.jar", "onnx": "normstats-onnx.jar"}


class CustomBuildHook(BuildHookInterface):
    """Adds ``normstats/jars/normstats-spark.jar`` and ``normstats/jars/normstats-onnx.jar``.

    They are the bundles ``mvn package`` builds: ``../spark/target/normstats-spark-<version>-
    bundle.jar`` (normstats' core and Spark classes, under 1 MB) and ``../onnx/target/
    normstats-onnx-<version>-bundle.jar`` (the ONNX stages with ONNX Runtime). The build fails,
    naming the missing jar, if they have not been built.
    """

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        for module, name in _BUNDLES.items():
            target = os.path.abspath(os.path.join(self.root, "..", module, "target"))
            jars = glob.glob(os.path.join(target, f"normstats-{module}-*-bundle.jar"))
            if len(jars) != 1:
                raise RuntimeError(
                    f"normstats wheel: expected one normstats-{module}-*-bundle.jar in {target}, "
                    f"found {len(jars)}; build it first with `mvn -B -DskipTests package` in the "
                    "repository root")
            build_data["force_include"][jars[0]] = f"normstats/jars/{name}"
