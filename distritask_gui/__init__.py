"""Distritask's desktop control panel (PySide6 + qasync).

Qt lives only in this package; it reaches Redis only through ``backend``'s public
functions, from the asyncio side of one bridge object. Importing the package itself
loads no Qt (``options`` is read by ``distritask --help``).
"""
