"""Errors a user can cause. Each message says what was wrong and where, in one line."""


class LatentlabError(Exception):
    """Base class: bad input, a bad file, a wrong name or value."""


class ConfigError(LatentlabError, ValueError):
    """A configuration value is unknown, missing or out of range."""


class DatasetError(LatentlabError):
    """A dataset name is unknown or its files are missing or malformed."""


class CheckpointError(LatentlabError):
    """A checkpoint is missing, truncated, hostile or does not match its config."""


class ImageError(LatentlabError):
    """A user image cannot be opened safely or is refused."""


class DivergedError(LatentlabError):
    """Training hit a non-finite loss or gradient."""


class Cancelled(LatentlabError):
    """A long operation stopped because its caller's `should_stop()` returned True; it wrote
    nothing (no partial cache file)."""
