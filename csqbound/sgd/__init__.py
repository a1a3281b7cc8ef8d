"""The SGD reference runner: online SGD on two-layer networks (THEORY.md section 6).

* :mod:`csqbound.sgd.backend` — array backends (numpy, cupy, torch,
  array_api_strict), device transfers, host random streams.
* :mod:`csqbound.sgd.network` — the network, its activations and analytic gradients.
* :mod:`csqbound.sgd.train` — :func:`csqbound.sgd.train.train`: replicas side by
  side, coefficient tracking on a fixed test set, the :class:`Run` record.
* :mod:`csqbound.sgd.plateaus` — plateaus of the loss curve, learning times,
  the predicted stage order.

The submodules keep their names (``csqbound.sgd.train`` is the module, the
function is ``csqbound.sgd.train.train``).

Examples
--------
>>> from csqbound.sgd.train import train
>>> run = train("x1 + x1*x2", d=8, replicas=2, samples=2000)
>>> run.status
('ok', 'ok')
"""

from __future__ import annotations

from csqbound.sgd import backend, network, plateaus, train
from csqbound.sgd.train import Run

__all__ = ["Run", "backend", "network", "plateaus", "train"]
