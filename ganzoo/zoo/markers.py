"""The pluggy markers of the ``ganzoo`` project (one project name, one entry-point group)."""

import pluggy

PROJECT = "ganzoo"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
