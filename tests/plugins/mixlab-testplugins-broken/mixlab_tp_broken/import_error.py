"""Fails at import, as a plugin with a missing dependency does."""

import mixlab_dependency_that_is_not_installed  # noqa: F401


def tasks():
    return []
