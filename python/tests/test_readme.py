"""The README's Python quick start runs as written."""

from __future__ import annotations

import re

from oracle import exact_moments


def test_the_readme_python_quick_start(spark, repo, tmp_path, capsys):
    readme = (repo / "README.md").read_text()
    section = readme[readme.index("\n## Quick start: Python\n"):]
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    # it saves to out/python-pipeline, which the JVM resolves against its own working directory
    saved = tmp_path / "out" / "python-pipeline"
    assert block.count('"out/python-pipeline"') == 2
    block = block.replace('"out/python-pipeline"', repr(str(saved)))
    scope: dict = {}
    exec(compile(block, "README.md (Python quick start)", "exec"), scope)  # noqa: S102

    bn = scope["bn"]
    xs = [[1e9 + 0.25, 3.0], [1e9 + 0.5, 5.0], [1e9 + 1.0, 4.0]]
    for j in range(2):
        mean, var_pop, _ = exact_moments(r[j] for r in xs)
        assert bn.mean[j] == mean and bn.variance[j] == var_pop
    df, model, loaded = scope["df"], scope["model"], scope["loaded"]
    assert (saved / "metadata").is_dir()
    ours = sorted(r[0].toArray().tobytes() for r in model.transform(df).select("normalized").collect())
    again = sorted(r[0].toArray().tobytes() for r in loaded.transform(df).select("normalized").collect())
    assert ours == again
    printed = capsys.readouterr().out
    assert "|normalized" in printed and "var_pop" in printed


def test_the_readme_sql_quick_start(repo, jar, tmp_path):
    """The SQL quick start starts a session of its own (with the extension), so it runs in a new
    Python process; every value it prints is checked against the fractions oracle."""
    import os
    import subprocess
    import sys

    readme = (repo / "README.md").read_text()
    section = readme[readme.index("\n## Quick start: SQL\n"):]
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    env = dict(os.environ, NORMSTATS_JAR=jar, PYTHONPATH=str(repo / "python" / "src"))
    run = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True, env=env,
                         cwd=str(tmp_path), timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    rows = [[c.strip() for c in line.strip("|").split("|")]
            for line in run.stdout.splitlines() if line.startswith("|")]
    assert rows[0] == ["day", "mean", "var_pop", "spark_var_pop"], run.stdout
    data = {"mon": [1e9 + 0.25, 1e9 + 0.5, 1e9 + 1.0], "tue": [1e16 + 2, 1e16 + 4, 1e16 + 8]}
    assert [r[0] for r in rows[1:]] == ["mon", "tue"], run.stdout
    for day, mean, var_pop, _ in rows[1:]:
        exact_mean, exact_var_pop, _ = exact_moments(data[day])
        assert float(mean) == exact_mean and float(var_pop) == exact_var_pop, (day, run.stdout)
    # what the README says it prints, but Spark's column (which depends on the partitioning)
    def exact_columns(lines):
        return [[c.strip() for c in l.strip().strip("|").split("|")][:3] for l in lines
                if l.strip().startswith("|")]
    shown = [l for l in section.split("```\n", 1)[1].splitlines() if l.startswith("    |")]
    assert exact_columns(run.stdout.splitlines()) == exact_columns(shown), run.stdout


def test_the_readme_image_commands(spark, repo, tmp_path):
    """The README's image lines: the stats command (run by the launcher, its output moved to tmp)
    and the Python block, against Pillow and the fractions oracle (test_images' helpers)."""
    import json
    import shlex

    from test_images import pillow_levels, run_job, torchvision_eval
    from oracle import pixel_moments

    readme = (repo / "README.md").read_text()
    section = readme[readme.index("<!-- --8<-- [start:images] -->"):
                     readme.index("<!-- --8<-- [end:images] -->")]
    command = next(l.strip() for l in section.splitlines() if l.startswith("    jobs/normstats"))
    args = shlex.split(command)[1:]
    assert args[args.index("--output") + 1] == "out/photos"
    args[args.index("--output") + 1] = str(tmp_path / "photos")
    run_job(repo, *args)
    stats = json.loads((tmp_path / "photos" / "stats.json").read_text())
    pngs = sorted((repo / "sample-data" / "images" / "photos").glob("*.png"))
    expected = pixel_moments((pillow_levels(p.read_bytes()) for p in pngs), 3)
    assert stats["normalize"]["mean"] == [e[0] for e in expected]
    assert stats["normalize"]["std"] == [e[2] for e in expected]
    assert f"mean=[{expected[0][0]!r}, ...]" in " ".join(section.split())

    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    scope: dict = {"spark": spark}
    exec(compile(block, "README.md (images)", "exec"), scope)  # noqa: S102
    files = sorted((repo / "sample-data" / "images" / "photos").glob("*.*"))
    expected = pixel_moments((torchvision_eval(f.read_bytes(), 256, 224) for f in files), 3)
    assert scope["mean"] == [e[0] for e in expected]
    assert scope["std"] == [e[2] for e in expected]
