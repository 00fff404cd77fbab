"""Chapter 5: reward models trained on procgen (CoinRun, Heist) transitions.

Modules (importing this package imports none of them, and nothing here imports
procgen: only :mod:`nnstructure.reward.env` does, lazily, when an environment is made):

- :mod:`~nnstructure.reward.env`: procgen environments, actions, level control.
- :mod:`~nnstructure.reward.state`: parser and byte-level editor of procgen's
  serialised game state (agent, coin/gem, keys, doors, grid), distance features.
- :mod:`~nnstructure.reward.terminal`: the real last frame of an episode
  (procgen resets before it renders it) and rendering with a fixed camera.
- :mod:`~nnstructure.reward.policies`: CoinRun lookahead, Heist maze search, random.
- :mod:`~nnstructure.reward.rollout` / :mod:`~nnstructure.reward.shards`: seeded
  rollouts written as dataset shards, the merge into ``transitions.parquet`` and
  ``summary.parquet``, and the import of rollouts in the imitation library's npz layout.
- :mod:`~nnstructure.reward.edits`: Table 5.2's edited transitions, made by
  editing the game state and rendering it with the game.
- :mod:`~nnstructure.reward.transitions`: reading a dataset folder one shard at a
  time (``TransitionDataset``, ``load_transitions``).
- :mod:`~nnstructure.reward.nets`: training reward nets (``train_reward_net``) with
  the one training loop; the architecture is :mod:`nnstructure.models.reward`.
- :mod:`~nnstructure.reward.noise`: out-of-distribution tests: random noise
  (Table 5.1) and predictions on the edited transitions (Table 5.2).
- :mod:`~nnstructure.reward.visualize`: inputs optimised for predicted reward
  (de novo in Fourier space, from dataset or edited transitions; thesis 5.4).
"""
