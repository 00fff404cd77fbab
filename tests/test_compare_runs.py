"""compare_runs: byte-identical folders pass, a changed file or a missing one fails, timings are ignored,
and --common compares the files both runs made."""

import pandas as pd
import pytest

from nnstructure.compare_runs import RunsDiffer, compare_runs, main


def _run(root, extra=None, value=1.0, seconds=0.5):
    (root / "tables").mkdir(parents=True)
    (root / "logs").mkdir()
    (root / "logs" / "x.log").write_text(f"took {seconds}")  # logs never compared
    (root / "a.txt").write_text("same")
    pd.DataFrame({"loss": [value], "seconds": [seconds]}).to_parquet(root / "tables" / "m.parquet")
    if extra:
        (root / extra).write_text("new")
    return root


def test_identical_but_for_timings(tmp_path):
    a, b = _run(tmp_path / "a"), _run(tmp_path / "b", seconds=9.0)
    assert compare_runs(a, b) == {"bytes": 1, "values": 1}  # a.txt; m.parquet by value


def test_a_changed_value_or_a_missing_file_fails(tmp_path):
    a, b = _run(tmp_path / "a"), _run(tmp_path / "b", value=2.0)
    with pytest.raises(RunsDiffer, match="tables/m.parquet"):
        compare_runs(a, b)
    c = _run(tmp_path / "c", extra="new.txt")
    with pytest.raises(RunsDiffer, match="only in .*new.txt"):
        compare_runs(a, c)


def test_common_compares_what_both_made_and_lists_the_rest(tmp_path, capsys):
    a, c = _run(tmp_path / "a"), _run(tmp_path / "c", extra="new.txt")
    counts = compare_runs(a, c, common=True)
    assert (counts["bytes"], counts["values"], counts["only_a"], counts["only_b"]) == (2, 0, [], ["new.txt"])
    assert main(["--common", str(a), str(c)]) == 0
    assert "made only in" in capsys.readouterr().out
    d = _run(tmp_path / "d", extra="new.txt", value=3.0)
    assert main(["--common", str(a), str(d)]) == 1  # a common file differs: still a failure
    assert main([str(a), str(tmp_path / "nope")]) == 1
