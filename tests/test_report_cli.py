"""``nnstructure report-tables`` writes every artifact from Parquet inputs."""

import pandas as pd

from nnstructure.cli import main
from nnstructure.io import write_parquet
from report_fixtures import clusterability_rows, random_init_rows, shuffle_rows

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_report_tables_cli(tmp_path, capsys):
    rows = clusterability_rows()
    # random-init networks travel in the same table, marked by kind
    random_rows = random_init_rows().assign(kind="random_init", reg="none", pruned=False, init="glorot",
                                            n_shuffles=0, epochs_variant="default", shuffle="none",
                                            experiment="random-init")
    all_rows = pd.concat([rows.assign(kind="clusterability"), random_rows], ignore_index=True)
    write_parquet(all_rows, tmp_path / "rows.parquet")
    write_parquet(shuffle_rows(rows), tmp_path / "shuffles.parquet")
    out = tmp_path / "report"
    code = main(["report-tables", "--rows", str(tmp_path / "rows.parquet"), "--shuffles",
                 str(tmp_path / "shuffles.parquet"), "--settings-note", "Preset: test.", "--out-dir", str(out)])
    assert code == 0
    names = {p.name for p in out.iterdir() if p.is_file()}
    assert names == {"scorecard.parquet", "scorecard.md", "scorecard_random_init.parquet"}
    figures = {p.name for p in (out / "figures").iterdir()}
    assert figures == {"fig_ncut_vs_shuffles.png", "fig_shuffle_distributions.png", "fig_random_init.png"}
    # every cell in one table, and one table per experiment (as the thesis), Parquet plus Markdown
    assert {p.name for p in (out / "tables").iterdir()} == {"mlp-mnist.parquet", "mlp-mnist.md",
                                                           "table_clusterability.parquet", "table_clusterability.md"}
    assert len(pd.read_parquet(out / "tables" / "mlp-mnist.parquet")) == 4
    assert "9.0" in (out / "tables" / "mlp-mnist.md").read_text() or "±" in (out / "tables" / "mlp-mnist.md").read_text()
    table = pd.read_parquet(out / "tables" / "table_clusterability.parquet")
    assert len(table) == 4 and set(table.kind) == {"clusterability"}  # random-init rows split off
    card = pd.read_parquet(out / "scorecard.parquet")
    assert {"A.1", "3.3", ""} <= set(card.table)
    assert "Preset: test." in (out / "scorecard.md").read_text()
    assert "## mlp-mnist" in (out / "tables" / "table_clusterability.md").read_text()
    random_card = pd.read_parquet(out / "scorecard_random_init.parquet")
    assert set(random_card.arch) == {"mlp", "cnn"}
    for name in figures:
        assert (out / "figures" / name).read_bytes()[:8] == PNG_MAGIC
    assert str(out / "scorecard.md") in capsys.readouterr().out


def test_report_tables_cli_names_missing_input(tmp_path, capsys):
    code = main(["report-tables", "--rows", str(tmp_path / "missing.parquet"), "--out-dir", str(tmp_path)])
    assert code == 1
    assert "missing.parquet" in capsys.readouterr().err
