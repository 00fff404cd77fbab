"""Chapter-4 statistics against known distributions and hand-worked examples."""

import numpy as np
import pytest
from scipy import stats

from nnstructure.stats import (
    bates_cdf,
    benjamini_hochberg,
    effect_measure,
    effect_values,
    fisher_p_value,
    fisher_statistic,
    null_fisher_statistic,
    percentile,
)


def test_percentile_counts_more_specialised_random_values():
    random = np.array([[0.1, 0.2, 0.3, 0.4]])
    # high = specialised: 2 of 4 random values exceed 0.25 -> (2 + 0.5) / 5
    assert percentile([0.25], random, higher_is_specialised=True)[0] == pytest.approx(0.5)
    assert percentile([0.9], random, higher_is_specialised=True)[0] == pytest.approx(0.1)
    # low = specialised (entropy): 0 random values below 0.05
    assert percentile(0.05, random[0], higher_is_specialised=False) == pytest.approx(0.1)


def test_percentile_ties_strict_favour_true_and_mid_split():
    random = np.array([[0.0, 0.0, 0.0, 1.0]])
    assert percentile([0.0], random, True, ties="strict")[0] == pytest.approx((1 + 0.5) / 5)
    assert percentile([0.0], random, True, ties="mid")[0] == pytest.approx((1 + 1.5 + 0.5) / 5)
    with pytest.raises(ValueError, match="ties"):
        percentile([0.0], random, True, ties="average")


def test_null_fisher_statistic_is_0983_for_19_random():
    assert null_fisher_statistic(19) == pytest.approx(0.98278, abs=1e-5)
    # rank of the true value uniform among 20 places: mean Fisher statistic matches
    rng = np.random.default_rng(0)
    true = rng.random((4000, 30))
    rand = rng.random((4000, 30, 19))
    stats_ = [fisher_statistic(percentile(t, r, True)) for t, r in zip(true, rand)]
    assert np.mean(stats_) == pytest.approx(0.9828, abs=0.01)


def test_fisher_p_values_are_uniform_for_uniform_percentiles():
    rng = np.random.default_rng(1)
    n = 25
    pvals = [fisher_p_value(fisher_statistic(rng.random(n)), n) for _ in range(3000)]
    assert stats.kstest(pvals, "uniform").pvalue > 0.01
    # a J-shaped distribution (many low percentiles) is significant
    assert fisher_p_value(fisher_statistic(rng.random(n) ** 3), n) < 1e-3


def test_fisher_p_value_matches_scipy_combine_pvalues():
    p = np.array([0.025, 0.2, 0.5, 0.9, 0.075])
    assert fisher_p_value(fisher_statistic(p), p.size) == pytest.approx(stats.combine_pvalues(p, method="fisher").pvalue)


def test_bates_cdf_matches_monte_carlo_of_means_of_uniforms():
    rng = np.random.default_rng(2)
    means = rng.random((200_000, 5)).mean(axis=1)
    grid = np.linspace(0.05, 0.95, 19)
    empirical = (means[:, None] <= grid[None, :]).mean(axis=0)
    assert np.max(np.abs(bates_cdf(grid, 5) - empirical)) < 0.005
    assert bates_cdf(0.3, 1) == pytest.approx(0.3)
    assert bates_cdf(0.5, 5) == pytest.approx(0.5)
    assert bates_cdf(-1, 5) == 0.0 and bates_cdf(1.5, 5) == 1.0
    # the k = floor(n x) term the original code's bates_test drops is included: F_5(0.1) = 0.5^5 / 5!
    assert bates_cdf(0.1, 5) == pytest.approx(0.5**5 / 120)


def test_bates_cdf_is_exact_for_many_replicates():
    # 40 uniforms: floating-point alternating sums would lose all precision; compare with the normal limit
    assert bates_cdf(0.5 + 2 * np.sqrt(1 / (12 * 40)), 40) == pytest.approx(stats.norm.cdf(2), abs=0.01)


def test_benjamini_hochberg_hand_worked_example():
    p = [0.042, 0.001, 0.216, 0.039, 0.008, 0.041, 0.205, 0.06, 0.074, 0.212]
    # sorted: 0.001 <= 0.005, 0.008 <= 0.010, 0.039 > 0.015, ... -> k = 2, critical p = 0.008
    result = benjamini_hochberg(p, alpha=0.05)
    assert result.critical_p == pytest.approx(0.008)
    assert result.significant.tolist() == [False, True, False, False, True, False, False, False, False, False]
    assert result.n_significant == 2


def test_benjamini_hochberg_says_when_nothing_is_significant():
    result = benjamini_hochberg([0.3, 0.5, 0.04], alpha=0.05)
    assert result.critical_p is None and not result.any_significant
    assert not result.significant.any()


def test_effect_measure_of_identical_values_is_exactly_one():
    rng = np.random.default_rng(3)
    x = rng.random(12) + 0.1
    eff = effect_measure(x, np.repeat(x[:, None], 19, axis=1))
    assert eff.effect == 1.0 and eff.se < 1e-15 and eff.n_subclusters == 12


def test_effect_values_hand_worked_and_clipped():
    values = effect_values([3.0, -1.0, 0.0, 2.0], [[1.0, 1.0], [1.0, 3.0], [0.0, 0.0], [-1.0, -3.0]])
    # 2*3/(3+1); x<0 -> 0; 0/0 -> 1; mu<0 -> 0 so 2x/x = 2
    assert values.tolist() == pytest.approx([1.5, 0.0, 1.0, 2.0])
    assert effect_values([np.inf], [[1.0]])[0] == 2.0
    eff = effect_measure([3.0, 1.0], [[1.0], [1.0]])
    assert eff.effect == pytest.approx(1.25) and eff.se == pytest.approx(np.std([1.5, 1.0], ddof=1) / np.sqrt(2))


def test_effect_definitions_hand_worked():
    from nnstructure.stats.effect import effect_against_random_mean, effect_mean_over_random_pairs

    # x = 2, randoms [1, 3]: text 2*2/(2 + 2) = 1; code mean(2*2/(2+1), 2*2/(2+3)) = mean(4/3, 4/5)
    assert effect_against_random_mean([2.0], [[1.0, 3.0]])[0] == pytest.approx(1.0)
    assert effect_mean_over_random_pairs([2.0], [[1.0, 3.0]])[0] == pytest.approx((4 / 3 + 4 / 5) / 2)
    assert effect_values([2.0], [[1.0, 3.0]], "original-code")[0] == pytest.approx(1.0666667)
    assert effect_values([2.0], [[1.0, 3.0]])[0] == pytest.approx(1.0)  # the default: the thesis text
    with pytest.raises(ValueError, match="thesis-text, original-code"):
        effect_values([2.0], [[1.0, 3.0]], "pairwise")


def test_original_code_effect_drops_true_values_not_above_zero():
    # as src/lucid.py's `if x > 0`: x = 0 and x < 0 are dropped (NaN), not scored 0 or 1
    values = effect_values([0.0, -1.0, 1.0, 3.0], [[0.0, 1.0], [1.0, 1.0], [0.0, 1.0], [-2.0, np.inf]], "original-code")
    assert np.isnan(values[:2]).all()
    # x = 1, randoms [0, 1]: mean(2, 1); x = 3, randoms [-2 -> 0, inf]: mean(2, 0)
    assert values[2:].tolist() == pytest.approx([1.5, 1.0])
    eff = effect_measure([0.0, -1.0, 1.0, 3.0], [[0.0, 1.0], [1.0, 1.0], [0.0, 1.0], [-2.0, np.inf]], "original-code")
    assert eff.n_subclusters == 2 and eff.effect == pytest.approx(1.25)
    assert eff.se == pytest.approx(np.std([1.5, 1.0], ddof=1) / np.sqrt(2))
    with pytest.raises(ValueError, match="x <= 0"):
        effect_measure([0.0], [[1.0]], "original-code")
    # the text's definition keeps them: x = 0 against a positive mean is 0, x = mu = 0 is 1
    assert effect_values([0.0, 0.0], [[0.0, 1.0], [0.0, 0.0]]).tolist() == pytest.approx([0.0, 1.0])


def test_null_value_of_the_pairwise_definition_is_one_for_heavy_tailed_values():
    # true and random values from one heavy-tailed distribution: the pairwise mean stays near 1, the text's falls
    rng = np.random.default_rng(0)
    values = 10.0 ** rng.normal(-5, 4, size=(2000, 20))
    code = effect_measure(values[:, 0], values[:, 1:], "original-code")
    text = effect_measure(values[:, 0], values[:, 1:], "thesis-text")
    assert abs(code.effect - 1.0) < 3 * code.se
    assert text.effect < 0.6
