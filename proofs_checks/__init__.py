"""Executable checks of the lemmas csqbound relies on (THEORY.md).

Each ``check_*.py`` module holds a ``check_*`` function that verifies a lemma
exhaustively on a small space, or exactly on examples, and returns what it
counted; ``python -m proofs_checks.check_<name>`` prints a short table and exits
non-zero on a failure. The matching ``test_check_*.py`` file runs it under pytest.
"""
