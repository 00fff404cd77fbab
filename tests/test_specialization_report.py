"""Chapter-4 report: thesis-layout tables, figures and scorecard from statistics tables."""

import numpy as np
import pandas as pd
import pytest

from nnstructure.report import ch4
from nnstructure.specialization.statistics import combined_statistics, network_statistics, subcluster_percentiles
from report_fixtures import bar_heights, capture_figures


def _results(rng, condition, label, partitioning, k, replicate, shift):
    """A lesion and a visualisation results table: 6 subclusters x (1 true + 5 random), true values shifted up."""
    rows = []
    for proxy, metrics in (("lesion", ("accuracy_drop", "class_range", "class_range_normalized")),
                           ("visualization", ("vis_score", "softmax_entropy"))):
        for label_id in range(6):
            for r in range(-1, 5):
                row = {"condition": condition, "network_label": label, "dataset": "mnist", "partitioning": partitioning,
                       "k": k, "replicate": str(replicate), "proxy": proxy, "layer": "1", "layer_position": 0,
                       "label": label_id, "size": 3, "is_true": r == -1, "random_index": r}
                for m in metrics:
                    row[m] = rng.random() + (shift if r == -1 else 0.0)
                rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(0)
    frames = [_results(rng, "mlp-mnist", "MLP, MNIST", p, 16, rep, 0.8 if p == "weight-network" else 0.0)
              for p in ch4.PARTITION_ORDER for rep in range(2)]
    frames += [_results(rng, "vgg-cifar10", "VGG, CIFAR-10", "act-layer", k, 0, 0.0) for k in (8, 16)]
    frames += [_results(rng, "vgg-unreg", "VGG, CIFAR-10 Unregularized", "act-layer", 16, 0, 0.0)]
    pct = subcluster_percentiles(pd.concat(frames, ignore_index=True))
    stats = combined_statistics(network_statistics(pct))
    images = pd.DataFrame([{"condition": "mlp-mnist", "dataset": "mnist", "replicate": "0", "partitioning": "act-layer",
                            "layer": "1", "label": i // 2, "size": 3, "is_true": i % 2 == 0, "random_index": i % 2 - 1,
                            "channels": 3, "height": 4, "width": 4, "image": bytes(range(48))} for i in range(6)])
    return {"specialization": stats, "specialization_percentiles": pct, "specialization_images": images}


def test_tables_follow_the_thesis_layout(inputs):
    tables = ch4.build_tables(inputs)
    assert set(tables) == {"table_4_1", "table_4_2", "table_4_3", "table_4_4", "table_4_5", "table_4_6", "table_b_1", "table_b_2"}
    t41 = tables["table_4_1"]
    assert list(t41.columns) == ["Network", "Partitioning", "Acc. Drop", "Class Range", "Class Range (norm.)", "Vis Score", "Softmax H"]
    assert t41["Network"].tolist()[:4] == ["MLP, MNIST"] * 4
    assert t41["Partitioning"].tolist()[:4] == ["Weight/Network", "Weight/Layer", "Act./Network", "Act./Layer"]
    # the planted shift makes every true subcluster top-ranked on high-is-specialised metrics: lowest percentile, bold
    assert t41.iloc[0]["Acc. Drop"] == f"**{-np.log(0.5 / 6):.2f}**"
    assert tables["table_4_3"]["k"].tolist() == [8, 16]
    assert set(tables["table_4_5"]["Network"]) == {"VGG, CIFAR-10", "VGG, CIFAR-10 Unregularized"}
    md = ch4.tables_markdown(tables, stats=inputs["specialization"])
    assert "Table 4.1" in md["table_4_1"] and "critical p" in md["table_4_1"] and "original code" in md["table_4_1"]


def test_figures_draw_the_percentiles_and_visualisations(inputs, tmp_path, monkeypatch):
    drawn = capture_figures(monkeypatch)
    figures = ch4.build_figures(inputs, tmp_path)
    assert set(figures) == {"fig_4_3", "fig_4_4"} and all(p.exists() for p in figures.values())
    # Figure 4.3: per condition (rows) and partitioning (columns), the histogram of replicate 0's vis-score
    # percentiles at the main k (16), in bins of one random subcluster (1/6 wide: 5 random subclusters).
    pct = inputs["specialization_percentiles"]
    panels = {(ax.get_title().split(":")[0], row): ax for row, axes in enumerate(np.reshape(drawn["fig_4_3"].axes, (3, 4)))
              for ax in axes if ax.axison}
    assert sorted(panels) == [("Act./Layer", 0), ("Act./Layer", 1), ("Act./Layer", 2), ("Act./Network", 0),
                              ("Weight/Layer", 0), ("Weight/Network", 0)]
    for (label, row), ax in panels.items():
        condition = ("mlp-mnist", "vgg-cifar10", "vgg-unreg")[row]
        part = {v: k for k, v in ch4.PARTITION_LABELS.items()}[label]
        sel = pct[(pct.condition == condition) & (pct.partitioning == part) & (pct.k == 16) & (pct.replicate == "0")
                  & (pct.metric == "vis_score")]
        assert len(sel) == 6
        assert bar_heights(ax) == [np.histogram(sel["percentile"], bins=np.linspace(0, 1, 7))[0].tolist()]
        assert ax.get_title() == f"{label}: Fisher {-np.log(sel['percentile']).mean():.2f}"
    # Figure 4.4: the true subclusters' visualisations (left) beside a random one's (right), in grey for MNIST.
    grey = (np.arange(48).reshape(3, 4, 4) / 255).mean(axis=0)
    shown = [ax for ax in drawn["fig_4_4"].axes if ax.images]
    assert len(shown) == 6 and [ax.get_title() for ax in shown[:2]] == ["true\nmlp-mnist", "random"]
    assert all(np.allclose(ax.images[0].get_array(), grey) for ax in shown)
    assert [ax.get_ylabel() for ax in shown[::2]] == ["layer 1\nsize 3"] * 3


def test_percentile_histogram_of_a_hand_made_table(tmp_path, monkeypatch):
    # Six subclusters, each ranked first among 5 random ones (percentile 1/12): all in the first bin, Fisher log 12.
    drawn = capture_figures(monkeypatch)
    pct = pd.DataFrame({"condition": "mlp-mnist", "network_label": "MLP, MNIST", "partitioning": "weight-network", "k": 16,
                        "replicate": "0", "metric": "accuracy_drop", "n_random_subclusters": 5, "percentile": [1 / 12] * 6})
    ch4.plot_percentile_histograms(pct, tmp_path / "hist.png")
    ax = drawn["hist"].axes[0]
    assert bar_heights(ax) == [[6, 0, 0, 0, 0, 0]] and ax.get_title() == "Weight/Network: Fisher 2.48"
    assert drawn["hist"]._suptitle.get_text().startswith("Subcluster percentiles among random subclusters (accuracy_drop")


def test_scorecard_compares_both_class_range_definitions_with_the_thesis(inputs):
    card = ch4.scorecard(inputs)
    assert {"chapter", "table", "cell", "metric", "ours", "theirs", "diff", "agrees", "criterion", "note"} <= set(card.columns)
    mlp = card[card["cell"].str.startswith("MLP, MNIST (mlp-mnist), Weight/Network, k=16: class range")]
    assert len(mlp[mlp["metric"] == "fisher"]) == 2
    assert (mlp.loc[mlp["metric"] == "fisher", "theirs"] == 0.91).all()
    assert mlp["cell"].str.contains("thesis text").any() and mlp["cell"].str.contains("original code").any()
    fisher = card[(card["metric"] == "fisher") & card["cell"].str.contains("Weight/Network, k=16: acc. drop")].iloc[0]
    assert fisher["table"] == "4.1" and fisher["theirs"] == 2.13 and isinstance(fisher["agrees"], bool)
    # VGG at k = 8 comes from Table 4.3; rows without a thesis counterpart are kept with theirs empty
    assert (card[card["cell"].str.contains("k=8")]["table"] == "4.3").any()
    assert card["theirs"].isna().sum() == 0 or card.loc[card["theirs"].isna(), "agrees"].isna().all()


def test_reference_holds_every_table():
    ref = ch4.load_reference()
    assert set(ref["table"]) == {"4.1", "4.2", "4.3", "4.4", "4.5", "4.6", "B.1", "B.2"}
    cell = lambda t, n, p, k, m, q: ref[(ref["table"] == t) & (ref["network"] == n) & (ref["partitioning"] == p)
                                       & (ref["k"] == k) & (ref["metric"] == m) & (ref["quantity"] == q)]["value"].item()
    assert cell("4.1", "MLP, MNIST", "weight-network", 16, "accuracy_drop", "fisher") == 2.13
    assert cell("B.2", "VGG, CIFAR-10", "act-layer", 16, "vis_score", "p_value") == 8e-121
    assert cell("4.3", "VGG, CIFAR-10", "weight-network", 8, "class_range", "effect_se") == 0.045
    assert cell("4.2", "ResNet-18, ImageNet", "act-layer", 32, "accuracy_drop", "effect") == 0.983
    assert len(ref[ref["table"] == "4.1"]) == 6 * 4 * 4 - 2 * 4 * 2  # VGG-19 lacks lesions, ResNet-18 visualisation
