"""Chapter 5's thesis figures from the data, under their thesis names: Figure 5.1 (CoinRun transitions from a
dataset's shards), 5.2 (a Heist observation), the edited transitions' figures, and one file per optimisation
snapshot (Figures 5.4-5.14)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from report_fixtures import capture_figures
from test_reward_transitions_data import write_transition_dataset

from nnstructure.report import ch5, ch5_items
from nnstructure.report.engine import write_chapter_report


def frames_shown(fig) -> list[np.ndarray]:
    return [image.get_array() for ax in fig.axes for image in ax.get_images()]


def test_figure_5_1_shows_a_rewarded_and_an_unrewarded_transition_from_the_shards(tmp_path, monkeypatch):
    drawn = capture_figures(monkeypatch)
    dataset = write_transition_dataset(tmp_path / "coinrun", n_shards=2, episodes_per_shard=3, steps=4)
    ch5_items.plot_coinrun_transitions(dataset / "transitions.parquet", tmp_path / "fig_5_1.png")
    fig = drawn["fig_5_1"]
    titles = [ax.get_title() for ax in fig.axes]
    assert [t.split(")")[0] for t in titles] == ["(a", "(b", "(c", "(d"]
    assert all("reward 10" in t for t in titles[:2]) and all("reward 0" in t for t in titles[2:])
    # the panels are the stored frames of the chosen transitions: observation, then next observation
    table = pd.read_parquet(dataset / "transitions.parquet")
    rewarded, unrewarded = ch5_items._example_rows(table, 0)
    shown = frames_shown(fig)
    for k, row in enumerate((rewarded, unrewarded)):
        with np.load(dataset / "shards" / f"shard-{int(row['shard']):05d}.npz") as z:
            frames = z["frames"]
        assert np.array_equal(shown[2 * k], frames[int(row["obs_frame"])])
        assert np.array_equal(shown[2 * k + 1], frames[int(row["next_obs_frame"])])
    # the rewarded next observation is the synthetic dataset's coin frame (a bright square)
    assert shown[1].max() == 255 and shown[3].max() < 255
    assert fig._suptitle.get_text().startswith("Figure 5.1: Examples of CoinRun transitions. Ours: dataset coinrun")


def test_figure_5_1_needs_both_kinds_of_transition(tmp_path):
    dataset = write_transition_dataset(tmp_path / "coinrun", n_shards=1, episodes_per_shard=2, success_rate=0.0)
    with pytest.raises(ValueError, match="no kept transition with reward 10"):
        ch5_items.plot_coinrun_transitions(dataset / "transitions.parquet", tmp_path / "fig_5_1.png")


def test_figure_5_2_is_a_heist_frame_rendered_by_the_game(tmp_path, monkeypatch):
    pytest.importorskip("procgen")
    drawn = capture_figures(monkeypatch)
    ch5_items.plot_heist_observation(tmp_path / "fig_5_2.png", "hard", level=0)
    (image,) = frames_shown(drawn["fig_5_2"])
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8 and image.std() > 0
    assert drawn["fig_5_2"]._suptitle.get_text().startswith("Figure 5.2: An observation from Heist.")


def fake_edits(folder: Path, n: int = 16) -> Path:
    """An edited-transitions folder as the edit step writes it: every frame's first pixel is its variant and index."""
    folder.mkdir(parents=True)
    obs = np.zeros((3, n, 8, 8, 3), np.uint8)
    for v in range(3):
        obs[v, :, 0, 0, 0] = 100 * v + np.arange(n)
    np.savez(folder / "edited_transitions.npz", obs=obs, next_obs=obs + 1, action=np.full((3, n), 7),
             variants=np.array(["original", "translated", "rearranged"]))
    pd.DataFrame([{"index": i, "variant": variant, "shift_cells": -3 if variant == "translated" else 0}
                  for i in range(n) for variant in ("original", "translated", "rearranged")]).to_parquet(
        folder / "edited_transitions.parquet")
    return folder


def test_edit_figures_draw_table_5_2s_transitions_under_their_thesis_names(tmp_path, monkeypatch):
    drawn = capture_figures(monkeypatch)
    edits = fake_edits(tmp_path / "coinrun-edits")
    written = ch5_items.edit_figures([edits], tmp_path / "figures")
    assert sorted(written) == sorted(["fig_5_16", "fig_5_17", *(f"fig_c_{n}" for n in range(8, 14))])
    first_pixels = {stem: [int(image[0, 0, 0]) for image in frames_shown(drawn[stem])[::2]] for stem in written}
    assert first_pixels["fig_5_16"] == [100, 101]  # two translated transitions
    assert first_pixels["fig_c_9"] == list(range(8, 16))  # originals 8-15
    assert first_pixels["fig_c_12"] == list(range(200, 208))  # rearranged 0-7
    assert int(frames_shown(drawn["fig_c_8"])[1][0, 0, 0]) == 1  # beside each observation its next observation
    assert drawn["fig_5_16"]._suptitle.get_text().replace("-\n", "-").replace("\n", " ").startswith(
        "Figure 5.16: Two manually edited CoinRun transitions, where the agent sprite and the coin have been "
        "translated to the left. Ours (coinrun-edits): agent and coin moved 3 cells left")
    (edits / "edited_transitions.npz").unlink()
    with pytest.raises(FileNotFoundError, match="edited_transitions.npz is missing"):
        ch5_items.edit_figures([edits], tmp_path / "again")


def snapshot_images(path: Path, steps: list[int]) -> Path:
    rng = np.random.default_rng(0)
    n = len(steps)
    np.savez(path, steps=np.array(steps), obs=rng.integers(0, 255, (n, 1, 3, 8, 8), dtype=np.uint8),
             next_obs=rng.integers(0, 255, (n, 1, 3, 8, 8), dtype=np.uint8), actions=np.array([0]),
             rewards=np.arange(n, dtype=float)[:, None] * 10)
    return path


def test_one_file_per_snapshot_figure_at_the_steps_the_run_has(tmp_path, monkeypatch):
    drawn = capture_figures(monkeypatch)
    images = pd.DataFrame([
        {"network": "net", "mode": "from-dataset", "path": str(snapshot_images(tmp_path / "a.npz", [0, 8, 16, 32, 64]))},
        {"network": "net", "mode": "from-edits", "path": str(snapshot_images(tmp_path / "b.npz", [0, 8, 16]))}])
    written = ch5.plot_visualization_images(images, tmp_path)
    # a 64-step run has Figures 5.4-5.7 (after 8-64 steps), not 5.8 (128); from edits 5.9 (step 0), 5.10, 5.11
    assert {name for name in written if not name.startswith("fig_5_4_to") and not name.startswith("fig_5_9_to")} == {
        "fig_5_4", "fig_5_5", "fig_5_6", "fig_5_7", "fig_5_9", "fig_5_10", "fig_5_11"}
    fig = drawn["fig_5_6"]
    assert fig.axes[0].get_title(loc="left") == "step 32: predicted reward 30"
    with np.load(tmp_path / "a.npz") as z:
        assert np.array_equal(frames_shown(fig)[0], np.transpose(z["obs"][3, 0], (1, 2, 0)))
    assert drawn["fig_5_9"]._suptitle.get_text().startswith("Figure 5.9 (translated transition")


def test_the_chapter_report_takes_the_data_paths(tmp_path, monkeypatch):
    monkeypatch.setattr(ch5_items, "plot_heist_observation", lambda path, mode="hard": Path(path))  # no procgen here
    dataset = write_transition_dataset(tmp_path / "coinrun", n_shards=1, episodes_per_shard=3)
    inputs = {"transition_paths": pd.DataFrame({"path": [str(dataset / "transitions.parquet")]}),
              "edits_paths": pd.DataFrame({"path": [str(fake_edits(tmp_path / "coinrun-edits"))]})}
    written = write_chapter_report("ch5", inputs, tmp_path / "report")
    figures = {p.name for p in (tmp_path / "report" / "figures").iterdir()}
    assert {"fig_5_1.png", "fig_5_16.png", "fig_c_13.png", "fig_5_15.png"} <= figures
    assert "fig_5_2" in written
