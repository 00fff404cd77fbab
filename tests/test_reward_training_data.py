"""Reward-net training data: zero-reward discard and its loss weighting; bf16 autocast training."""

import numpy as np
import pandas as pd
import pytest
import torch

from nnstructure.reward.nets import train_reward_net
from nnstructure.reward.training_data import StreamedTransitions, TransitionTraining
from nnstructure.reward.transitions import TransitionDataset
from nnstructure.train.precision import autocast
from test_reward_transitions_data import write_transition_dataset

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = write_transition_dataset(tmp_path_factory.mktemp("training_data") / "ds", n_shards=3, episodes_per_shard=20,
                                    steps=6, size=8)
    return TransitionDataset(root)


def _epoch_rows(data: StreamedTransitions, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(rewards, weights) of every transition of one training epoch drawn from ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    rewards, weights = [], []
    for _, (_, reward, weight) in data.train_batches(7, True, gen):
        rewards.append(reward.numpy())
        weights.append(weight.numpy())
    return np.concatenate(rewards), np.concatenate(weights)


def test_discard_keeps_every_rewarded_transition_and_a_seeded_share_of_the_rest(dataset):
    data = StreamedTransitions(dataset, CPU, zero_reward_discard=0.75)
    train = dataset.mask("train")
    reward = dataset.column("reward")
    n_rewarded, n_zero = int((train & (reward != 0)).sum()), int((train & (reward == 0)).sum())
    assert n_rewarded > 5 and n_zero > 100
    assert data.n_train == n_rewarded + round(0.25 * n_zero)
    counts = []
    for seed in range(20):
        rewards, weights = _epoch_rows(data, seed)
        assert (rewards != 0).sum() == n_rewarded  # rewarded ones are never discarded
        assert np.all(weights[rewards != 0] == 1.0) and np.allclose(weights[rewards == 0], 4.0)  # 1 / (1 - 0.75)
        counts.append((rewards == 0).sum())
    # the kept zero-reward transitions are Binomial(n_zero, 0.25): mean within 4 standard errors
    se = np.sqrt(n_zero * 0.25 * 0.75 / len(counts))
    assert abs(np.mean(counts) - 0.25 * n_zero) < 4 * se
    # the same epoch seed draws the same epoch; epochs differ
    assert np.array_equal(data.epoch_mask(3), data.epoch_mask(3)) and not np.array_equal(data.epoch_mask(3), data.epoch_mask(4))


def test_weighting_starts_at_its_epoch(dataset):
    data = StreamedTransitions(dataset, CPU, zero_reward_discard=0.75, weighting_from_epoch=3)
    assert data.sampling["weighting_from_epoch"] == 3
    for epoch, expected in ((0, 1.0), (1, 1.0), (2, 4.0), (5, 4.0)):
        data.before_epoch(None, epoch)
        rewards, weights = _epoch_rows(data, epoch)
        assert np.all(weights[rewards != 0] == 1.0) and np.allclose(weights[rewards == 0], expected), epoch
    with pytest.raises(ValueError, match="from 1"):
        StreamedTransitions(dataset, CPU, zero_reward_discard=0.5, weighting_from_epoch=0)


def test_weighted_loss_is_unbiased_for_the_full_training_mse(dataset):
    """Over epochs, the weighted discarded loss averages to the MSE over every training transition."""
    data = StreamedTransitions(dataset, CPU, zero_reward_discard=0.8)
    unweighted = StreamedTransitions(dataset, CPU, zero_reward_discard=0.8, discard_weighting=False)
    full = StreamedTransitions(dataset, CPU)
    constant = 1.3  # a net predicting 1.3 for everything
    output = lambda n: torch.full((n, 15), constant)  # noqa: E731

    def epoch_loss(d, seed):
        gen = torch.Generator().manual_seed(seed)
        total, weight = 0.0, 0.0
        for x, y in d.train_batches(1000, True, gen):
            total += float(d.loss(output(len(x)), y, reduction="sum"))
            weight += float(y[2].sum())
        return total / weight

    exact = epoch_loss(full, 0)
    reward = dataset.column("reward")[dataset.mask("train")]
    assert exact == pytest.approx(float(((reward - constant) ** 2).mean()), rel=1e-6)
    weighted = np.mean([epoch_loss(data, s) for s in range(200)])
    assert weighted == pytest.approx(exact, rel=0.03)
    # without weighting the loss is that of the discarded distribution: far from the full one (rewards over-represented)
    assert np.mean([epoch_loss(unweighted, s) for s in range(50)]) > 1.5 * exact


def test_evaluation_uses_every_test_transition_whatever_the_discard(dataset):
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(15))
    model(torch.zeros(1, 6, 8, 8))
    a = StreamedTransitions(dataset, CPU, zero_reward_discard=0.9).evaluate_split(model, "test")
    b = StreamedTransitions(dataset, CPU).evaluate_split(model, "test")
    assert a == b


def test_per_epoch_test_estimate_samples_zeros_and_weights_them_up(dataset, monkeypatch):
    from nnstructure.reward import training_data

    data = StreamedTransitions(dataset, CPU)
    n_zero = int((dataset.mask("test") & (dataset.column("reward") == 0)).sum())
    monkeypatch.setattr(training_data, "EPOCH_EVAL_ZEROS", n_zero // 4)

    class Constant(torch.nn.Module):  # predicts 2.0 for every action: every zero-reward error is equal
        def forward(self, x):
            return torch.full((len(x), 15), 2.0)

    exact, _ = data.evaluate_split(Constant(), "test")
    estimate, _ = data.estimate_split(Constant(), "test")
    assert estimate == pytest.approx(exact, rel=1e-6)  # with equal zero-reward errors the weighted estimate is exact
    monkeypatch.setattr(training_data, "EPOCH_EVAL_ZEROS", 10 * n_zero)
    assert data.estimate_split(Constant(), "test") == data.evaluate_split(Constant(), "test")


def test_discarded_training_resumes_only_with_the_same_sampling(dataset, tmp_path):
    settings = {"width_multiplier": 1 / 32, "batch_size": 16, "epochs": 2, "zero_reward_discard": 0.5}
    out = tmp_path / "net.pt"
    a = TransitionTraining(dataset, 0.5).training_data(CPU)
    b = TransitionTraining(dataset, 0.9).training_data(CPU)
    assert a.sampling != b.sampling and TransitionTraining(dataset).training_data(CPU).sampling is None
    meta = train_reward_net(dataset.path, settings, 0, out, progress=False)
    assert meta["reward_net_settings"]["zero_reward_discard"] == 0.5 and meta["reward_net_settings"]["discard_weighting"]


def test_bf16_training_reaches_the_fp32_loss(dataset, tmp_path):
    base = {"width_multiplier": 1 / 16, "batch_size": 16, "lr": 2e-3, "epochs": 8}
    losses = {}
    for precision in ("fp32", "bf16"):
        out = tmp_path / f"{precision}.pt"
        meta = train_reward_net(dataset.path, {**base, "precision": precision}, 0, out, log=tmp_path / f"{precision}.parquet",
                                progress=False)
        assert meta["train_config"]["precision"] == precision
        losses[precision] = pd.read_parquet(tmp_path / f"{precision}.parquet")["test_loss"].to_numpy()
    # both learn (to less than half the first epoch's loss), and bf16 tracks fp32 within 15% at every epoch
    # (measured: 13.2 -> 4.6 for fp32, 13.2 -> 4.8 for bf16)
    assert losses["fp32"][-1] < 0.5 * losses["fp32"][0] and losses["bf16"][-1] < 0.5 * losses["bf16"][0]
    np.testing.assert_allclose(losses["bf16"], losses["fp32"], rtol=0.15)


def test_autocast_is_bfloat16_inside_and_refuses_unknown_precisions():
    layer = torch.nn.Linear(4, 3)
    with autocast(CPU, "bf16"):
        assert layer(torch.ones(2, 4)).dtype == torch.bfloat16
    with autocast(CPU, "fp32"):
        assert layer(torch.ones(2, 4)).dtype == torch.float32
    with pytest.raises(ValueError, match="fp32"):
        autocast(CPU, "fp16")


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_is_bf16_only_where_the_device_has_it_natively(monkeypatch, dataset, tmp_path, native):
    """``auto`` resolves to bf16 on a CPU whose oneDNN has bf16 kernels (AMX, AVX-512 BF16) and to fp32 on one
    that would emulate it (AVX2 only: 10-50x slower); training records the precision it used."""
    from nnstructure.reward.nets import reward_net_row
    from nnstructure.train import precision as precision_module

    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: native)
    monkeypatch.setattr(precision_module, "cpu_flags", lambda: frozenset({"avx2", "amx_bf16"} if native else {"avx2"}))
    used = "bf16" if native else "fp32"
    assert precision_module.native_bf16("cpu") is native
    assert precision_module.resolve_precision("auto", CPU) == used
    assert precision_module.resolve_precision("fp32", CPU) == "fp32" and precision_module.resolve_precision("bf16", CPU) == "bf16"
    layer = torch.nn.Linear(4, 3)
    with autocast(CPU, "auto"):
        assert layer(torch.ones(2, 4)).dtype == (torch.bfloat16 if native else torch.float32)
    out = tmp_path / "auto.pt"
    meta = train_reward_net(dataset.path, {"epochs": 1, "width_multiplier": 1 / 32, "batch_size": 16, "precision": "auto"},
                            0, out, progress=False)
    assert meta["train_config"]["precision"] == used and meta["precision_setting"] == "auto"
    assert reward_net_row(out)["precision"] == used
    # an explicit precision is kept as it is, with no "auto" mark
    meta = train_reward_net(dataset.path, {"epochs": 1, "width_multiplier": 1 / 32, "batch_size": 16, "precision": "fp32"},
                            0, tmp_path / "fp32.pt", progress=False)
    assert meta["train_config"]["precision"] == "fp32" and "precision_setting" not in meta


def test_plain_avx512_is_not_native_bf16_and_unreadable_flags_trust_onednn(monkeypatch):
    """oneDNN offers bf16 on any AVX-512 CPU, emulated without AVX512-BF16 or AMX: auto stays fp32 there. Where
    /proc/cpuinfo cannot be read, oneDNN's answer decides."""
    from nnstructure.train import precision as precision_module

    flags = precision_module.cpu_flags()  # this machine's, read for real (Linux: /proc/cpuinfo)
    assert flags is None or "fpu" in flags
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
    monkeypatch.setattr(precision_module, "cpu_flags", lambda: frozenset({"avx2", "avx512f", "avx512bw"}))
    assert precision_module.resolve_precision("auto", CPU) == "fp32"
    monkeypatch.setattr(precision_module, "cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))
    assert precision_module.resolve_precision("auto", CPU) == "bf16"
    monkeypatch.setattr(precision_module, "cpu_flags", lambda: None)
    assert precision_module.resolve_precision("auto", CPU) == "bf16"


def test_a_cuda_device_has_native_bf16_only_when_torch_says_so(monkeypatch):
    from nnstructure.train import precision as precision_module

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    for supported in (True, False):
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, s=supported, **k: s)
        assert precision_module.resolve_precision("auto", "cuda") == ("bf16" if supported else "fp32")
