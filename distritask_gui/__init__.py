"""Distritask's desktop control panel (PySide6 + qasync).

Qt lives only in this package; it reaches Redis only through ``backend``'s public
functions, from the asyncio side of one bridge object. Importing the package itself
loads no Qt (``options`` is read by ``distritask --help``).

``PART`` declares the panel to the ``distritask`` command (entry point
``distritask.parts: panel`` in ``pyproject.toml``): bare ``distritask`` runs it.
"""

from backend.parts import Part

PART = Part(
    module="distritask_gui.app",
    summary="open the desktop control panel",
    options="distritask_gui.options",
)
