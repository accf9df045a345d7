"""The move service without Ray: the reference AI service's HTTP contract, positions
checked for play, batched move choice, and the play page.

- `api`: request / response models of ``/ai/move`` and ``/ai/moves_batch``, the
  difficulty table (`simulations_for`).
- `positions`: reference JSON -> `GameState`, `StateRejected` (HTTP 400) with the reason.
- `chooser`: `load_model` (``CHECKPOINT[:SIMS]``), the `Searcher` (one compiled batched
  Gumbel search over every position in flight, positions joining between steps) and
  `choose_moves`.
- `play`: what the play page asks (new game, view with SVG and legal moves, apply a move);
  ``play.html`` is the page.

The Ray Serve application that serves these is ``experiments/serve/``.
"""
