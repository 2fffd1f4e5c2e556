"""Test support shipped with ranvier (importable by other projects' tests).

- `datadriven`: etcd-style scripted transcripts (commands, `----`, exact output).
- `raftenv`: the interaction environment those transcripts drive.
- `simnet`, `raftsim`: the deterministic Raft cluster simulator
  (`python -m ranvier.testing.raftsim --seeds N`).
- `raftbench`: throughput of the core alone.
- `nodes`: real node processes on loopback.

Nothing is imported here, so `import ranvier.testing.x` stays cheap.
"""
