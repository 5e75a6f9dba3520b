"""The manager's routes: :mod:`.tasks` (submit and inspect tasks) and :mod:`.cluster`
(workers, figures, health, metrics)."""
