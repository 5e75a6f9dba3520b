"""Settings as command-line flags: ``--redis-url``, ``--concurrency``… for the settings
a command takes (:func:`add_setting_flags`), read back into one
:class:`~backend.config.Settings` with the environment (:func:`settings_from_args`).
A flag wins over its environment variable; an error names the flag that gave the
bad value.
"""

from __future__ import annotations

import argparse
from typing import Any

from backend.config import Settings, env_name, load_settings


class SettingFlag(argparse.Action):
    """Stores a setting's flag value, and which flag gave it (for error messages)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if self.dest == "tasks_module":
            values = [*getattr(namespace, self.dest, []), values]
        setattr(namespace, self.dest, values)
        flags = namespace.__dict__.setdefault("setting_flags", {})
        flags[self.dest] = option_string


def add_setting_flags(parser: argparse.ArgumentParser, *fields: str) -> None:
    """Add ``--<field>`` flags for these settings; unset flags leave the environment be."""
    for field in fields:
        info = Settings.model_fields[field]
        flag, metavar = "--" + field.replace("_", "-"), field.split("_")[-1].upper()
        if field == "tasks_module":
            flag, metavar = "--tasks", "MODULE"
        parser.add_argument(
            flag,
            dest=field,
            action=SettingFlag,
            default=argparse.SUPPRESS,
            help=f"{info.description} [env {env_name(field)}]",
            metavar=metavar,
        )


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings from the environment and the flags parsed into ``args``."""
    given = {k: v for k, v in vars(args).items() if k in Settings.model_fields}
    return load_settings(getattr(args, "setting_flags", None), **given)
