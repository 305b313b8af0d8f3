"""Hatch build hook: includes the shaded normstats jar from the Maven build in the wheel."""

from __future__ import annotations

import glob
import os
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CustomBuildHook(BuildHookInterface):
    """Adds ``normstats/jars/normstats.jar`` to the wheel.

    The jar is ``$NORMSTATS_JAR`` if set, else ``../app/target/normstats-<version>.jar`` (the
    spark-submit application jar that ``mvn package`` builds, with normstats' own dependencies
    and without Spark's).
    """

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        jar = os.environ.get("NORMSTATS_JAR")
        if not jar:
            target = os.path.join(self.root, "..", "app", "target")
            jars = [j for j in glob.glob(os.path.join(target, "normstats-*.jar"))
                    if not os.path.basename(j).startswith("original-")]
            if len(jars) != 1:
                raise RuntimeError(
                    f"normstats wheel: expected one normstats-*.jar in {os.path.abspath(target)}, "
                    f"found {len(jars)}; build it first with `mvn -B -DskipTests package` in the "
                    "repository root (or set NORMSTATS_JAR)")
            jar = jars[0]
        if not os.path.isfile(jar):
            raise RuntimeError(f"normstats wheel: the jar {jar} does not exist")
        build_data["force_include"][os.path.abspath(jar)] = "normstats/jars/normstats.jar"
