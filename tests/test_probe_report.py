"""Chapter 5 part 2 report: thesis-layout probe tables, adversarial and dots tables, figures, scorecard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nnstructure.report import ch5_part2
from report_fixtures import capture_figures


def _probe(thesis_network, network, layer, target, init="trained", adam=1.0, exact=0.9, mean=2.0, filtered=False, seed=None):
    return {"thesis_network": thesis_network, "network": network, "layer": layer, "target": target, "filtered": filtered,
            "init": init, "init_seed": seed, "adam_test_loss": adam, "closed_form_test_loss": exact, "mean_loss": mean,
            "epochs": 5, "n_test": 100, "adam_test_loss_by_epoch": [adam * 2, adam]}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    rows = []
    for layer in (1, 2, 3, 4):
        # Layer 4's Adam probe stopped 14% above the closed form: not converged, and the tables say so.
        exact = {1: 15.5, 2: 10.9, 3: 15.5, 4: 14.0}[layer]
        rows.append(_probe("coinrun-15", "cr15", layer, "distance", adam=11.4 if layer == 2 else 16.0, exact=exact, mean=17.2))
        rows.append(_probe("coinrun-15", "cr15", layer, "distance", init="random", adam=17.0, exact=16.5, mean=17.2, seed=0))
        rows.append(_probe("coinrun-15", "cr15", layer, "distance", filtered=True, adam=0.9, exact=0.85, mean=1.83))
        for net in ch5_part2.DOTS_NETWORKS:
            rows.append(_probe("dots", net, layer, "pair_distances", adam=0.03 - 0.002 * layer, exact=0.029 - 0.002 * layer,
                               mean=0.0498))
        for seed in range(5):
            rows.append(_probe("dots", "dots-random", layer, "pair_distances", init="random", adam=0.0495 + 0.0002 * seed,
                               exact=0.049, mean=0.0498, seed=seed))
    path = tmp_path_factory.mktemp("examples") / "examples-epoch-10.npz"
    np.savez(path, obs=np.random.default_rng(0).uniform(size=(3, 3, 8, 8)).astype(np.float16),
             next_obs=np.zeros((3, 3, 8, 8), np.float16), predicted_reward=np.array([20.0, 22.0, 21.0], np.float32))
    return {
        "probes": pd.DataFrame(rows),
        "adversarial": pd.DataFrame([{"train_loss": 0.2, "test_loss": 0.25, "first_adversarial_loss": 0.01,
                                      "final_adversarial_loss": 2.0, "end_examples_mse": 400.0, "end_examples_reward": 19.0,
                                      "adversarial_fraction": 0.001, "variant": "thesis-text"}]),
        "adversarial_edits": pd.DataFrame({"kind": ["original"] * 3 + ["rearranged"] * 3,
                                           "predicted_reward": [9.0, 8.0, 10.0, 0.0, 0.1, 0.2]}),
        "adversarial_examples": pd.DataFrame([{"epoch": 10, "path": str(path)}]),
        "dots_nets": pd.DataFrame([{"network": "dots-regression-50", "task": "regression", "n_train": 20000, "epochs": 5,
                                    "test_loss": 0.009, "baseline_loss": 0.0165}]),
        "dots_net_metrics": pd.DataFrame({"network": "dots-regression-50", "epoch": [1, 2, 3],
                                          "train_loss": [0.02, 0.015, 0.01], "test_loss": [0.0165, 0.0132, 0.009]}),
    }


def test_probe_tables_follow_the_thesis_layout(inputs):
    tables = ch5_part2.build_tables(inputs)
    assert {"table_5_3", "table_5_6", "table_5_10", "adversarial_training", "dots_networks"} <= set(tables)
    t53 = tables["table_5_3"]
    assert t53[""].tolist() == ["Mean", "Layer 1", "Layer 2", "Layer 3", "Layer 4"]
    assert t53.loc[0, "Distance (Adam)"] == "17.2"
    assert t53.loc[2, "Distance (Adam)"] == "11.4 (17.0)" and t53.loc[2, "Distance (closed form)"] == "10.9 (16.5)"
    # A half-trained Adam probe never passes silently: its cell says so.
    assert t53.loc[4, "Distance (Adam)"] == "16.0 [not converged: 1.14x closed form] (17.0)"
    assert tables["table_5_6"].loc[1, "Distance (Adam)"] == "0.900"
    t510 = tables["table_5_10"]
    assert t510.loc[1, "50-epoch net (Adam)"] == "0.0280" and t510.loc[0, "Random (Adam)"] == ""
    # The thesis's 'Random' column: the random networks' probe result (mean ± s.d.), not how many there were.
    assert t510.loc[1, "Random (Adam)"].startswith("0.0499 ± 0.000") and t510.loc[1, "Random (closed form)"] == "0.0490"
    assert "Random networks" not in t510.columns
    assert all(c.endswith(("(Adam)", "(closed form)")) for c in t510.columns[1:])
    caption_510 = ch5_part2.tables_markdown(tables)["table_5_10"]
    assert "test loss on 5 randomly initialised networks, mean ± s.d." in caption_510
    assert "in parentheses" not in caption_510 and "in parentheses" in ch5_part2.tables_markdown(tables)["table_5_3"]
    adv = tables["adversarial_training"].set_index("Quantity")
    assert adv.loc["MSE of adversarial examples generated at the end", "Thesis"] == "436"
    assert adv.loc["Edited transitions, original", "Ours"] == "9.0 ± 1.0"
    md = ch5_part2.tables_markdown(tables)
    assert "Table 5.3" in md["table_5_3"] and "closed form" in md["table_5_3"]
    assert "[not converged: 1.14x closed form]" in md["table_5_3"]


def test_every_probe_is_listed_with_its_convergence(inputs):
    conv = ch5_part2.build_tables(inputs)["probe_convergence"]
    assert len(conv) == len(inputs["probes"])
    layer4 = conv[(conv["Table"] == "5.3") & (conv["Init"] == "trained") & (conv["Layer"] == 4)].iloc[0]
    assert layer4["Converged"] == "×" and layer4["Adam / closed form"] == "1.14"
    layer2 = conv[(conv["Table"] == "5.3") & (conv["Init"] == "trained") & (conv["Layer"] == 2)].iloc[0]
    assert layer2["Converged"] == "✓" and layer2["Epochs (min)"] == "5"
    assert "1 of 44 Adam probes did not converge" in ch5_part2.tables_markdown({"probe_convergence": conv})["probe_convergence"]


def test_probe_tables_end_with_their_findings(inputs):
    tables = ch5_part2.build_tables(inputs)
    found = tables["findings"].set_index("table_name")
    assert found.loc["table_5_3", "verdict"] == "Holds"  # layer 2 best (10.9) < mean 17.2 and < random 16.5
    assert found.loc["table_5_3", "line"].startswith("Holds: probes beat mean guessing and random networks")
    # The dots nets' closed-form losses fall layer by layer and beat the random networks' 0.049.
    assert found.loc["table_5_10", "verdict"] == "Holds"
    # The adversarial run has no de novo visualisations here.
    adversarial = tables["findings"][tables["findings"]["claim"].str.contains("de novo")].iloc[0]
    assert adversarial["verdict"] == "Not testable" and adversarial["table_name"] == "adversarial_training"
    md = ch5_part2.tables_markdown(tables)
    assert "**Finding (thesis 5.3).** Holds:" in md["table_5_3"]
    assert "**Finding (thesis 5.8-text).** Not testable:" in md["adversarial_training"]
    assert md["findings"].count("- **Thesis") == len(tables["findings"])


def test_scorecard_compares_losses_relative_to_guessing_the_mean(inputs):
    card = ch5_part2.scorecard(inputs)
    assert set(card.columns) >= {"chapter", "table", "cell", "metric", "ours", "theirs", "diff", "agrees", "criterion", "note"}
    cell = card[(card["table"] == "5.3") & (card["cell"] == "cr15 layer 2 distance (trained)")]
    raw = cell[cell["metric"] == "test_loss"].iloc[0]
    assert raw["ours"] == 11.4 and raw["theirs"] == 11.4
    ratio = cell[cell["metric"] == "test_loss_over_mean"].iloc[0]
    assert ratio["ours"] == pytest.approx(11.4 / 17.2) and ratio["theirs"] == pytest.approx(11.4 / 17.2) and ratio["agrees"]
    # An Adam probe that did not converge is not judged against the thesis, and the note says why.
    layer4 = card[(card["cell"] == "cr15 layer 4 distance (trained)") & (card["metric"] == "test_loss_over_mean")].iloc[0]
    assert layer4["agrees"] is None and "NOT converged (1.14x" in layer4["note"]
    findings = card[card["metric"] == "finding"]
    assert set(findings["table"]) == {"5.3", "5.6", "5.10", "5.8-text"}
    assert findings.loc[findings["table"] == "5.3", "agrees"].iloc[0] is True
    random = card[(card["table"] == "5.10") & card["cell"].str.contains("dots-random layer 1")]
    assert random[random["metric"] == "test_loss"]["theirs"].iloc[0] == pytest.approx(0.0500)
    mse = card[card["metric"] == "end_examples_mse"].iloc[0]
    assert mse["theirs"] == pytest.approx(436.4) and mse["agrees"]
    dots = card[(card["table"] == "5.9") & (card["metric"] == "test_loss")].iloc[0]
    assert dots["theirs"] == pytest.approx(0.0052) and not dots["agrees"]


def test_reference_holds_every_probe_cell():
    ref = ch5_part2.load_reference()
    assert len(ref[(ref["table"] == "5.3") & (ref["metric"] == "test_loss")]) == 32
    assert len(ref[(ref["table"] == "5.5") & (ref["init"] == "trained")]) == 24
    assert len(ref[(ref["table"] == "5.10") & (ref["metric"] == "test_loss")]) == 16
    value = ref[(ref["table"] == "5.4") & (ref["layer"] == "4") & (ref["target"] == "distance_sq") & (ref["init"] == "trained")]
    assert value["value"].iloc[0] == 5.4e4 and value["epochs"].iloc[0] == "10"


def test_figures_draw_their_data(inputs, tmp_path, monkeypatch):
    from nnstructure.data.dots_stream import generate_dots

    drawn = capture_figures(monkeypatch)
    figures = ch5_part2.build_figures(inputs, tmp_path)
    assert set(figures) == {"fig_5_19", "fig_5_18", "fig_probe_convergence", "fig_dots_net_training"}
    assert all(p.exists() for p in figures.values())

    # the dots nets' learning curves: test loss over the baseline per epoch, the thesis's final ratios as lines
    ax = drawn["fig_dots_net_training"].axes[0]
    curve = next(line for line in ax.lines if len(line.get_xdata()) == 3)
    assert list(curve.get_xdata()) == [1, 2, 3] and list(curve.get_ydata()) == pytest.approx([1.0, 0.8, 0.009 / 0.0165])
    levels = sorted(line.get_ydata()[0] for line in ax.lines if len(line.get_xdata()) == 2)
    assert levels == pytest.approx(sorted([0.013 / 0.053, 0.0052 / 0.0166, 1.0]))

    # Figure 5.19: the first 8 training images of the dots stream (seed 0), each titled with its mean distance
    images, labels = generate_dots(0, "train", np.arange(8))
    axes = drawn["fig_5_19"].axes
    assert [ax.get_title() for ax in axes] == [f"mean distance {d:.3f}" for d in labels[:, 0]]
    assert all(np.array_equal(ax.images[0].get_array(), image.transpose(1, 2, 0)) for ax, image in zip(axes, images))

    # Figure 5.18: the last epoch's first two adversarial examples, floats in [0, 1] shown as uint8
    with np.load(inputs["adversarial_examples"]["path"].iloc[0]) as z:
        obs = np.rint(np.clip(z["obs"][:2].astype(np.float32), 0, 1) * 255).astype(np.uint8)
    fig = drawn["fig_5_18"]
    shown = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title(loc="left") for ax in shown[::2]] == ["example 1: predicted 20", "example 2: predicted 22"]
    assert all(np.array_equal(ax.images[0].get_array(), o.transpose(1, 2, 0)) for ax, o in zip(shown[::2], obs))
    assert all(not ax.images[0].get_array().any() for ax in shown[1::2])  # the next observations are black
    # (wrapped at the figure's width)
    assert fig._suptitle.get_text().replace("\n", " ") == "Two adversarial examples at the end of adversarial training"

    # probe convergence: per trained probe, Adam's test loss per epoch over the closed form's ([2 adam, adam] / exact)
    ax = drawn["fig_probe_convergence"].axes[0]
    curves = [list(line.get_ydata()) for line in ax.lines if len(line.get_xdata()) == 2 and list(line.get_xdata()) == [1, 2]]
    trained = inputs["probes"][inputs["probes"]["init"] == "trained"]
    assert len(curves) == len(trained) == 4 * (2 + len(ch5_part2.DOTS_NETWORKS))
    assert curves[0] == pytest.approx([2 * 16.0 / 15.5, 16.0 / 15.5])  # coinrun-15, layer 1, distance: Adam 16.0, exact 15.5
    assert any(c == pytest.approx([2 * 11.4 / 10.9, 11.4 / 10.9]) for c in curves)  # layer 2
    levels = sorted(line.get_ydata()[0] for line in ax.lines if list(line.get_xdata()) == [0, 1])
    assert levels == [1.0, ch5_part2.CONVERGED_RATIO] and ax.get_yscale() == "log"


def test_the_engine_writes_the_findings_and_convergence_tables(inputs, tmp_path):
    from nnstructure.report.engine import combined_scorecard_markdown, write_chapter_report

    written = write_chapter_report("ch5_part2", inputs, tmp_path)
    assert {"findings", "probe_convergence", "table_5_3"} <= set(written)
    assert "**Finding (thesis 5.3).** Holds:" in written["table_5_3"].read_text()
    assert written["findings"].read_text().count("- **Thesis") == 5
    card = pd.read_parquet(written["scorecard_parquet"])
    assert (card["metric"] == "finding").sum() == 5
    md = combined_scorecard_markdown([card])
    assert "finding: probes beat mean guessing and random networks" in md


def test_each_chapter_writes_its_scorecard_markdown_with_agreement_counts(inputs, tmp_path):
    from nnstructure.report.engine import combined_scorecard_markdown, write_chapter_report

    written = write_chapter_report("ch5_part2", inputs, tmp_path)
    assert written["scorecard"] == tmp_path / "scorecard.md"
    card = pd.read_parquet(written["scorecard_parquet"])
    judged = card[card["agrees"].notna()]
    expected = judged.groupby("table")["agrees"].agg(lambda s: (len(s), int(s.astype(bool).sum())))
    assert len(expected) and judged["agrees"].any() and not judged["agrees"].all()
    for md in (written["scorecard"].read_text(), combined_scorecard_markdown([card])):
        summary = {}
        for line in md.split("\n\n| Table   | Cell")[0].splitlines():  # the counts table, before the comparisons
            cells = [c.strip() for c in line.strip("|").split("|")]
            if line.startswith("|") and len(cells) == 3 and cells[0] in expected.index:
                summary[cells[0]] = (int(cells[1]), int(cells[2]))  # counts, never True/False
        assert summary == expected.to_dict()
    assert written["scorecard"].read_text().startswith("# Reproduction scorecard: Chapter 5, part 2 report")


def test_report_chapter_command_writes_what_the_engine_writes(inputs, tmp_path, capsys):
    from nnstructure.cli import main
    from nnstructure.io import write_parquet

    tables = tmp_path / "tables"
    for name, df in inputs.items():
        if name != "probes":
            write_parquet(df, tables / f"{name}.parquet")
    probes = inputs["probes"]
    write_parquet(probes.iloc[: len(probes) // 2], tmp_path / "probes-a.parquet")
    write_parquet(probes.iloc[len(probes) // 2:], tmp_path / "probes-b.parquet")
    out = tmp_path / "report"
    code = main(["report-chapter", "--chapter", "ch5_part2", "--tables", str(tables), "--input",
                 f"probes={tmp_path / 'probes-a.parquet'}", "--input", f"probes={tmp_path / 'probes-b.parquet'}",
                 "--out-dir", str(out)])
    assert code == 0
    assert {"scorecard.parquet", "scorecard.md"} <= {p.name for p in out.iterdir()}
    assert {"table_5_3.md", "table_5_10.md", "adversarial_training.md"} <= {p.name for p in (out / "tables").iterdir()}
    assert (out / "figures" / "fig_5_18.png").exists()
    assert f"scorecard: {out / 'scorecard.md'}" in capsys.readouterr().out
    from nnstructure.report.engine import write_chapter_report

    direct = write_chapter_report("ch5_part2", inputs, tmp_path / "direct")
    pd.testing.assert_frame_equal(pd.read_parquet(out / "scorecard.parquet"), pd.read_parquet(direct["scorecard_parquet"]))
    assert (out / "scorecard.md").read_text() == direct["scorecard"].read_text()


def test_report_chapter_command_names_bad_input(tmp_path, capsys):
    from nnstructure.cli import main

    assert main(["report-chapter", "--chapter", "ch4", "--input", "specialization", "--out-dir", str(tmp_path)]) == 1
    assert "NAME=PATH" in capsys.readouterr().err
    assert main(["report-chapter", "--chapter", "ch4", "--tables", str(tmp_path / "none"), "--out-dir", str(tmp_path)]) == 1
    assert "no such folder" in capsys.readouterr().err


def test_probe_captions_name_our_network_as_trained_beside_the_thesis_network(inputs):
    nets = pd.DataFrame([{"network": "cr15", "game": "coinrun", "epochs": 3, "width_multiplier": 0.25,
                          "thesis_network": "coinrun-15"}])
    markdown = ch5_part2.tables_markdown(ch5_part2.build_tables({**inputs, "reward_nets": nets}))
    assert (  # the caption, below the table
        "\nTable 5.3: probes on cr15 (CoinRun, 3 epochs, width x0.25), standing in for the thesis's 15-epoch CoinRun network." in markdown["table_5_3"])
    assert ("\nTable 5.6: filtered probes (coin visible) on cr15 (CoinRun, 3 epochs, "
            "width x0.25), standing in for the thesis's 15-epoch CoinRun network." in markdown["table_5_6"])
    # without the reward-net table: our network by name, never called the thesis's
    bare = ch5_part2.tables_markdown(ch5_part2.build_tables(inputs))["table_5_3"]
    assert "\nTable 5.3: probes on cr15, standing in for the thesis's 15-epoch CoinRun network." in bare


def test_figure_5_18_keeps_its_title_and_panel_titles_inside_the_figure(inputs, tmp_path, monkeypatch):
    drawn = capture_figures(monkeypatch)
    ch5_part2.build_figures(inputs, tmp_path)
    fig = drawn["fig_5_18"]
    fig.draw_without_rendering()  # the layout as saved
    renderer = fig._get_renderer()
    box = fig.bbox
    title = fig._suptitle
    assert title is not None and "Two adversarial examples at the end of adversarial training" in title.get_text().replace("\n", " ")
    texts = [title] + [ax._left_title for ax in fig.axes if ax.get_title(loc="left")]
    assert len(texts) >= 3  # the title and both examples' titles
    for text in texts:
        extent = text.get_window_extent(renderer)
        assert box.x0 - 0.5 <= extent.x0 and extent.x1 <= box.x1 + 0.5, (text.get_text(), extent, box)
        assert box.y0 - 0.5 <= extent.y0 and extent.y1 <= box.y1 + 0.5, (text.get_text(), extent, box)


def test_an_adversarial_net_that_has_not_learnt_makes_its_probe_table_not_testable(inputs):
    probes = inputs["probes"]
    adversarial_rows = probes[probes["network"] == "cr15"].assign(thesis_network="adversarial", network="adv")
    unlearnt = {**inputs, "probes": pd.concat([probes, adversarial_rows], ignore_index=True),
                "adversarial": inputs["adversarial"].assign(network="adv", test_loss=1.47, mean_guess_test_mse=1.474)}
    found = ch5_part2.build_tables(unlearnt)["findings"].set_index("table")
    assert found.loc["5.8", "verdict"] == "Not testable" and "adv has not learnt" in found.loc["5.8", "line"]
    assert found.loc["5.3", "verdict"] == "Holds"  # the ordinary net's table is judged as before
    learnt = {**unlearnt, "adversarial": unlearnt["adversarial"].assign(test_loss=0.1)}
    assert ch5_part2.build_tables(learnt)["findings"].set_index("table").loc["5.8", "verdict"] == "Holds"
