"""The README's Python quick start runs as written."""

from __future__ import annotations

import re

from oracle import exact_moments


def test_the_readme_python_quick_start(spark, repo, tmp_path, capsys):
    readme = (repo / "README.md").read_text()
    section = readme[readme.index("\n## Python\n"):]
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
