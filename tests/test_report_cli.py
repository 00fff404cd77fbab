"""``nnstructure report-tables`` writes every artifact from Parquet inputs."""

import pandas as pd

from nnstructure.cli import main
from nnstructure.io import write_parquet
from report_fixtures import clusterability_rows, random_init_rows, shuffle_rows

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def markdown_table(text: str) -> dict[tuple[str, str, str], dict[str, str]]:
    """The rows of the first Markdown table in ``text`` by (reg. method, shuffle, pruning?): {header: cell}."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header, rows = [c.strip() for c in lines[0].strip("|").split("|")], lines[2:]
    table = {}
    for line in rows:
        row = dict(zip(header, (c.strip() for c in line.strip("|").split("|"))))
        table[(row["Reg. method"], row["Shuffle"], row["Pruning?"])] = row
    return table


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
    # the dropout networks have both shuffle kinds (Figure 3.7); the random-init MLPs and CNNs are Figures A.1, A.2
    assert figures == {"fig_ncut_vs_shuffles.png", "fig_3_7.png", "fig_random_init.png", "fig_a_1.png", "fig_a_2.png"}
    # every cell in one table, and one table per experiment (as the thesis), Parquet plus Markdown
    assert {p.name for p in (out / "tables").iterdir()} == {"mlp-mnist.parquet", "mlp-mnist.md",
                                                           "table_clusterability.parquet", "table_clusterability.md"}
    assert len(pd.read_parquet(out / "tables" / "mlp-mnist.parquet")) == 4
    cells = markdown_table((out / "tables" / "mlp-mnist.md").read_text())
    # The pruned dropout cell by hand: n-cuts 8.0, 8.2, 8.4 (mean 8.2, s.d. 0.2); unpruned 10.0, 10.1, 10.2; shuffle
    # means 9.0, 9.2, 9.4 with s.d.s 0.03, 0.04, 0.05; the third n-cut (8.4) is above its smallest shuffle (8.3);
    # p-values 1/51, 1/51, 3/51 (mean 5/153 = 0.0327).
    pruned = cells[("dropout", "layer", "✓")]
    assert (pruned["N-cut"], pruned["Unp. n-cuts"], pruned["Dist. n-cuts"]) == ("8.20 ± 0.20", "10.10 ± 0.10", "9.200 ± 0.040")
    assert (pruned["Beat all shuffles"], pruned["Mean p"], pruned["Networks"]) == ("2/3", "0.033", "3")
    # L1: n-cuts 10 and 11 (s.d. sqrt(0.5) = 0.71), both above their shuffles' minimum 2.0.
    l1 = cells[("l1", "layer", "✓")]
    assert (l1["N-cut"], l1["Dist. n-cuts"], l1["Beat all shuffles"], l1["Test loss"]) == ("10.50 ± 0.71", "2.70 ± 0.30", "0/2", "0.070")
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
