"""User-facing errors: one clear sentence, no traceback at the command line."""

from __future__ import annotations


class ContrastkitError(Exception):
    """A mistake in the user's input (data, config, arguments) that they can fix.

    The command line prints the message and exits with status 2 instead of a traceback.
    """


class DatasetNotFoundError(ContrastkitError, FileNotFoundError):
    """A dataset's files are missing; the message says how to install or point to them."""


class DataFormatError(ContrastkitError, ValueError):
    """A data file exists but does not hold what its format promises (names file and field)."""


class ConfigError(ContrastkitError, ValueError):
    """A configuration value is unknown, of the wrong type or out of range (names the key)."""


class MissingExtraError(ContrastkitError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""
