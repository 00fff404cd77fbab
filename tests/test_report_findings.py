"""The chapter-5 findings on small hand-made tables: each claim holds, does not hold, or is not testable."""

from __future__ import annotations

import pandas as pd
import pytest

from nnstructure.report import findings as f


def _noise(network, different, same, variant="thesis-text"):
    return pd.DataFrame([{"network": network, "pairing": p, "predicted_reward": v, "noise_variant": variant}
                         for p, values in (("different", different), ("same", same)) for v in values])


def _edits(network, original, translated, rearranged):
    return pd.DataFrame([{"network": network, "edit": e, "predicted_reward": v}
                         for e, values in (("original", original), ("translated", translated), ("rearranged", rearranged))
                         for v in values])


def _nets(**test_losses):
    return pd.DataFrame([{"network": n, "test_loss": loss, "mean_guess_test_mse": 0.9} for n, loss in test_losses.items()])


def test_verdicts_map_to_scorecard_agreement():
    assert f.agrees("Holds: x (y)") is True and f.agrees("Does not hold: x (y)") is False
    assert f.agrees("Not testable: x (y)") is None
    with pytest.raises(ValueError, match="begins with one of"):
        f.verdict_of("Maybe: x")


def test_noise_finding():
    # The thesis's own Table 5.1 numbers hold.
    assert f.noise_finding(_noise("cr15", [7.3], [9.9])) == "Holds: noise gets a high reward (cr15: mean 8.6 > 5; different 7.3, same 9.9)"
    # Low rewards on noise contradict the thesis.
    line = f.noise_finding(_noise("a", [0.1, 0.3], [0.2, 0.2]), reward_nets=_nets(a=0.05))
    assert line == "Does not hold: noise gets a high reward (a: mean 0.2 <= 5; different 0.2, same 0.2)"
    # Half the originals' mean is the threshold when it is lower than 5.
    line = f.noise_finding(_noise("a", [4.0], [4.0]), _edits("a", [6.0, 8.0], [3.0], [0.0]))
    assert line.startswith("Holds:") and "mean 4 > 3.5 (half the originals' 7)" in line
    # Only the thesis-text (clipped) noise counts when both variants were run.
    both = pd.concat([_noise("a", [9.0], [9.0]), _noise("a", [0.0], [0.0], "original-code")])
    assert f.noise_finding(both).startswith("Holds:")
    # A net that has not learnt makes the finding not testable, with its ratio.
    line = f.noise_finding(_noise("a", [9.0], [9.0]), reward_nets=_nets(a=0.6))
    assert line == ("Not testable: noise gets a high reward (a has not learnt: test loss 0.6 is 0.667 x mean guessing "
                    "(> 0.5))")
    assert f.noise_finding(None).startswith("Not testable:")
    # Several nets: one contradiction decides, each net's numbers are in the line.
    line = f.noise_finding(pd.concat([_noise("a", [9.0], [9.0]), _noise("b", [0.0], [1.0])]))
    assert line.startswith("Does not hold:") and "[holds]" in line and "[does not hold]" in line


def test_edits_finding():
    assert f.edits_finding(_edits("cr15", [9.7], [6.0], [0.15])) == (
        "Holds: originals are about 10, translated edits in between, rearranged edits about 0 "
        "(cr15: original 9.7, translated 6, rearranged 0.15)")
    line = f.edits_finding(_edits("a", [9.5], [6.0], [4.0]))
    assert line.startswith("Does not hold:") and "(rearranged not about 0)" in line
    line = f.edits_finding(_edits("a", [3.0], [9.0], [0.1]))
    assert line.startswith("Does not hold:") and "original not about 10, translated not in between" in line
    line = f.edits_finding(_edits("a", [9.0], [5.0], [0.0]).query("edit != 'translated'"))
    assert line.startswith("Not testable:") and "no translated transitions" in line
    assert f.edits_finding(_edits("a", [9.7], [6.0], [0.1]), _nets(a=0.8)).startswith("Not testable:")
    # The adversarial net's edits come with a ``kind`` column.
    kinds = _edits("adv", [8.9], [4.6], [0.03]).rename(columns={"edit": "kind"})
    assert f.edits_finding(kinds).startswith("Holds:")


def _probes(losses, table_network="coinrun-15", target="distance", random=None, mean=17.2, network="cr15"):
    rows = [{"network": network, "thesis_network": table_network, "layer": layer, "target": target, "init": "trained",
             "closed_form_test_loss": loss, "mean_loss": mean} for layer, loss in losses.items()]
    rows += [{"network": "random", "thesis_network": table_network, "layer": layer, "target": target, "init": "random",
              "closed_form_test_loss": loss, "mean_loss": mean} for layer, loss in (random or {}).items()]
    return pd.DataFrame(rows)


def test_probe_finding():
    thesis = _probes({1: 15.4, 2: 11.4, 3: 17.7, 4: 17.1}, random={1: 17.0, 2: 16.9, 3: 17.2, 4: 17.2})
    line = f.probe_finding(thesis, "5.3")
    assert line == ("Holds: probes beat mean guessing and random networks, and find distance best at layer 2 "
                    "(closed-form test MSE by layer 1: 15.4, 2: 11.4, 3: 17.7, 4: 17.1; best layer 2: 11.4 vs mean "
                    "guessing 17.2; random networks' best 16.9 (layer 2))")
    # Best at layer 4: a contradiction.
    assert f.probe_finding(_probes({2: 12.0, 4: 10.0}, random={2: 17.0, 4: 17.0}), "5.3").startswith("Does not hold:")
    # No better than a random network: a contradiction.
    assert f.probe_finding(_probes({2: 12.0, 4: 14.0}, random={2: 11.0, 4: 17.0}), "5.3").startswith("Does not hold:")
    # No random-network probes, or only one layer: not testable (and said why).
    line = f.probe_finding(_probes({2: 12.0, 4: 14.0}), "5.3")
    assert line.startswith("Not testable:") and "no random-network probes" in line
    line = f.probe_finding(_probes({2: 12.0}, random={2: 17.0}), "5.3")
    assert line.startswith("Not testable:") and "layer 2 and another layer" in line
    # Heist (Table 5.5): no layer-2 claim.
    heist = f.probe_finding(_probes({1: 12.0, 4: 10.0}, "heist", random={4: 17.0}), "5.5")
    assert heist.startswith("Holds: probes of the distance beat mean guessing and random networks")
    # A network that has not learnt; no distance probes.
    line = f.probe_finding(thesis, "5.3", {"cr15": "has not learnt: test loss 0.6 is 0.667 x mean guessing (> 0.5)"})
    assert line.startswith("Not testable:") and "cr15 has not learnt" in line
    assert f.probe_finding(_probes({2: 1.0}, target="distance_sq"), "5.3").startswith("Not testable:")


def test_dots_probe_finding():
    random = {1: 0.050, 2: 0.050, 3: 0.0499, 4: 0.0497}
    falling = _probes({1: 0.046, 2: 0.033, 3: 0.031, 4: 0.024}, "dots", "pair_distances", random, 0.0498, "dots-regression-5")
    assert f.dots_probe_finding(falling).startswith("Holds: probes beat mean guessing and random networks, and improve layer by layer")
    # The thesis's 50-epoch net: layer 3 worse than layer 2.
    bumpy = _probes({1: 0.0465, 2: 0.0326, 3: 0.0548, 4: 0.0236}, "dots", "pair_distances", random, 0.0498, "dots-regression-50")
    line = f.dots_probe_finding(bumpy)
    assert line.startswith("Does not hold:") and "does not fall layer by layer" in line
    nets = pd.DataFrame([{"network": "dots-regression-5", "test_loss": 0.012, "baseline_loss": 0.0166}])
    line = f.dots_probe_finding(falling, nets)
    assert line.startswith("Not testable:") and "0.723 x mean guessing" in line
    assert f.dots_probe_finding(falling[falling["init"] == "random"]).startswith("Not testable:")


def _denovo(network, thesis_network, rewards, steps=(0, 64)):
    return pd.DataFrame([{"network": network, "thesis_network": thesis_network, "mode": "denovo", "step": s, "action": a,
                          "predicted_reward": 0.1 if s == steps[0] else r} for s in steps for a, r in enumerate(rewards)])


def test_adversarial_denovo_finding():
    ordinary = _denovo("cr", "coinrun-15", [700.0, 500.0])
    lost = pd.concat([ordinary, _denovo("adv", "adversarial", [0.0, 0.2])])
    assert f.adversarial_denovo_finding(lost) == (
        "Holds: after adversarial training, de novo visualisations lose their high reward (adversarially trained: "
        "mean 0.1 (adv 0.1); ordinary reward nets: mean 600; high = above 10)")
    kept = pd.concat([ordinary, _denovo("adv", "adversarial", [80.0, 120.0])])
    assert f.adversarial_denovo_finding(kept).startswith("Does not hold:")
    # The ordinary nets never reached a high reward (short optimisation): nothing to lose.
    low = pd.concat([_denovo("cr", "coinrun-15", [3.0]), _denovo("adv", "adversarial", [0.0])])
    line = f.adversarial_denovo_finding(low)
    assert line.startswith("Not testable:") and "do not reach a high reward either" in line
    assert f.adversarial_denovo_finding(ordinary).startswith("Not testable:")
    assert f.adversarial_denovo_finding(None).startswith("Not testable:")
    # Without thesis_network, the adversarial nets can be named.
    assert f.adversarial_denovo_finding(lost.drop(columns="thesis_network"), {"adv"}).startswith("Holds:")
    # An adversarial net at the mean-guess loss predicts about 0 for everything: losing the high reward is trivial.
    adversarial = pd.DataFrame([{"network": "adv", "test_loss": 1.47, "mean_guess_test_mse": 1.474}])
    line = f.adversarial_denovo_finding(lost, unlearnt=f.reward_net_unlearnt(adversarial))
    assert line.startswith("Not testable:") and "adv has not learnt: test loss 1.47 is 0.997 x mean guessing" in line
    learnt = adversarial.assign(test_loss=0.1)
    assert f.adversarial_denovo_finding(lost, unlearnt=f.reward_net_unlearnt(learnt)).startswith("Holds:")


def test_findings_become_markdown_and_scorecard_rows():
    line = f.edits_finding(_edits("cr15", [9.7], [6.0], [0.15]))
    table = pd.DataFrame([f.finding_record("table_5_2", "5.2", "5.2", line)])
    assert table.loc[0, "verdict"] == "Holds" and table.loc[0, "criterion"] == f.CRITERIA["5.2"]
    assert f.findings_markdown(table, "table_5_2") == f"**Finding (thesis 5.2).** {line}"
    assert f.findings_markdown(table, "table_5_1") == ""
    assert f.findings_list_markdown(table, "Findings").startswith("# Findings\n\n- **Thesis 5.2.** Holds:")
    card = f.findings_card(table, 5)
    assert card[0]["metric"] == "finding" and card[0]["agrees"] is True and card[0]["note"] == line
