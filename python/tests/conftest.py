"""One local[2] SparkSession with the normstats jar for the whole test session."""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _built_jar() -> str:
    # the application jar (normstats-VERSION.jar), not the app module's own normstats-app-*.jar
    jars = glob.glob(str(REPO / "app" / "target" / "normstats-[0-9]*.jar"))
    if len(jars) != 1:
        pytest.exit("the Python tests need the normstats jar: run `mvn -B verify` (or "
                    "`mvn -B -DskipTests package`, then `python3 -m pytest python/tests`)", 2)
    return jars[0]


try:
    import pyspark
except ImportError:
    pytest.exit("the Python tests need pyspark: python3 -m pip install -r "
                "python/requirements-test.txt", 2)
_expected = os.environ.get("NORMSTATS_SPARK_VERSION")
if _expected and pyspark.__version__ != _expected:
    pytest.exit(f"pyspark {pyspark.__version__} is installed, but the jar is built against Spark "
                f"{_expected}: python3 -m pip install -r python/requirements-test.txt", 2)

# The tests import the package from the source tree and use the jar Maven built (the wheel
# test installs the real wheel separately).
os.environ.setdefault("NORMSTATS_JAR", _built_jar())
sys.path.insert(0, str(REPO / "python" / "src"))


@pytest.fixture(scope="session")
def jar() -> str:
    return os.environ["NORMSTATS_JAR"]


@pytest.fixture(scope="session")
def spark(jar: str):
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("normstats-python-tests")
               .config("spark.jars", jar)
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "4")
               .getOrCreate())
    yield session
    session.stop()


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO
