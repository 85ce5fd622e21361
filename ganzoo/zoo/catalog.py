"""The catalog: every model, loss, dataset source, metric, augmentation and preset the loaded
plugins registered.

Each plugin's hooks are called one plugin at a time with a ``register`` callback that
records attribution, checks every field of each descriptor (so nothing a plugin registers
can break ``ganzoo list``) and rejects duplicates. A plugin whose hook raises anything but
``KeyboardInterrupt`` (or registers an invalid descriptor, or a name another plugin already
has) is marked failed and none of its registrations are kept, so the catalog never holds
half a plugin.
"""

from __future__ import annotations

import contextlib
import difflib
import fnmatch
import sys
from dataclasses import dataclass
from typing import Any

from ganzoo.core.errors import UnknownNameError
from ganzoo.zoo.descriptors import AugmentInfo, DatasetInfo, LossInfo, MetricInfo, ModelInfo
from ganzoo.zoo.plugins import fail, load_plugins, new_plugin_manager
from ganzoo.zoo.presets import PresetInfo, match_rank
from ganzoo.zoo.reasons import describe, is_interrupt
from ganzoo.zoo.records import PluginRecord
from ganzoo.zoo.validation import check_descriptor

KINDS = ("model", "loss", "dataset", "metric", "augment", "preset")
_HOOKS = {
    "register_models": ("model", ModelInfo),
    "register_losses": ("loss", LossInfo),
    "register_datasets": ("dataset", DatasetInfo),
    "register_metrics": ("metric", MetricInfo),
    "register_augmentations": ("augment", AugmentInfo),
    "register_presets": ("preset", PresetInfo),
}

# How an error names a kind.
_WORDS = {"dataset": "dataset source", "augment": "augmentation"}


@dataclass(frozen=True)
class Entry:
    """A registered descriptor and the plugin that gave it."""

    info: Any
    plugin: PluginRecord

    @property
    def kind(self) -> str:
        return self.info.kind

    @property
    def name(self) -> str:
        return self.info.name

    def as_dict(self) -> dict[str, Any]:
        out = {
            "kind": self.kind,
            "name": self.name,
            "description": self.info.description,
            "plugin": self.plugin.name,
            "distribution": self.plugin.distribution,
            "version": self.plugin.version,
        }
        if self.kind == "preset":
            out.update(
                models=list(self.info.models),
                datasets=list(self.info.datasets),
                settings={k: _plain(v) for k, v in self.info.settings.items()},
                flags=self.info.summary(),
                evidence=self.info.evidence,
            )
        options = getattr(self.info, "options", ())
        if options:
            out["options"] = [o.as_dict() for o in options]
        if self.kind == "model":
            info = self.info
            if info.step_options:
                out["step_options"] = [o.as_dict() for o in info.step_options]
            out["family"] = {
                "networks": list(info.networks),
                "optimizers": [
                    {
                        "name": g.name,
                        "networks": list(g.networks),
                        "role": g.role,
                        "lr": g.lr,
                        "betas": list(g.betas),
                    }  # fmt: skip
                    for g in info.optimizers
                ],
                "ema": list(info.ema),
                "use": info.use,
                "needs": list(info.needs),
                "default_loss": info.default_loss,
                "default_dataset": info.default_dataset,
            }
        provides = getattr(self.info, "provides", None)
        if self.kind == "dataset" and provides:
            out["provides"] = list(provides)
        defaults = getattr(self.info, "train_defaults", None)
        if defaults:
            out["train_defaults"] = dict(defaults)
        return out


def _plain(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else value


class DuplicateNameError(Exception):
    pass


def _and(labels: list[str], limit: int = 3) -> str:
    """``a``, ``a and b``, ``a, b and c``, ``a, b, c and 2 more``."""
    shown, rest = labels[:limit], len(labels) - limit
    if rest > 0:
        return f"{', '.join(shown)} and {rest} more"
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


class Catalog:
    def __init__(self) -> None:
        self.plugins: list[PluginRecord] = []
        self._entries: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}

    @classmethod
    def from_entry_points(cls, entry_points: list | None = None) -> Catalog:
        catalog = cls()
        pm = new_plugin_manager()
        catalog.plugins = load_plugins(pm, entry_points)
        for record in catalog.plugins:
            if record.status == "ok":
                catalog._register_plugin(pm, record)
        return catalog

    def _register_plugin(self, pm: Any, record: PluginRecord) -> None:
        staged: list[Entry] = []

        def make_register(kind: str, info_type: type, problems: list[str], open_: list[bool]):
            def register(info: Any, **_future: Any) -> None:
                try:
                    if not open_:
                        raise RuntimeError("register called after the hook returned")
                    # type(), not isinstance(): an object can claim any __class__.
                    if not issubclass(type(info), info_type):
                        raise TypeError(
                            f"expected a {info_type.__name__}, got {type(info).__name__}"
                        )
                    check_descriptor(info, kind)
                except BaseException as exc:
                    problems.append(describe(exc))
                    raise
                taken = self._entries[kind].get(info.name) or next(
                    (e for e in staged if e.kind == kind and e.name == info.name), None
                )
                if taken is not None:
                    message = (
                        f"{kind} {info.name!r} from plugin {record.label} is already "
                        f"registered by plugin {taken.plugin.label}"
                    )
                    problems.append(f"duplicate name: {message}")
                    raise DuplicateNameError(message)
                staged.append(Entry(info, record))

            return register

        for hook_name in record.hooks:
            if hook_name not in _HOOKS:
                continue
            kind, info_type = _HOOKS[hook_name]
            impl = next(
                (
                    i
                    for i in getattr(pm.hook, hook_name).get_hookimpls()
                    if i.plugin is record.module_object
                ),
                None,
            )
            if impl is None:
                continue
            problems: list[str] = []
            open_ = [True]
            try:
                # Whatever a hook prints goes to stderr: stdout may be JSON.
                with contextlib.redirect_stdout(sys.stderr):
                    impl.function(register=make_register(kind, info_type, problems, open_))
            except DuplicateNameError as exc:
                fail(record, f"duplicate name: {exc}")
            except BaseException as exc:  # SystemExit too: a hook must not break the catalog
                if is_interrupt(exc):
                    raise
                fail(record, f"hook {hook_name} raised {describe(exc)}")
            else:
                if problems:  # the hook caught what register raised and carried on
                    fail(record, f"hook {hook_name} ignored an error from register: {problems[0]}")
            finally:
                open_.clear()
            if record.status == "failed":
                return
        for entry in staged:
            self._entries[entry.kind][entry.name] = entry
            record.provides.append(f"{entry.kind}:{entry.name}")

    def failed_plugins(self) -> list[PluginRecord]:
        return [record for record in self.plugins if record.status == "failed"]

    def names(self, kind: str) -> list[str]:
        return sorted(self._entries[kind])

    def entries(self, kind: str | None = None, pattern: str | None = None) -> list[Entry]:
        kinds = KINDS if kind is None else (kind,)
        out = []
        for k in kinds:
            for name in sorted(self._entries[k]):
                if pattern is None or fnmatch.fnmatchcase(name, pattern):
                    out.append(self._entries[k][name])
        return out

    def get(self, kind: str, name: str) -> Entry:
        entry = self._entries[kind].get(name)
        if entry is not None:
            return entry
        close = difflib.get_close_matches(name, self.names(kind), n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        available = ", ".join(self.names(kind)) or "none installed"
        word = _WORDS.get(kind, kind)
        message = f"unknown {word} {name!r}{hint} (available: {available})"
        failed = self.failed_plugins()
        if failed:
            plugins = "plugin" if len(failed) == 1 else "plugins"
            message += (
                f"; {plugins} {_and([r.label for r in failed])} failed to load and may have "
                "provided it (see `ganzoo plugins`)"
            )
        raise UnknownNameError(message)

    def model(self, name: str) -> Entry:
        return self.get("model", name)

    def loss(self, name: str) -> Entry:
        return self.get("loss", name)

    def dataset(self, name: str) -> Entry:
        return self.get("dataset", name)

    def metric(self, name: str) -> Entry:
        return self.get("metric", name)

    def augment(self, name: str) -> Entry:
        return self.get("augment", name)

    def preset(self, name: str) -> Entry:
        return self.get("preset", name)

    def default_preset(self, model: str, dataset: str, data_kind: str) -> Entry | None:
        """The preset for this model on this data: one made for the data set by name beats one
        for its data kind; among equals, the first by name."""
        ranked = [
            (match_rank(e.info, model, dataset, data_kind), e.name, e)
            for e in self._entries["preset"].values()
        ]
        ranked = [r for r in ranked if r[0] > 0]
        if not ranked:
            return None
        best = max(r[0] for r in ranked)
        return min((r for r in ranked if r[0] == best), key=lambda r: r[1])[2]


_CATALOG: Catalog | None = None


def get_catalog() -> Catalog:
    """The process-wide catalog, built on first use."""
    global _CATALOG
    if _CATALOG is None:
        _CATALOG = Catalog.from_entry_points()
    return _CATALOG


def reset_catalog() -> None:
    """Forget the cached catalog (tests change installed plugins and the environment)."""
    global _CATALOG
    _CATALOG = None
