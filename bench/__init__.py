"""``distritask bench``: how fast Distritask runs and shows tasks, against the raw Redis limit.

Installed as the package ``distritask_bench`` (the ``bench/`` folder of a checkout),
so ``distritask bench`` works from the console script and ``python -m bench`` from a
checkout. Parts, each one module:

* :mod:`.raw` the raw limit: redis-py pipelines doing what a Streams worker must do;
* :mod:`.end_to_end` ``noop`` tasks through real ``distritask worker`` processes;
* :mod:`.panel` the panel's real models and bridge under a paced stream of updates
  (run in a child process, :mod:`.panel_probe`, fed by :mod:`.publisher`);
* :mod:`.report` the markdown table and the JSON file; :mod:`.run` the command.

``PART`` declares the bench to the ``distritask`` command (entry point
``distritask.parts: bench`` in ``pyproject.toml``).
"""

from backend.parts import Part

PART = Part(
    module="distritask_bench.run",
    summary="measure throughput and latency against the raw Redis limit",
)
