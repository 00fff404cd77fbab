"""The index of the thesis's tables and figures: the thesis's list, where a run has each item, why not otherwise."""

import re
from pathlib import Path

import pytest

from nnstructure.report import index as ix

ROOT = Path(__file__).resolve().parents[1]
THESIS = Path("/work/shared/seeds/000_acc9383770564f1d.txt")


@pytest.fixture(scope="module")
def default_config():
    return ix.load_preset(ROOT / "config.yaml", ROOT / ix.SCHEMA)


@pytest.fixture(scope="module")
def producers():
    return ix.shipped_producers(ROOT)


def expected_ids() -> set[str]:
    """The thesis's numbered result tables and figures, by its numbering (diagrams 3.1, 4.1, 4.2 left out)."""
    ids = {f"Table 3.{n}" for n in range(1, 12)} | {f"Figure 3.{n}" for n in range(2, 20)}
    ids |= {f"Table 4.{n}" for n in range(1, 7)} | {"Figure 4.3", "Figure 4.4"}
    ids |= {f"Table 5.{n}" for n in range(1, 11)} | {f"Figure 5.{n}" for n in range(1, 20)}
    ids |= {f"Table A.{n}" for n in range(1, 12)} | {f"Figure A.{n}" for n in range(1, 4)}
    ids |= {"Table B.1", "Table B.2"} | {f"Figure C.{n}" for n in range(1, 22)}
    return ids


def test_the_thesis_list_has_its_103_tables_and_figures_once_each():
    items = ix.load_thesis_items()
    assert len(items) == 103 and items["id"].is_unique
    assert set(items["id"]) == expected_ids()
    assert all(kind == item.split()[0].lower() for item, kind in zip(items["id"], items["kind"]))
    assert all(item.split()[1].split(".")[0] == chapter for item, chapter in zip(items["id"], items["chapter"]))
    assert items["title"].str.len().gt(10).all()


@pytest.mark.skipif(not THESIS.exists(), reason="the thesis text is not on this machine")
def test_the_thesis_list_is_every_numbered_caption_of_the_thesis():
    captions = set(re.findall(r"^((?:Table|Figure) [0-9A-C]+\.[0-9]+):", THESIS.read_text(), re.M))
    assert captions - {"Figure 3.1", "Figure 4.1", "Figure 4.2"} == set(ix.load_thesis_items()["id"])


def test_every_thesis_item_has_a_place_or_a_reason():
    assert set(ix.PLACES) == set(ix.load_thesis_items()["id"])
    assert ix.GPU_ITEMS <= set(ix.PLACES) and set(ix.DATA_ITEMS) <= set(ix.PLACES)


def test_the_index_lists_every_thesis_item_with_counts_at_the_top(tmp_path, default_config, producers):
    index = ix.thesis_index(default_config, tmp_path, producers)
    text = ix.index_markdown(index, "default")
    rows = [line for line in text.splitlines() if line.startswith("| Table ") or line.startswith("| Figure ")]
    assert [row.split(" | ")[0][2:] for row in rows] == list(ix.load_thesis_items()["id"])
    head = text.split("| Id |")[0]
    counts = dict(re.findall(r"^\| ([^|]+?) \| (\d+) \|$", head, re.M))
    assert sum(map(int, counts.values())) == 103 and counts[ix.PRODUCED] == "0"


def fake_default_run(run: Path) -> list[str]:
    """Some of the files a default-preset run writes, as the chapter reports name them."""
    files = ["report/ch3/tables/table_a_1.md", "report/ch3/figures/fig_3_3.png",
             "report/ch3/figures/fig_3_7.png", "report/ch4/tables/table_4_1.md",
             "report/ch5/figures/fig_5_3_coinrun-reward-40-epochs.png", "report/ch5/figures/fig_5_3_coinrun-adversarial.png",
             "report/ch5_part2/tables/table_5_10.md", "report/ch5/figures/fig_c_8.png",
             "report/ch5/figures/fig_5_1.png", "report/ch5/figures/fig_5_6.png"]
    for name in files:
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        (run / name).write_text("made")
    return files


def test_on_a_fake_run_the_index_finds_the_files_and_says_why_the_others_are_missing(tmp_path, default_config,
                                                                                     producers):
    fake_default_run(tmp_path)
    index = ix.thesis_index(default_config, tmp_path, producers).set_index("id")
    assert index.loc["Table A.1", "files"] == ["report/ch3/tables/table_a_1.md"]
    assert index.loc["Figure 3.3", "files"] == ["report/ch3/figures/fig_3_3.png"]
    assert index.loc["Figure 3.3", "reason"] == "from mlp-mnist (pruned networks)"
    assert index.loc["Figure 3.2", "status"] == ix.NOT_WRITTEN  # its own file, not the overview scatter
    assert index.loc["Figure 3.7", "files"] == ["report/ch3/figures/fig_3_7.png"]
    assert index.loc["Figure 5.3", "files"] == ["report/ch5/figures/fig_5_3_coinrun-adversarial.png",
                                                 "report/ch5/figures/fig_5_3_coinrun-reward-40-epochs.png"]
    for item in ("Table 4.1", "Table 5.10", "Figure C.8", "Figure 5.1", "Figure 5.6"):
        assert index.loc[item, "status"] == ix.PRODUCED, item
    assert index.loc["Figure 5.6", "files"] == ["report/ch5/figures/fig_5_6.png"]
    # the preset makes it, but the run did not write it
    assert index.loc["Table 4.2", "status"] == ix.NOT_WRITTEN
    assert "report/ch4/tables/table_4_2.md" in index.loc["Table 4.2", "reason"]
    # not in this preset: a cheap one is left out, VGG ones need a GPU (and CIFAR-10); each says which preset makes it
    assert index.loc["Table A.2", "status"] == ix.LEFT_OUT and "paper" in index.loc["Table A.2", "presets"]
    assert index.loc["Table A.6", "status"] == ix.NEEDS_GPU and "CIFAR-10" in index.loc["Table A.6", "reason"]
    assert index.loc["Table 5.4", "presets"] == ["ch5-cpu", "paper"]
    assert index.loc["Figure C.14", "status"] == ix.NOT_WRITTEN
    assert index.loc["Figure 5.2", "status"] == ix.NOT_WRITTEN  # the preset makes it; this fake run did not
    assert {"default", "mnist-a1", "paper"} <= set(index.loc["Table A.1", "presets"])
    text = ix.index_markdown(index.reset_index(), "default")
    assert ("| Table A.1 | Clusterability of MLPs trained on MNIST | [report/ch3/tables/table_a_1.md]"
            "(../report/ch3/tables/table_a_1.md) (from mlp-mnist) |") in text
    assert "| Table A.2 | Clusterability of MLPs trained on Fashion-MNIST | not produced: left out of this preset" in text


def test_entries_skipped_for_missing_cifar10_are_named_as_the_reason(tmp_path, monkeypatch, default_config, producers):
    monkeypatch.setenv("NNSTRUCTURE_OFFLINE", "1")
    config = ix.load_preset(ROOT / "config" / "paper.yaml", ROOT / ix.SCHEMA)
    config["data_dir"] = str(tmp_path / "no-data")
    index = ix.thesis_index(config, tmp_path / "run", producers).set_index("id")
    assert index.loc["Table A.6", "status"] == ix.NEEDS_DATA
    assert index.loc["Table A.6", "reason"] == f"{ix.NEEDS_DATA} (CIFAR-10 not found): vgg-cifar10 skipped"
    assert index.loc["Table 4.3", "status"] == ix.NEEDS_DATA
    assert index.loc["Table A.7", "status"] == ix.NEEDS_DATA and "ImageNet weights" in index.loc["Table A.7", "reason"]
    # the random-init VGGs read no data: Figure A.3 is expected (not blocked) even without CIFAR-10
    assert index.loc["Figure A.3", "status"] == ix.NOT_WRITTEN


def test_what_each_shipped_preset_makes(producers):
    made_by = {preset: {item for item, presets in producers.items() if preset in presets}
               for preset in ("default", "paper", "ch5-cpu", "mnist-a1")}
    assert len(made_by["default"]) == 49 and {"Figure 3.7", "Figure 5.1", "Figure 5.2", "Figure C.21"} <= made_by["default"]
    assert made_by["mnist-a1"] == {"Table A.1", "Figure 3.2", "Figure 3.3"}
    assert len(made_by["paper"]) == 103  # every item
    # the default preset's visualisations stop at 64 steps: no 128-step snapshots (Figures 5.8, 5.14)
    assert {"Figure 5.7", "Figure 5.13"} <= made_by["default"] and not {"Figure 5.8", "Figure 5.14"} & made_by["default"]


def test_adversarial_example_epochs_are_those_training_makes():
    from nnstructure.reward.adversarial import generation_epochs

    for epochs, first in ((10, 5), (3, 2), (4, 4)):
        assert list(ix.example_epochs({"epochs": epochs, "first_adversarial_epoch": first})) == generation_epochs(epochs, first)


@pytest.mark.parametrize("preset", ["config.yaml", "config/paper.yaml", "config/ch5-cpu.yaml"])
def test_every_indexed_file_is_a_chapter_reports(preset):
    """The index job waits for the chapter reports only (their scorecards are its inputs): every file it points to
    must be theirs."""
    config = ix.load_preset(ROOT / preset, ROOT / ix.SCHEMA)
    for item in ix.PLACES:
        plan = ix.locate(item, config)
        if plan is not None:
            assert all(re.match(r"report/(ch3|ch4|ch5|ch5_part2)/(tables|figures)/", f) for f in plan.files), item


def test_second_half_edit_figures_need_nine_edited_transitions(default_config):
    """Figures C.9, C.11 and C.13 draw edited transitions 9-16: a preset editing fewer transitions does not
    expect them (the smoke run's 2 edits), while C.8 (transitions 1-8) stays expected."""
    import copy

    few = copy.deepcopy(default_config)
    for settings in few["transitions"].values():
        settings["edits"] = 2
    assert ix.locate("Figure C.8", few) is not None and ix.locate("Figure C.14", few) is not None
    assert all(ix.locate(item, few) is None for item in ("Figure C.9", "Figure C.11", "Figure C.13"))
    assert int(default_config["transitions"]["coinrun"]["edits"]) == 16
    assert all(ix.locate(item, default_config) is not None for item in ("Figure C.9", "Figure C.11", "Figure C.13"))
