"""Chapter-5 part-1 report: Tables 5.1/5.2 beside the thesis, dataset and loss tables, figures, scorecard."""

import numpy as np
import pandas as pd
import pytest

from nnstructure.report import ch5
from report_fixtures import capture_figures


def _noise_rows(network, values_diff, values_same, variant="thesis-text"):
    rows = [{"network": network, "pairing": p, "image": i, "action": 0, "predicted_reward": v,
             "clip": variant == "thesis-text", "noise_variant": variant, "n_images": len(vs), "seed": 0}
            for p, vs in (("different", values_diff), ("same", values_same)) for i, v in enumerate(vs)]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def inputs():
    nets = pd.DataFrame([
        {"network": "cr-small", "game": "coinrun", "epochs": 3, "width_multiplier": 0.25, "n_train": 9000, "n_test": 1000,
         "test_loss": 0.3, "mean_guess_test_mse": 0.9, "seed": 0},
        {"network": "cr-long", "game": "coinrun", "epochs": 40, "width_multiplier": 1.0, "n_train": 9000, "n_test": 1000,
         "test_loss": 0.04, "mean_guess_test_mse": 0.9, "seed": 0},
    ])
    noise = pd.concat([_noise_rows("cr-small", [6.0, 8.0, 10.0], [1.0, 1.0, 1.0]),
                       _noise_rows("cr-long", [40.0, 41.0], [70.0, 72.0])], ignore_index=True)
    edits = pd.DataFrame([{"network": "cr-small", "edit": e, "example": i, "predicted_reward": v}
                          for e, vs in (("original", [9.0, 10.0]), ("translated", [6.0, 6.0]), ("rearranged", [3.0, 5.0]))
                          for i, v in enumerate(vs)])
    datasets = pd.DataFrame([{"game": "coinrun", "episodes": 300, "train_transitions": 9000, "test_transitions": 1000,
                              "episodes_rewarded_frac": 0.95, "kept_rewarded_frac": 0.0094,
                              "mean_guess_mse": 0.5, "policy": "lookahead"}])
    vis = pd.DataFrame([{"mode": "denovo", "network": "cr-small", "item": a, "action": a, "step": s, "predicted_reward": r}
                        for a in range(3) for s, r in ((0, 0.1), (512, 300.0 + 100 * a))])
    controls = pd.DataFrame([{"network": "cr-small", "control": "scrambled-joint", "item": a, "action": a,
                              "predicted_reward": 5.0} for a in range(3)])
    return {"reward_nets": nets, "noise": noise, "edits": edits, "datasets": datasets, "visualizations": vis,
            "visualization_controls": controls}


def test_reference_holds_the_thesis_numbers():
    ref = ch5.load_reference()
    get = lambda t, n, r, m: float(ref.loc[(ref.table == t) & (ref.network == n) & (ref.row == r) & (ref.metric == m), "value"].iloc[0])  # noqa: E731
    assert get("5.1", "coinrun-40", "same", "mean_predicted_reward") == 70.5
    assert get("5.2", "coinrun-15", "rearranged", "sd_predicted_reward") == 0.51
    assert get("5.3-text", "coinrun", "dataset", "train_transitions") == 900173
    assert get("5.3-text", "heist", "network", "test_loss") == 0.012
    # the thesis's mean-guessing MSE is the reward variance: 100 p (1 - p) with p = 0.93%
    assert get("5.3-text", "coinrun", "dataset", "mean_guess_mse") == pytest.approx(100 * 0.0093 * (1 - 0.0093), abs=0.005)


def test_tables_put_ours_beside_the_thesis(inputs):
    tables = ch5.build_tables(inputs)
    assert set(tables) == {"table_5_1", "table_5_2", "transition_datasets", "reward_nets", "reward_visualization", "findings"}
    t51 = tables["table_5_1"].set_index("")
    small = [c for c in t51.columns if c.startswith("cr-small")][0]
    assert t51.loc["Different", small] == "8.0 ± 2.0" and t51.loc["Same", small] == "1.00"
    assert t51.loc["Different", "CoinRun, 15 epochs (thesis)"] == "7.3 ± 6.3"
    assert t51.loc["Same", "CoinRun, 40 epochs (thesis)"] == "70 ± 19"  # 70.5 +- 19.4 at the s.d.'s precision
    t52 = tables["table_5_2"].set_index("")
    assert t52.loc["Rearranged", "CoinRun, 15 epochs (thesis)"] == "0.15 ± 0.51"
    nets = tables["reward_nets"].set_index("Network")
    assert nets.loc["cr-small", "Thesis test loss"] == "0.0460" and nets.loc["cr-long", "Thesis network"] == "CoinRun, 40 epochs"
    assert nets.loc["cr-small", "Loss / mean guessing"] == "0.333"
    assert set(nets["Terminal frame"]) == {"real"}  # rows from before the setting: the real frames
    repeat = {**inputs, "reward_nets": inputs["reward_nets"].assign(terminal_frame="repeat")}
    assert set(ch5.reward_net_table(repeat)["Terminal frame"]) == {"repeat"}
    assert "terminal frame repeated" in ch5.network_as_trained("cr-small", repeat)
    data = tables["transition_datasets"].set_index("")
    assert data.loc["Train transitions", "coinrun (thesis)"] == "900,173" and data.loc["Episodes rewarded", "coinrun (ours)"] == "95%"
    md = ch5.tables_markdown(tables, {"table_5_1": ch5.noise_caption(inputs["noise"])})
    assert "Table 5.1" in md["table_5_1"] and "thesis-text (clipped to [0, 1])" in md["table_5_1"]


def test_tables_end_with_the_thesis_findings_judged_on_our_numbers(inputs):
    tables = ch5.build_tables(inputs)
    found = tables["findings"].set_index("table_name")
    # cr-small's noise mean 4.5 is not above half its originals' 9.5; cr-long's 55.75 is: one contradiction decides.
    assert found.loc["table_5_1", "line"].startswith("Does not hold: noise gets a high reward")
    assert "cr-small: mean 4.5 <= 4.75 (half the originals' 9.5)" in found.loc["table_5_1", "line"]
    # rearranged edits at 4.0 are not about 0
    assert found.loc["table_5_2", "line"] == ("Does not hold: originals are about 10, translated edits in between, "
                                              "rearranged edits about 0 (cr-small: original 9.5, translated 6, "
                                              "rearranged 4 (rearranged not about 0))")
    assert found.loc["reward_visualization", "verdict"] == "Not testable"
    md = ch5.tables_markdown(tables)
    assert "**Finding (thesis 5.1).** Does not hold:" in md["table_5_1"]
    assert "**Finding (thesis 5.2).** Does not hold:" in md["table_5_2"]
    assert md["findings"].startswith("# Chapter 5") and md["findings"].count("- **Thesis") == 3
    card = ch5.scorecard(inputs)
    rows = card[card["metric"] == "finding"].set_index("table")
    assert rows.loc["5.1", "agrees"] is False and rows.loc["5.2", "agrees"] is False and rows.loc["5.8-text", "agrees"] is None


def test_scorecard_criteria(inputs):
    card = ch5.scorecard(inputs)
    assert set(card.columns) >= {"chapter", "table", "cell", "metric", "ours", "theirs", "diff", "agrees", "criterion", "note"}
    row = lambda cell, metric: card[card["cell"].str.contains(cell, regex=False) & (card["metric"] == metric)].iloc[0]  # noqa: E731
    diff = row("cr-small vs CoinRun, 15 epochs: Different", "mean_predicted_reward")
    assert diff["ours"] == 8.0 and diff["theirs"] == 7.3 and diff["agrees"]  # |0.7| <= 6.3
    same = row("cr-small vs CoinRun, 15 epochs: Same", "mean_predicted_reward")
    assert same["ours"] == 1.0 and not same["agrees"]  # |1 - 9.9| > 6.2
    rearranged = row("cr-small vs CoinRun, 15 epochs: Rearranged", "mean_predicted_reward")
    assert rearranged["ours"] == 4.0 and not rearranged["agrees"]
    assert row("cr-long vs CoinRun, 40 epochs: test loss", "test_loss")["agrees"]  # 0.04 vs 0.038
    assert not row("cr-small vs CoinRun, 15 epochs: test loss", "test_loss")["agrees"]
    assert row("coinrun dataset: Episodes rewarded", "episodes_rewarded_frac")["agrees"]
    assert row("coinrun dataset: Transitions rewarded (kept)", "kept_rewarded_frac")["agrees"]  # 0.94% vs 0.93%
    assert not row("coinrun dataset: Mean-guessing MSE", "mean_guess_mse")["agrees"]  # 0.5 vs 0.92
    assert row("coinrun dataset: Train transitions", "train_transitions")["agrees"] is None
    assert row("cr-small: de novo", "mean_predicted_reward")["agrees"]  # mean 400 inside 200-1200
    assert row("cr-small: scrambled-joint", "mean_predicted_reward")["agrees"]  # 5 inside 2-18


def test_figures_draw_their_data(inputs, tmp_path, monkeypatch):
    from nnstructure.models import build_model, reward_net_spec
    from nnstructure.reward.visualize import synthesize_denovo

    drawn = capture_figures(monkeypatch)
    model = build_model(reward_net_spec([6, 8, 8], width_multiplier=1 / 16, init="glorot"), seed=0)
    synthesize_denovo(model, (3, 8, 8), actions=[0, 9], steps=2, max_shift=1).save_npz(tmp_path / "images.npz")
    metrics = pd.DataFrame({"network": ["cr-small"] * 3, "epoch": [1, 2, 3], "test_loss": [0.9, 0.5, 0.3], "train_loss": [1.0, 0.6, 0.3]})
    figs = ch5.build_figures({**inputs, "reward_net_metrics": metrics,
                              "visualization_images": pd.DataFrame([{"network": "cr-small", "mode": "denovo", "path": str(tmp_path / "images.npz")}])},
                             tmp_path / "figs")
    assert set(figs) == {"fig_5_15", "fig_noise_predictions", "fig_reward_net_training", "fig_5_3", "fig_c_1", "fig_c_2"}
    assert all(p.exists() for p in figs.values())

    # Figure 5.15: two 64 x 64 images of N(0.5, 1) pixels clipped to [0, 1]: 2 P(Z > 0.5) = 62% of them at 0 or 1
    noise = np.stack([ax.images[0].get_array() for ax in drawn["fig_5_15"].axes])
    assert noise.shape == (2, 64, 64, 3) and noise.min() == 0 and noise.max() == 1
    assert np.mean((noise == 0) | (noise == 1)) == pytest.approx(0.617, abs=0.02) and noise.mean() == pytest.approx(0.5, abs=0.02)
    assert drawn["fig_5_15"]._suptitle.get_text() == "Images with IID N(0.5, 1) pixels (thesis-text)"

    # noise predictions: one panel per network, a histogram per pairing of exactly its predicted rewards
    panels = drawn["fig_noise_predictions"].axes
    # each network named as trained (not as the thesis network it stands in for), the thesis network beside it
    assert [ax.get_title() for ax in panels] == [
        "cr-small (CoinRun, 3 epochs, width x0.25; stands in for the thesis's CoinRun, 15 epochs)\nthesis-text noise",
        "cr-long (CoinRun, 40 epochs, width x1; stands in for the thesis's CoinRun, 40 epochs)\nthesis-text noise"]
    for ax, (different, same) in zip(panels, (([6.0, 8.0, 10.0], [1.0, 1.0, 1.0]), ([40.0, 41.0], [70.0, 72.0]))):
        for bars, values in zip(ax.containers, (different, same)):
            assert sum(b.get_height() for b in bars) == len(values)
            if min(values) < max(values):
                assert (bars[0].get_x(), bars[-1].get_x() + bars[-1].get_width()) == pytest.approx((min(values), max(values)))
            else:
                assert max(b.get_height() for b in bars) == len(values)  # equal values: one bar
        assert [list(line.get_xdata()) for line in ax.lines] == [[10, 10]]  # the reward of reaching the coin

    # training curves: the metrics as given, and the thesis's final test losses (Section 5.3) as horizontal lines
    ax = drawn["fig_reward_net_training"].axes[0]
    curves = {line.get_label(): (list(line.get_xdata()), list(line.get_ydata())) for line in ax.lines}
    small = "cr-small (CoinRun, 3 epochs, width x0.25; stands in for the thesis's CoinRun, 15 epochs)"
    assert curves[f"{small}: test"] == ([1, 2, 3], [0.9, 0.5, 0.3])
    assert curves[f"{small}: train, running"] == ([1, 2, 3], [1.0, 0.6, 0.3])
    assert drawn["fig_5_3"]._suptitle.get_text().replace("\n", " ").startswith(f"{small}: de novo")
    assert sorted(t.get_text() for t in ax.texts) == [" thesis CoinRun, 15 epochs: 0.046", " thesis CoinRun, 40 epochs: 0.038"]
    assert ax.get_yscale() == "log"

    # de novo visualisations: Figure 5.3 shows action 0, C.1 actions 0-7, C.2 actions 8-14, after the last step
    with np.load(tmp_path / "images.npz") as z:
        obs, nxt, rewards = z["obs"][-1], z["next_obs"][-1], z["rewards"][-1]
    for name, item, action in (("fig_5_3", 0, 0), ("fig_c_1", 0, 0), ("fig_c_2", 1, 9)):
        left, right = drawn[name].axes
        assert left.get_title(loc="left") == f"action {action}: predicted {rewards[item]:.4g}"
        assert np.array_equal(left.images[0].get_array(), obs[item].transpose(1, 2, 0))
        assert np.array_equal(right.images[0].get_array(), nxt[item].transpose(1, 2, 0))
        assert drawn[name]._suptitle.get_text().replace("\n", " ") == f"{small}: de novo, 2 steps"
