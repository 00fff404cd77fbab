"""Chapter 5 (part 2) workflow steps, each ``(input paths, output paths, settings) -> None``.

:func:`probe_features` runs a network once and caches its pooled layers (one job
per network x initialisation); :func:`probe_fit` fits one (layer, target,
filtered?) probe on a cache (one job per cell); :func:`dots_net` trains a
dots-and-distances network (thesis 5.9). The scripts in ``workflow_scripts/`` call
them with a rule's params as the settings; ``nnstructure probe-features |
probe-fit | dots-net`` parse their options into the same settings, and
``nnstructure probe`` does both probe steps for one cell (:func:`probe`).

Settings are plain values; their defaults are the ``*_DEFAULTS`` tables here (a
dots network's: :data:`nnstructure.reward.settings.DOTS_NET_SETTINGS`), the
commands' option defaults. A network's name in the results, the device and the
progress bar are keyword arguments.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from nnstructure.probe.schedule import LR_SWEEP, MAX_EPOCHS
from nnstructure.step_settings import as_float, as_int, step_settings, table_settings

#: ``probe_features``: the layers cached and the inputs (a transition dataset folder, or a fresh dots dataset
#: from ``dots_seed``), the network (trained, or a random one of its architecture drawn from ``random_init``).
FEATURES_DEFAULTS: dict[str, Any] = {
    "layers": [1, 2, 3, 4], "dots_seed": None, "dots_n": 90_000, "transitions_n": None, "random_init": None,
    "batch_size": 256,
}
#: ``probe_fit``: the layer and target (required), the rows and the two probes' fits.
FIT_DEFAULTS: dict[str, Any] = {
    "filtered": False, "epochs": None, "thesis_network": None, "probe_batch_size": 128, "lr": 1e-3,
    "lr_sweep": LR_SWEEP, "max_epochs": MAX_EPOCHS, "raw_features": False, "thesis_adam": False, "ridge": 1e-8,
    "split": "dataset", "seed": 0, "fit_device": "cpu",
}


def probe_features(checkpoint, out, settings: Mapping[str, Any], *, dataset=None, network: str | None = None,
                   device="auto", progress: bool = True, allow_pickle: bool = False) -> None:
    """Cache the space-pooled ReLU layers of the network ``checkpoint`` over the transition dataset folder
    ``dataset`` (or a fresh dots dataset: setting ``dots_seed``) in the folder ``out``."""
    cache = _cache(checkpoint, out, _features_settings(settings), dataset=dataset, network=network, device=device,
                   progress=progress, allow_pickle=allow_pickle)
    print(json.dumps({"out": str(cache.path), "layers": cache.layers, "n_rows": len(cache.rows), "widths": cache.metadata["widths"]}))


def probe_fit(features, out, settings: Mapping[str, Any], *, json_row: bool = False) -> None:
    """Fit the Adam and closed-form probes of one layer for one target on the feature cache ``features``:
    one results row in ``out`` (none if ``None``), printed as JSON (``json_row``) or summarised."""
    from nnstructure.probe.features import load_feature_cache

    s = _fit_settings(settings)
    _fit_and_report(load_feature_cache(features), s, out, json_row)


def probe(checkpoint, out, settings: Mapping[str, Any], *, dataset=None, cache=None, network: str | None = None,
          device="auto", progress: bool = True, json_row: bool = False, allow_pickle: bool = False) -> None:
    """:func:`probe_features` of the probed layer only (in the folder ``cache``, or a temporary one), then
    :func:`probe_fit`; ``settings`` holds the settings of both."""
    import tempfile

    given = dict(settings)
    s = _fit_settings({k: v for k, v in given.items() if k in FIT_DEFAULTS or k in ("layer", "target")})
    features = _features_settings({k: v for k, v in given.items() if k in FEATURES_DEFAULTS} | {"layers": [s["layer"]]})
    unknown = [k for k in given if k not in FIT_DEFAULTS and k not in FEATURES_DEFAULTS and k not in ("layer", "target")]
    if unknown:
        raise ValueError(f"probe: unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
    if cache is not None:
        _fit_and_report(_cache(checkpoint, cache, features, dataset=dataset, network=network, device=device,
                               progress=progress, allow_pickle=allow_pickle), s, out, json_row)
        return
    with tempfile.TemporaryDirectory(prefix="nnstructure-probe-") as tmp:
        _fit_and_report(_cache(checkpoint, tmp, features, dataset=dataset, network=network, device=device,
                               progress=progress, allow_pickle=allow_pickle), s, out, json_row)


def dots_net(out, settings: Mapping[str, Any], *, seed: int, log=None, row=None, network: str | None = None,
             workers: int = 0, device="auto", progress: bool = True) -> None:
    """Train a dots-and-distances network (settings: :data:`~nnstructure.reward.settings.DOTS_NET_SETTINGS`) on
    images made on the fly into the checkpoint ``out``; ``log``: per-epoch metrics, ``row``: its results row."""
    import pandas as pd

    from nnstructure.io import write_parquet
    from nnstructure.probe.dots_nets import dots_net_row, train_dots_net
    from nnstructure.reward.settings import DOTS_NET_SETTINGS

    s = table_settings("dots_net", settings, DOTS_NET_SETTINGS)
    missing = [name for name in ("task", "n_train", "epochs") if name not in s]
    if missing:
        raise ValueError(f"dots_net: setting{'s' if len(missing) > 1 else ''} {', '.join(missing)} required")
    train = {k: v for k, v in s.items() if k not in ("task", "n_train", "n_test", "data_seed")}  # the training's own
    train_dots_net(s["task"], s["n_train"], s["n_test"], train, as_int(seed), out, data_seed=s["data_seed"],
                   workers=as_int(workers), log=log, device=device, progress=progress)
    result = dots_net_row(out, network)
    if row:
        write_parquet(pd.DataFrame([result]), row)
    print(json.dumps(result))


# ---------------------------------------------------------------------------------------------


def _features_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    s = step_settings("probe_features", settings, FEATURES_DEFAULTS)
    layers = [as_int(v) for v in s["layers"]]
    if not layers:
        raise ValueError("probe_features: layers needs at least one layer index")
    return {"layers": layers, "dots_seed": as_int(s["dots_seed"]), "dots_n": as_int(s["dots_n"]),
            "transitions_n": as_int(s["transitions_n"]),
            "random_init": as_int(s["random_init"]), "batch_size": as_int(s["batch_size"])}


def _fit_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    s = step_settings("probe_fit", settings, FIT_DEFAULTS, required=("layer", "target"))
    s.update(layer=as_int(s["layer"]), filtered=bool(s["filtered"]), epochs=as_int(s["epochs"]),
             thesis_network=s["thesis_network"] or None, probe_batch_size=as_int(s["probe_batch_size"]),
             lr=as_float(s["lr"]), lr_sweep=tuple(as_float(v) for v in s["lr_sweep"]), max_epochs=as_int(s["max_epochs"]),
             ridge=as_float(s["ridge"]), seed=as_int(s["seed"]))
    return s


def _cache(checkpoint, out, s: Mapping[str, Any], *, dataset, network, device, progress, allow_pickle=False):
    from nnstructure.probe.sources import cache_features

    if dataset is None and s["dots_seed"] is None:
        raise ValueError("give the probe's inputs: --dataset DIR (transition dataset) or --dots-seed SEED (fresh dots images)")
    return cache_features(checkpoint, out, s["layers"], dataset=dataset, dots_seed=s["dots_seed"], dots_n=s["dots_n"],
                          transitions_n=s["transitions_n"],
                          random_init_seed=s["random_init"], network=network, batch_size=s["batch_size"],
                          device=device, progress=progress, allow_pickle=allow_pickle)


def _epochs(s: Mapping[str, Any]) -> int:
    if s["epochs"] is not None:
        return s["epochs"]
    if s["thesis_network"] is not None:
        from nnstructure.probe.schedule import thesis_probe_epochs

        return thesis_probe_epochs(s["thesis_network"], s["layer"], s["target"], s["filtered"])
    return 5


def _fit_and_report(cache, s: Mapping[str, Any], out, json_row: bool) -> None:
    import pandas as pd

    from nnstructure.io import write_parquet
    from nnstructure.probe.run import probe_row

    epochs = _epochs(s)
    thesis = s["thesis_adam"]
    row = probe_row(cache, s["layer"], s["target"], s["filtered"], epochs, s["probe_batch_size"], s["lr"],
                    s["seed"], s["split"], s["ridge"], s["fit_device"], standardize=not (s["raw_features"] or thesis),
                    lr_sweep=() if thesis else s["lr_sweep"], max_epochs=epochs if thesis else s["max_epochs"])
    if s["thesis_network"] is not None:
        row["thesis_network"] = s["thesis_network"]
    if out:
        write_parquet(pd.DataFrame([row]), out)
    if json_row:
        print(json.dumps(row))
    else:
        print(f"{row['network']} ({row['init']}) layer {row['layer']} {row['target']}{' filtered' if row['filtered'] else ''}: "
              f"Adam {row['adam_test_loss']:.4g} ({row['adam_method']}), closed form {row['closed_form_test_loss']:.4g} "
              f"({'converged' if row['converged'] else 'NOT converged'}: ratio {row['adam_to_closed_form']:.3g}), "
              f"mean guess {row['mean_loss']:.4g}; {row['n_train']} train / {row['n_test']} test")
