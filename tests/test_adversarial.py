"""Adversarial training (thesis 5.8): example sets counted and labelled 0, gradient clipping at the percentile, resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from nnstructure.reward.adversarial import (
    AdversarialTrainingData,
    adversarial_epochs_table,
    adversarial_settings,
    adversarial_train,
    examples_path,
    examples_work_dir,
    fraction_variant,
    generation_epochs,
    load_examples,
    n_examples,
)
from nnstructure.reward.transitions import TransitionDataset
from test_reward_transitions_data import write_transition_dataset

# 4 epochs, examples made after epochs 2 and 3 (trained on in epochs 3 and 4) and after epoch 4 (evaluated).
TINY = {"width_multiplier": 1 / 32, "epochs": 4, "first_adversarial_epoch": 2, "batch_size": 8,
        "adversarial_fraction": 0.1, "optimization_steps": 2, "max_shift": 2, "optimization_batch": 3}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("adversarial")
    dataset = write_transition_dataset(root / "ds")
    summary = adversarial_train(dataset, TINY, seed=0, out=root / "adv.pt", examples_dir=root / "examples",
                                log=root / "log.parquet", progress=False)
    return root, dataset, summary


def test_schedule_and_counts():
    assert generation_epochs(10, 5) == [5, 6, 7, 8, 9]
    assert n_examples(0.001, 805_940) == 806 and n_examples(0.04, 805_940) == 32_238 and n_examples(0.001, 10) == 1
    assert fraction_variant(0.001) == "thesis-text" and fraction_variant(0.04) == "original-code"
    with pytest.raises(ValueError, match="unknown adversarial-training settings"):
        adversarial_settings({"huber": True})
    with pytest.raises(ValueError, match="first_adversarial_epoch"):
        adversarial_settings({"first_adversarial_epoch": 11})


def test_sets_are_counted_as_configured(run):
    root, dataset, summary = run
    n_train = TransitionDataset(dataset).n("train")
    per_set = n_examples(0.1, n_train)
    for epoch in (2, 3, 4):
        s = load_examples(examples_path(root / "examples", epoch))
        assert len(s["actions"]) == per_set and int(s["epoch"]) == epoch
        assert s["obs"].shape == (per_set, 3, 16, 16) and 0 <= s["obs"].min() and s["obs"].max() <= 1
    assert summary["examples_per_set"] == per_set and summary["n_sets_trained"] == 2
    epochs = adversarial_epochs_table(root / "examples", root / "log.parquet")
    assert epochs["epoch"].tolist() == [1, 2, 3, 4]
    assert epochs["n_adversarial"].tolist() == [0, 0, per_set, 2 * per_set]
    assert summary["variant"] == "custom" and summary["adversarial_fraction"] == 0.1
    for key in ("train_loss", "test_loss", "first_adversarial_loss", "final_adversarial_loss", "end_examples_mse"):
        assert np.isfinite(summary[key])
    # Whether the net has learnt is judged against mean guessing on its own dataset, as for reward nets.
    from nnstructure.reward.nets import mean_guess_mse

    assert summary["mean_guess_test_mse"] == mean_guess_mse(TransitionDataset(dataset))["test"] > 0


def test_adversarial_examples_are_labelled_zero_and_spread_over_the_epoch(run):
    root, dataset, _ = run
    data = AdversarialTrainingData(TransitionDataset(dataset), root / "examples", adversarial_settings(TINY), 0).training_data(torch.device("cpu"))
    data.before_epoch(None, 3)  # both training sets exist on disk: loaded, nothing is made (no model needed)
    adv = load_examples(examples_path(root / "examples", 2))
    batches = list(data.train_batches(8, True, torch.Generator().manual_seed(0)))
    sizes = [len(a) for _, (a, _, _) in batches]
    assert sum(sizes) == data.n_base + 2 * len(adv["actions"]) and all(s == 8 for s in sizes[:-1])
    x = torch.cat([b[0] for b in batches])
    reward = torch.cat([b[1][1] for b in batches])
    # An adversarial example is found in the batches with its own action and label 0.
    target = torch.cat([adv["obs"][0], adv["next_obs"][0]])  # float16 values, exactly as trained on
    match = [i for i in range(len(x)) if torch.equal(x[i], target)]
    assert len(match) == 1 and reward[match[0]] == 0
    assert torch.cat([b[1][0] for b in batches])[match[0]] == adv["actions"][0]
    assert torch.cat([b[1][2] for b in batches])[match[0]] == 1.0  # examples weigh 1


def test_adversarial_training_with_zero_reward_discard_keeps_every_example(run, tmp_path):
    import shutil

    root, dataset, _ = run
    ds = TransitionDataset(dataset)
    examples = shutil.copytree(root / "examples", tmp_path / "examples")  # the epoch's statistics are written there
    data = AdversarialTrainingData(ds, examples, adversarial_settings({**TINY, "zero_reward_discard": 0.5}), 0)
    data = data.training_data(torch.device("cpu"))
    data.before_epoch(None, 3)
    n_examples = sum(len(s["actions"]) for s in data.sets.values())
    batches = list(data.train_batches(8, True, torch.Generator().manual_seed(0)))
    reward = torch.cat([b[1][1] for b in batches])
    weight = torch.cat([b[1][2] for b in batches])
    n_rewarded = int((ds.column("reward")[ds.mask("train")] != 0).sum())
    assert int((reward != 0).sum()) == n_rewarded  # rewarded transitions are all kept
    assert int((weight == 1.0).sum()) == n_rewarded + n_examples  # examples and rewarded ones weigh 1
    assert torch.all(weight[weight != 1.0] == 2.0)  # kept zero-reward transitions weigh 1 / (1 - 0.5)
    assert len(reward) < data.n_base + n_examples
    # The epoch's statistics count the examples, not the difference between the sampled and the full training set.
    assert json.loads((examples / "epoch-04.json").read_text())["n_adversarial"] == n_examples


def test_gradients_clipped_to_the_percentile_of_the_reference_epoch(run):
    root, _, summary = run
    ref = np.load(root / "examples" / "clip-reference.npz")
    assert int(ref["epoch"]) == 2
    assert float(ref["threshold"]) == pytest.approx(np.percentile(ref["norms"], 99))
    assert summary["clip_threshold"] == pytest.approx(float(ref["threshold"]))
    stats = {json.loads(p.read_text())["epoch"]: json.loads(p.read_text()) for p in (root / "examples").glob("epoch-*.json")}
    assert stats[1]["clip_threshold"] is None and stats[3]["clip_threshold"] == pytest.approx(float(ref["threshold"]))


def test_after_backward_clips_the_total_norm(tmp_path):
    data = AdversarialTrainingData.__new__(AdversarialTrainingData)
    data.sets, data.threshold, data._norms, data._clipped = {5: {}}, 1.0, [], 0
    model = torch.nn.Linear(3, 2)
    model.weight.grad = torch.full((2, 3), 2.0)
    model.bias.grad = torch.full((2,), 2.0)  # total norm 2 * sqrt(8)
    data.after_backward(model)
    total = torch.sqrt(model.weight.grad.pow(2).sum() + model.bias.grad.pow(2).sum())
    assert float(total) == pytest.approx(1.0, rel=1e-5)
    assert float(data._norms[0]) == pytest.approx(2 * np.sqrt(8)) and int(data._clipped) == 1
    data.sets = {}
    model.weight.grad = torch.full((2, 3), 0.1)
    model.bias.grad = torch.zeros(2)
    data.after_backward(model)  # before any adversarial example: recorded, not clipped
    assert float(model.weight.grad[0, 0]) == pytest.approx(0.1)


def test_killed_run_resumes_with_the_same_examples(tmp_path, run):
    root, dataset, summary = run

    class Kill(Exception):
        pass

    def kill_after_third(epoch, row):
        if epoch == 2:
            raise Kill

    with pytest.raises(Kill):
        adversarial_train(dataset, TINY, seed=0, out=tmp_path / "adv.pt", examples_dir=tmp_path / "examples",
                          progress=False, epoch_callback=kill_after_third)
    # The sets made so far wait beside the resume state, not in the declared output folder, which a workflow
    # deletes before it reruns an incomplete job.
    assert not (tmp_path / "examples").exists() and examples_path(tmp_path / "examples.partial", 2).exists()
    resumed = adversarial_train(dataset, TINY, seed=0, out=tmp_path / "adv.pt", examples_dir=tmp_path / "examples", progress=False)
    for epoch in (2, 3, 4):
        a = load_examples(examples_path(root / "examples", epoch))
        b = load_examples(examples_path(tmp_path / "examples", epoch))
        torch.testing.assert_close(a["obs"], b["obs"])
    assert resumed["test_loss"] == pytest.approx(summary["test_loss"], rel=1e-6)
    assert not (tmp_path / "examples.partial").exists()
    assert sorted(p.name for p in (tmp_path / "examples").iterdir()) == sorted(p.name for p in (root / "examples").iterdir())


def test_examples_of_another_run_are_never_reused(tmp_path):
    out, examples = tmp_path / "adv.pt", tmp_path / "examples"
    run = {"settings": {"epochs": 4}, "seed": 0}
    work = examples_work_dir(examples, out, run)
    (work / "examples-epoch-02.npz").write_bytes(b"set")
    # Without the resume state a run starts from scratch: the folder is emptied.
    assert list(examples_work_dir(examples, out, run).glob("*.npz")) == []
    (work / "examples-epoch-02.npz").write_bytes(b"set")
    Path(str(out) + ".partial").write_bytes(b"state")
    assert (examples_work_dir(examples, out, run) / "examples-epoch-02.npz").exists()  # the same run resumes with it
    assert list(examples_work_dir(examples, out, {**run, "seed": 1}).glob("*.npz")) == []  # another run does not
    # An older run's sets, written straight into the output folder beside its resume state, are taken over.
    import shutil

    shutil.rmtree(work)
    examples.mkdir()
    (examples / "examples-epoch-02.npz").write_bytes(b"old")
    assert (examples_work_dir(examples, out, run) / "examples-epoch-02.npz").read_bytes() == b"old" and not examples.exists()


def test_examples_start_from_the_highest_predicted_rewards_and_raise_them(run):
    from nnstructure.checkpoint import load_checkpoint
    from nnstructure.reward.adversarial import make_adversarial_examples, predicted_rewards

    root, dataset, _ = run
    model = load_checkpoint(root / "adv.pt").model
    ds = TransitionDataset(dataset)
    rows, preds = predicted_rewards(model, ds)
    made = make_adversarial_examples(model, ds, 4, steps=3, lr=0.05, max_shift=0, seed=1, chunk=3)
    np.testing.assert_array_equal(made["rows"], rows[np.argsort(-preds, kind="stable")[:4]])
    np.testing.assert_allclose(made["source_predicted_reward"], np.sort(preds)[::-1][:4], rtol=1e-5)
    assert made["predicted_reward"].mean() > made["source_predicted_reward"].mean()


def test_candidates_are_ranked_in_the_nets_precision(run):
    """The example pass reads every training transition; under bf16 (the chapter-5 default) it runs autocast, as
    training does, and its predictions match the float32 ones to bfloat16's precision."""
    from nnstructure.checkpoint import load_checkpoint
    from nnstructure.models.reward import predict_rewards
    from nnstructure.reward.adversarial import predicted_rewards

    root, dataset, _ = run
    model = load_checkpoint(root / "adv.pt").model
    ds = TransitionDataset(dataset)
    rows, fp32 = predicted_rewards(model, ds)
    rows_bf16, bf16 = predicted_rewards(model, ds, precision="bf16")
    np.testing.assert_array_equal(rows, rows_bf16)
    assert not np.array_equal(fp32, bf16)  # autocast really ran
    np.testing.assert_allclose(bf16, fp32, atol=0.05 * np.abs(fp32).max() + 1e-3)
    batch = ds.load(rows)
    same = predict_rewards(model, batch["obs"], batch["next_obs"], batch["action"], precision="bf16").numpy()
    np.testing.assert_allclose(bf16, same, rtol=1e-6, atol=1e-6)  # the same forward pass as every other bf16 step


def test_epoch_sample_pool_ranks_a_seeded_discarded_epoch(tmp_path):
    """candidate_pool: epoch-sample ranks every rewarded training transition and a seeded share of the others, a
    fresh one per set; the sets start from transitions of their own sample only. all: every training transition."""
    dataset = write_transition_dataset(tmp_path / "ds")
    ds = TransitionDataset(dataset)
    settings = adversarial_settings({**TINY, "zero_reward_discard": 0.5, "candidate_pool": "epoch-sample"})
    data = AdversarialTrainingData(ds, tmp_path / "ex", settings, 0)
    train, rewarded = ds.mask("train"), ds.column("reward") != 0
    pools = {g: data.candidates(g) for g in (2, 3, 4)}
    for pool in pools.values():
        assert not (pool & ~train).any() and (pool[train & rewarded]).all()
        assert 0 < int((pool & ~rewarded).sum()) < int((train & ~rewarded).sum())
    assert not np.array_equal(pools[2], pools[3])
    np.testing.assert_array_equal(pools[2], data.candidates(2))  # seeded: a resumed run ranks the same sample
    assert AdversarialTrainingData(ds, tmp_path / "ex2", adversarial_settings(TINY), 0).candidates(2) is None
    with pytest.raises(ValueError, match="candidate_pool must be one of"):
        adversarial_settings({"candidate_pool": "test"})
    summary = adversarial_train(dataset, {**TINY, "zero_reward_discard": 0.5, "candidate_pool": "epoch-sample"}, seed=0,
                                out=tmp_path / "adv.pt", examples_dir=tmp_path / "examples", progress=False)
    assert summary["candidate_pool"] == "epoch-sample"
    for g in (2, 3, 4):
        rows = load_examples(examples_path(tmp_path / "examples", g))["rows"]
        assert pools[g][rows].all()
