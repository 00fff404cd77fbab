"""Recovery after a killed run: stale temporary files of interrupted atomic writes are deleted."""

import tempfile
from pathlib import Path

from nnstructure.recovery import ATOMIC_TEMPORARY, recover, stale_temporary_files


def _atomic_temporary(folder: Path, name: str, suffix: str) -> Path:
    """A temporary file named exactly as nnstructure.io.atomic_path names them."""
    folder.mkdir(parents=True, exist_ok=True)
    _, path = tempfile.mkstemp(prefix=f".{name}.", suffix=f".tmp{suffix}", dir=folder)
    return Path(path)


def test_atomic_temporaries_are_recognised_and_nothing_else():
    assert ATOMIC_TEMPORARY.match(".metrics.parquet.3j6je3pp.tmp.parquet")
    assert ATOMIC_TEMPORARY.match(".final.pt.ab_cd123.tmp.pt")
    for name in ("metrics.parquet", "final.pt.partial", ".gitignore", "shard-00001.npz", ".x.tmp"):
        assert not ATOMIC_TEMPORARY.match(name), name


def test_recovery_deletes_the_interrupted_writes_of_a_dead_run(tmp_path):
    work, elsewhere = tmp_path / "work", tmp_path / "results-elsewhere"
    (work / ".snakemake" / "locks").mkdir(parents=True)
    (work / ".snakemake" / "locks" / "0.input.lock").write_text("x")
    kept = work / "results" / "run" / "networks" / "metrics.parquet"
    kept.parent.mkdir(parents=True)
    kept.write_text("finished")
    partial = kept.with_name("final.pt.partial")  # a resume state: kept, training continues from it
    partial.write_text("state")
    stale = [_atomic_temporary(kept.parent, "metrics.parquet", ".parquet"), _atomic_temporary(elsewhere / "x", "a.pt", ".pt")]
    snakemake_own = _atomic_temporary(work / ".snakemake" / "metadata", "y", "")
    assert stale_temporary_files([work, elsewhere]) == sorted(stale)
    messages = recover(work, wait=0.1, results=[elsewhere])
    assert any("deleted 2 temporary file(s)" in m for m in messages), messages
    assert not any(p.exists() for p in stale) and kept.exists() and partial.exists() and snakemake_own.exists()


def test_no_stale_lock_means_nothing_is_touched(tmp_path):
    temporary = _atomic_temporary(tmp_path / "results", "m.parquet", ".parquet")
    assert recover(tmp_path, wait=0.1) == [] and temporary.exists()


def test_a_live_run_is_reported_and_left_alone(tmp_path, capsys):
    import subprocess

    from nnstructure.recovery import main

    (tmp_path / ".snakemake" / "locks").mkdir(parents=True)
    (tmp_path / ".snakemake" / "locks" / "0.input.lock").write_text("x")
    temporary = _atomic_temporary(tmp_path / "results", "m.parquet", ".parquet")
    live = subprocess.Popen(["bash", "-c", "exec -a snakemake sleep 60"], cwd=tmp_path)  # a process named snakemake
    import time

    for _ in range(100):  # until bash has exec'd into it
        if (Path(f"/proc/{live.pid}/cmdline").read_bytes().split(b"\0")[0]) == b"snakemake":
            break
        time.sleep(0.05)
    try:
        assert main([str(tmp_path)]) == 3
    finally:
        live.kill()
        live.wait()
    err = capsys.readouterr().err
    assert "another run is working" in err and str(live.pid) in err and "Do not use --unlock" in err
    assert temporary.exists()  # a live run's writes are not touched
