"""Transition-generator throughput and the cost of parsing procgen's state.

1. Per-step costs, interleaved on one environment over the same steps (median
   microseconds): the environment step (act + observe), procgen's own
   ``get_state`` (serialisation, in C++), our parse of that buffer plus the
   agent/goal positions, and the rebuild of a last frame (replay without ending).
2. Generator throughput: transitions per second of ``generate_shard`` (state
   reading and parsing, policy, rebuilt terminal frames and the shard write all
   included) in 1 process and in 2 processes generating two shards at once
   (aggregate over the generation loops; also with process start-up, and per
   CPU second, which is what a loaded machine does not distort).

    .venv/bin/python benchmarks/transitions.py [--game coinrun] [--policy lookahead] [--episodes 10]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import tempfile
import time


def per_step_costs(game: str, mode: str, steps: int) -> dict:
    import numpy as np

    from nnstructure.reward import state as st
    from nnstructure.reward.env import GameEnv
    from nnstructure.reward.terminal import replay_step_without_ending

    env, aux = GameEnv(game, mode, 1), GameEnv(game, mode, 1)
    rng = np.random.default_rng(0)
    times: dict[str, list] = {"env_step": [], "get_state": [], "parse_and_positions": [], "rebuild_last_frame": []}
    clock = time.perf_counter
    for i in range(steps):
        action = int(rng.integers(9))
        t0 = clock()
        env.step(action)
        t1 = clock()
        raw = env.get_state()
        t2 = clock()
        st.positions(st.parse_state(raw, game))
        t3 = clock()
        times["env_step"].append(t1 - t0)
        times["get_state"].append(t2 - t1)
        times["parse_and_positions"].append(t3 - t2)
        if i % 10 == 0:
            t4 = clock()
            replay_step_without_ending(aux, raw, action)
            times["rebuild_last_frame"].append(clock() - t4)
    out = {f"{k}_us": 1e6 * statistics.median(v) for k, v in times.items()}
    out["parse_over_step"] = out["parse_and_positions_us"] / out["env_step_us"]
    return out


def _one_shard(args) -> dict:
    game, policy, episodes, shard, out = args
    os.environ["OMP_NUM_THREADS"] = "1"
    from nnstructure.reward.rollout import ShardSpec, generate_shard

    cpu = time.process_time()
    result = generate_shard(ShardSpec(game, shard, episodes, seed=99, policy=policy), out, progress=False)
    result["cpu_seconds"] = time.process_time() - cpu
    return result


def throughput(game: str, policy: str, episodes: int, processes: int) -> dict:
    with tempfile.TemporaryDirectory() as out:
        jobs = [(game, policy, episodes, shard, out) for shard in range(processes)]
        start = time.perf_counter()
        if processes == 1:
            results = [_one_shard(jobs[0])]
        else:
            with mp.get_context("spawn").Pool(processes) as pool:
                results = pool.map(_one_shard, jobs)
        wall = time.perf_counter() - start
    transitions = sum(r["transitions"] for r in results)
    generating = max(r["seconds"] for r in results)  # the processes' generation loops, without start-up
    return {
        "processes": processes, "transitions": transitions, "wall_seconds": wall,
        "transitions_per_second": transitions / generating,
        "transitions_per_second_with_startup": transitions / wall,
        "transitions_per_cpu_second": transitions / sum(r["cpu_seconds"] for r in results),
        "episodes_rewarded": sum(r["episodes_rewarded"] for r in results), "episodes": episodes * processes,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--game", default="coinrun", choices=("coinrun", "heist"))
    ap.add_argument("--policy", default=None, help="default: the game's default policy")
    ap.add_argument("--mode", default="hard", choices=("easy", "hard"))
    ap.add_argument("--steps", type=int, default=2000, help="steps for the per-step costs")
    ap.add_argument("--episodes", type=int, default=10, help="episodes per process for the throughput")
    args = ap.parse_args()
    costs = per_step_costs(args.game, args.mode, args.steps)
    print(json.dumps({"game": args.game, "mode": args.mode, **{k: round(v, 3) for k, v in costs.items()}}))
    for processes in (1, 2):
        result = throughput(args.game, args.policy, args.episodes, processes)
        print(json.dumps({"game": args.game, "policy": args.policy or "default",
                          **{k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()}}))


if __name__ == "__main__":
    main()
