"""A plugin distribution can break only itself.

``BaseException`` (other than ``KeyboardInterrupt``) on import or in a hook, a module
``__getattr__`` or ``__dir__`` that raises, broken distribution metadata (no Name, no
Version, unreadable or malformed ``entry_points.txt``), an entry point naming a missing
module or attribute, and descriptors with fields of the wrong type: each fails its plugin
with a one-line reason, and every command keeps working. Every broken distribution shares
one site folder, so a handful of ``python -m ganzoo`` subprocesses cover them all.
"""

from __future__ import annotations

import re
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_plugin_failures import BUILTIN_PLUGINS, GOOD, HEADER, FakePlugin, as_json, ganzoo, install

from ganzoo.core.errors import UnknownNameError
from ganzoo.zoo.catalog import Catalog
from ganzoo.zoo.distributions import tolerate_broken_entry_points
from ganzoo.zoo.plugins import DISABLE_ENV, STRICT_ENV
from ganzoo.zoo.reasons import MESSAGE_LIMIT, REASON_LIMIT, describe, one_line
from ganzoo.zoo.records import PluginRecord


@dataclass(frozen=True)
class RawDist:
    """A distribution written file by file, so its metadata can be as broken as needed."""

    folder: str  # the .dist-info folder's name
    metadata: str | bytes | None
    entry_points: str | bytes
    modules: tuple[tuple[str, str], ...] = ()  # (module name, body after HEADER)


def install_raw(site: Path, *dists: RawDist) -> None:
    for dist in dists:
        info = site / dist.folder
        info.mkdir(parents=True)
        for name, content in (("METADATA", dist.metadata), ("entry_points.txt", dist.entry_points)):
            if isinstance(content, str):
                (info / name).write_text(content)
            elif content is not None:
                (info / name).write_bytes(content)
        for module, body in dist.modules:
            (site / f"{module}.py").write_text(HEADER + textwrap.dedent(body))


def metadata(name: str | None = None, version: str | None = "1.0") -> str:
    lines = ["Metadata-Version: 2.1"]
    lines += [f"Name: {name}"] if name else []
    lines += [f"Version: {version}"] if version else []
    return "\n".join(lines) + "\n"


def model_hook(model: str) -> str:
    return f"""
    @hookimpl
    def register_models(register):
        register(ModelInfo(name="{model}", description="-", factory="x:y"))
    """


# --- Import time: BaseException subclasses, module __getattr__ and __dir__ ---------------------

SYSTEM_EXIT = FakePlugin(
    "exits",
    "ganzoo-fake-exits",
    'import sys\nsys.exit("plugin gave up")\n' + textwrap.dedent(model_hook("fake-x1")),
)
# A BaseException subclass whose message is multi-line and enormous: one capped line.
CUSTOM_BASE = FakePlugin(
    "aborts",
    "ganzoo-fake-aborts",
    """
    class PluginAbort(BaseException):
        pass

    raise PluginAbort("first line\\n\\tsecond line " + "x" * 50_000)
    """,
)
HOOK_BASE = FakePlugin(
    "hook_base",
    "ganzoo-fake-hook-base",
    """
    @hookimpl
    def register_models(register):
        register(ModelInfo(name="fake-staged-model", description="-", factory="x:y"))
        raise BaseException("hook blew up")
    """,
)
HOOK_EXIT = FakePlugin(
    "hook_exit",
    "ganzoo-fake-hook-exit",
    """
    @hookimpl
    def register_losses(register):
        raise SystemExit()
    """,
)
# The entry point names an attribute that the module's __getattr__ refuses to produce.
LAZY_GETATTR = """
def __getattr__(name):
    raise {exc}("lazy import of " + name + " failed")
"""
GETATTR_RUNTIME = RawDist(
    "ganzoo_fake_getattr_runtime-1.0.dist-info",
    metadata("ganzoo-fake-getattr-runtime"),
    "[ganzoo]\ngetattr_runtime = getattr_runtime_plugin:hooks\n",
    (("getattr_runtime_plugin", LAZY_GETATTR.format(exc="RuntimeError")),),
)
GETATTR_EXIT = RawDist(
    "ganzoo_fake_getattr_exit-1.0.dist-info",
    metadata("ganzoo-fake-getattr-exit"),
    "[ganzoo]\ngetattr_exit = getattr_exit_plugin:hooks\n",
    (("getattr_exit_plugin", LAZY_GETATTR.format(exc="SystemExit")),),
)
DIR_RAISES = FakePlugin(
    "dir_raises",
    "ganzoo-fake-dir-raises",
    """
    def __dir__():
        raise SystemExit("no listing today")
    """
    + model_hook("fake-dir-model"),
)
# A module-level __getattr__ that raises for every name is harmless while nothing asks for a
# missing attribute: ganzoo looks hooks up statically, as pluggy does.
GETATTR_HARMLESS = FakePlugin(
    "getattr_harmless",
    "ganzoo-fake-getattr-harmless",
    """
    def __getattr__(name):
        raise RuntimeError("nobody should ask for " + name)
    """
    + model_hook("fake-getattr-harmless-model"),
)
# A plugin printing on stdout must not spoil `--json`.
CHATTY = FakePlugin(
    "chatty",
    "ganzoo-fake-chatty",
    """
    print("chatty plugin imported")

    @hookimpl
    def register_models(register):
        print("chatty hook called")
        register(ModelInfo(name="fake-chatty-model", description="-", factory="x:y"))
    """,
)

# --- Broken distribution metadata ----------------------------------------------------------------

NO_NAME = RawDist(
    "ganzoo_fake_noname-1.0.dist-info",
    metadata(name=None),
    "[ganzoo]\nnoname = noname_plugin\n",
    (("noname_plugin", model_hook("fake-noname-model")),),
)
NO_VERSION = RawDist(
    "ganzoo_fake_noversion-1.0.dist-info",
    metadata("ganzoo-fake-noversion", version=None),
    "[ganzoo]\nnoversion = noversion_plugin\n",
    (("noversion_plugin", model_hook("fake-noversion-model")),),
)
UNREADABLE_METADATA = RawDist(
    "ganzoo_fake_badmeta-1.0.dist-info",
    b"Metadata-Version: 2.1\nName: ganzoo-fake-badmeta\xff\nVersion: 1.0\n",
    "[ganzoo]\nbadmeta = badmeta_plugin\n",
    (("badmeta_plugin", model_hook("fake-badmeta-model")),),
)
UNDECODABLE = RawDist(
    "ganzoo_fake_undecodable-1.0.dist-info",
    metadata("ganzoo-fake-undecodable"),
    b"[ganzoo]\nundecodable = undecodable_plugin\n# caf\xe9 in latin-1\n",
    (("undecodable_plugin", model_hook("fake-undecodable-model")),),
)
# One file, every kind of bad line; the good line still loads (once, though configparser
# would refuse it twice). The malformed line in another group would make
# importlib.metadata.entry_points() raise for the whole environment.
MALFORMED = RawDist(
    "ganzoo_fake_malformed-1.0.dist-info",
    metadata("ganzoo-fake-malformed"),
    textwrap.dedent(
        """\
        [console_scripts]
        this line has no equals sign

        [ganzoo]
        no_equals_sign
        bad_value = ::bad
         = nameless_plugin
        well_formed = malformed_ok_plugin
        [unclosed section
        well_formed = malformed_ok_plugin
        """
    ),
    (("malformed_ok_plugin", model_hook("fake-malformed-ok-model")),),
)
# A distribution with no ganzoo entry point is none of ganzoo's business, however broken.
NOT_OURS = RawDist("unrelated_broken-1.0.dist-info", b"\xff\xfe", b"[console_scripts]\n\xff\n")
MISSING_MODULE = RawDist(
    "ganzoo_fake_missing_module-1.0.dist-info",
    metadata("ganzoo-fake-missing-module"),
    "[ganzoo]\nmissing_module = ganzoo_fake_no_such_module\n",
)
MISSING_ATTRIBUTE = RawDist(
    "ganzoo_fake_missing_attr-1.0.dist-info",
    metadata("ganzoo-fake-missing-attr"),
    "[ganzoo]\nmissing_attr = missing_attr_plugin:no_such_hooks\n",
    (("missing_attr_plugin", model_hook("fake-missing-attr-model")),),
)

# --- Descriptors that would break `ganzoo list` ------------------------------------------------

BAD_DESCRIPTION = FakePlugin(
    "bad_description",
    "ganzoo-fake-bad-description",
    """
    @hookimpl
    def register_models(register):
        register(ModelInfo(name="fake-bad-description", description=42, factory="x:y"))
    """,
)
# Frozen, but not beyond object.__setattr__: the host checks what it is given.
BYPASS = FakePlugin(
    "bypass",
    "ganzoo-fake-bypass",
    """
    @hookimpl
    def register_losses(register):
        info = LossInfo(name="fake-bypass-loss", description="-", factory="x:y")
        object.__setattr__(info, "options", ("width",))
        register(info)
    """,
)
SWALLOWED = FakePlugin(
    "swallowed",
    "ganzoo-fake-swallowed",
    """
    @hookimpl
    def register_models(register):
        register(ModelInfo(name="fake-swallowed-model", description="-", factory="x:y"))
        try:
            register({"name": "not a descriptor"})
        except TypeError:
            pass
    """,
)


@dataclass(frozen=True)
class Case:
    module: str  # the record's `module` field: the entry point's value, or the bad line
    reasons: tuple[str, ...]  # each must appear in the one-line reason
    hidden: tuple[str, ...] = ()  # names it registered (or would have), which list must not show


BROKEN = {
    "system-exit-on-import": Case(
        SYSTEM_EXIT.module, ("import failed: SystemExit: plugin gave up",), ("fake-x1",)
    ),
    "base-exception-subclass-on-import": Case(
        CUSTOM_BASE.module, ("import failed: PluginAbort: first line second line xxx", "...")
    ),
    "base-exception-in-hook": Case(
        HOOK_BASE.module,
        ("hook register_models raised BaseException: hook blew up",),
        ("fake-staged-model",),
    ),
    "empty-system-exit-in-hook": Case(
        HOOK_EXIT.module, ("hook register_losses raised SystemExit",)
    ),
    "module-getattr-runtime-error": Case(
        "getattr_runtime_plugin:hooks",
        ("import failed: RuntimeError: lazy import of hooks failed",),
    ),
    "module-getattr-system-exit": Case(
        "getattr_exit_plugin:hooks", ("import failed: SystemExit: lazy import of hooks failed",)
    ),
    "module-dir-raises": Case(
        DIR_RAISES.module,
        ("dir() of the plugin raised SystemExit: no listing today",),
        ("fake-dir-model",),
    ),
    "no-name": Case(
        "noname_plugin",
        ("distribution ganzoo_fake_noname-1.0.dist-info: its METADATA has no Name",),
        ("fake-noname-model",),
    ),
    "no-version": Case(
        "noversion_plugin",
        ("distribution ganzoo_fake_noversion-1.0.dist-info: its METADATA has no Version",),
        ("fake-noversion-model",),
    ),
    "unreadable-metadata": Case(
        "badmeta_plugin",
        ("its METADATA could not be read: UnicodeDecodeError:", "can't decode byte 0xff"),
        ("fake-badmeta-model",),
    ),
    "undecodable-entry-points": Case(
        "undecodable_plugin",
        ("entry_points.txt could not be read: UnicodeDecodeError:",),
        ("fake-undecodable-model",),
    ),
    "line-without-equals": Case(
        "no_equals_sign",
        ("malformed entry point 'no_equals_sign' in entry_points.txt", "expected 'NAME = module"),
    ),
    "invalid-value": Case(
        "::bad", ("invalid entry point value '::bad' in entry_points.txt", "'NAME = module:attr")
    ),
    "unclosed-section-header": Case(
        "[unclosed section", ("malformed entry point '[unclosed section' in entry_points.txt",)
    ),
    "line-without-name": Case(
        "nameless_plugin", ("entry point without a name '= nameless_plugin' in entry_points.txt",)
    ),
    "missing-module": Case(
        "ganzoo_fake_no_such_module",
        ("import failed: ModuleNotFoundError: No module named 'ganzoo_fake_no_such_module'",),
    ),
    "missing-attribute": Case(
        "missing_attr_plugin:no_such_hooks",
        (
            "import failed: AttributeError:",
            "'missing_attr_plugin' has no attribute 'no_such_hooks'",
        ),
        ("fake-missing-attr-model",),
    ),
    "non-string-description": Case(
        BAD_DESCRIPTION.module,
        (
            "hook register_models raised ValueError: model 'fake-bad-description': "
            "description must be a string, got int 42",
        ),
        ("fake-bad-description",),
    ),
    "descriptor-changed-after-construction": Case(
        BYPASS.module,
        ("hook register_losses raised ValueError", "options must hold Option objects, got str"),
        ("fake-bypass-loss",),
    ),
    "register-error-swallowed": Case(
        SWALLOWED.module,
        (
            "hook register_models ignored an error from register: "
            "TypeError: expected a ModelInfo, got dict",
        ),
        ("fake-swallowed-model",),
    ),
}
FAKE_PLUGINS = (SYSTEM_EXIT, CUSTOM_BASE, HOOK_BASE, HOOK_EXIT, DIR_RAISES, BAD_DESCRIPTION)
FAKE_PLUGINS += (BYPASS, SWALLOWED, GOOD, GETATTR_HARMLESS, CHATTY)
RAW_DISTS = (GETATTR_RUNTIME, GETATTR_EXIT, NO_NAME, NO_VERSION, UNREADABLE_METADATA)
RAW_DISTS += (UNDECODABLE, MALFORMED, NOT_OURS, MISSING_MODULE, MISSING_ATTRIBUTE)
HEALTHY = {  # module: what it provides, though it shares the site with every broken one
    GOOD.module: ["model:fake-good-model"],
    GETATTR_HARMLESS.module: ["model:fake-getattr-harmless-model"],
    CHATTY.module: ["model:fake-chatty-model"],
    "malformed_ok_plugin": ["model:fake-malformed-ok-model"],
}
TRAIN = ("train", "mlp", "--dataset", "ring8", "--steps", "2", "--batch-size", "8")
TRAIN += ("--dataset-size", "64", "-o", "hidden=8", "--device", "cpu")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = install(tmp_path_factory.mktemp("hardening"), *FAKE_PLUGINS)
    install_raw(site, *RAW_DISTS)
    return site


@pytest.fixture(scope="module")
def records(site: Path) -> dict[str, dict]:
    """`ganzoo plugins --json`, by the records' module (unique here; names need not be)."""
    result = ganzoo(site, "plugins", "--json")
    assert "chatty" in result.stderr  # what the plugin printed, kept off stdout
    out = {}
    for record in as_json(result):
        assert record["module"] not in out, record
        out[record["module"]] = record
    return out


@pytest.fixture(scope="module")
def listing(site: Path) -> subprocess.CompletedProcess:
    return ganzoo(site, "list", "--json")


def failed_labels(records: dict[str, dict]) -> list[str]:
    return [
        f"{r['name']} ({r['distribution']} {r['version']})"
        for r in records.values()
        if r["status"] == "failed"
    ]


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_plugin_fails_with_one_readable_line(records: dict, case: str) -> None:
    record = records[BROKEN[case].module]
    assert record["status"] == "failed"
    assert record["provides"] == []
    (reason,) = record["errors"]
    assert reason == one_line(reason)  # one line of printable characters, not too long
    assert "Traceback" not in reason
    for part in BROKEN[case].reasons:
        assert part in reason


def test_reasons_are_capped(records: dict) -> None:
    (reason,) = records[CUSTOM_BASE.module]["errors"]
    assert len(reason) <= len("import failed: PluginAbort: ") + MESSAGE_LIMIT
    assert reason.endswith("...")


def test_broken_metadata_is_named_by_what_is_known(records: dict) -> None:
    noname = records["noname_plugin"]
    assert (noname["name"], noname["distribution"], noname["version"]) == (
        "noname",
        NO_NAME.folder,
        "1.0",
    )
    noversion = records["noversion_plugin"]
    assert (noversion["distribution"], noversion["version"]) == ("ganzoo-fake-noversion", "?")
    # A line without a name is named after its distribution.
    assert records["nameless_plugin"]["name"] == "ganzoo-fake-malformed"
    assert not [r for r in records.values() if "unrelated" in r["distribution"]]


def test_healthy_plugins_and_builtins_still_load(records: dict, listing) -> None:
    builtins = {r["name"]: r for r in records.values() if r["distribution"] == "ganzoo"}
    assert set(builtins) == BUILTIN_PLUGINS
    for record in builtins.values():
        assert (record["status"], record["errors"]) == ("ok", [])
    for module, provides in HEALTHY.items():
        assert (records[module]["status"], records[module]["provides"]) == ("ok", provides)
    names = {entry["name"] for entry in as_json(listing)}
    assert {"mlp", "dcgan", "ring8", "non-saturating", "fake-good-model"} <= names
    assert {"fake-chatty-model", "fake-getattr-harmless-model", "fake-malformed-ok-model"} <= names
    for case in BROKEN.values():
        assert not names & set(case.hidden)


def test_list_json_notes_failed_plugins_on_stderr(records: dict, listing) -> None:
    as_json(listing)  # stdout is only the JSON
    notes = [line for line in listing.stderr.splitlines() if line.startswith("note: ")]
    expected = [
        f"note: plugin {label} failed to load; it may have provided more (see `ganzoo plugins`)"
        for label in failed_labels(records)
    ]
    assert notes == expected


def test_help_list_and_plugins_tables_work(site: Path, records: dict) -> None:
    help_ = ganzoo(site, "--help")
    assert (help_.returncode, help_.stderr) == (0, "")
    table = ganzoo(site, "list")
    assert table.returncode == 0, table.stderr
    assert "Traceback" not in table.stderr
    assert "fake-good-model" in table.stdout
    assert len([line for line in table.stderr.splitlines() if line.startswith("note: ")]) == len(
        failed_labels(records)
    )
    plugins = ganzoo(site, "plugins")
    assert (plugins.returncode, plugins.stderr.count("Traceback")) == (0, 0)
    assert len(plugins.stdout.splitlines()) == 1 + len(records)  # one row each, header


def test_train_and_sample_work(site: Path, tmp_path: Path) -> None:
    # MALFORMED and UNDECODABLE make importlib.metadata.entry_points() raise, which importing
    # torch calls: tolerate_broken_entry_points() is what keeps these commands alive.
    trained = ganzoo(site, *TRAIN, "--out", str(tmp_path / "run"))
    assert trained.returncode == 0, trained.stderr
    assert "Traceback" not in trained.stderr
    (checkpoint,) = re.findall(r"^checkpoint:\s+(\S+)$", trained.stdout, re.MULTILINE)
    sampled = ganzoo(site, "sample", checkpoint, "-o", str(tmp_path / "x.png"))
    assert sampled.returncode == 0, sampled.stderr
    assert "Traceback" not in sampled.stderr
    assert (tmp_path / "x.png").is_file()


def test_unknown_model_mentions_failed_plugins(site: Path, records: dict) -> None:
    result = ganzoo(site, "train", "nosuchmodel")
    assert result.returncode == 2
    # One line, besides what the chatty plugin printed (on stderr: stdout may be JSON).
    (line,) = [line for line in result.stderr.splitlines() if not line.startswith("chatty ")]
    labels = failed_labels(records)
    assert line.startswith("error: unknown model 'nosuchmodel'")
    assert (
        f"; plugins {', '.join(labels[:3])} and {len(labels) - 3} more failed to load "
        "and may have provided it (see `ganzoo plugins`)"
    ) in line


def test_strict_mode_and_disabling_cover_broken_metadata(tmp_path: Path) -> None:
    install_raw(tmp_path, NO_NAME)
    strict = ganzoo(tmp_path, "list", "--json", **{STRICT_ENV: "1"})
    assert (strict.returncode, strict.stdout) == (1, "")
    assert strict.stderr.splitlines() == [
        f"error: plugin noname ({NO_NAME.folder} 1.0) failed: "
        f"distribution {NO_NAME.folder}: its METADATA has no Name"
    ]
    env = {STRICT_ENV: "1", DISABLE_ENV: "noname"}
    records = {r["name"]: r for r in as_json(ganzoo(tmp_path, "plugins", "--json", **env))}
    assert records["noname"]["status"] == "disabled"


def test_keyboard_interrupt_on_import_is_not_swallowed(tmp_path: Path) -> None:
    """Ctrl-C while a plugin imports is the user's: the command stops as for any interrupt
    (``error: interrupted``, exit 130), rather than recording the plugin as failed."""
    interrupts = FakePlugin("interrupts", "ganzoo-fake-interrupts", "raise KeyboardInterrupt\n")
    site = install(tmp_path, GOOD, interrupts)
    result = ganzoo(site, "plugins", "--json")
    assert (result.returncode, result.stdout) == (130, "")
    assert result.stderr.strip() == "error: interrupted"


# --- In process: the message helpers -------------------------------------------------------------


def test_describe_folds_caps_and_survives_broken_messages() -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise SystemExit("no")

    assert describe(SystemExit()) == "SystemExit"
    assert describe(SystemExit(3)) == "SystemExit: 3"
    assert describe(ValueError("a\n\n  b\tc\x1b[31m")) == "ValueError: a b c?[31m"
    assert describe(Unprintable()) == "Unprintable: (the message could not be shown)"
    long = describe(RuntimeError("y" * 10_000))
    assert len(long) == len("RuntimeError: ") + MESSAGE_LIMIT and long.endswith("...")
    assert len(one_line("z " * 10_000)) == REASON_LIMIT


def test_healthy_environment_is_left_alone() -> None:
    assert tolerate_broken_entry_points() is None


@pytest.mark.parametrize(
    ("failed", "expected"),
    [
        (0, ""),
        (1, "; plugin p0 (d0 1.0) failed to load and may have provided it (see `ganzoo plugins`)"),
        (2, "; plugins p0 (d0 1.0) and p1 (d1 1.0) failed to load and may have provided it"),
        (3, "; plugins p0 (d0 1.0), p1 (d1 1.0) and p2 (d2 1.0) failed to load"),
        (5, "; plugins p0 (d0 1.0), p1 (d1 1.0), p2 (d2 1.0) and 2 more failed to load"),
    ],
)
def test_unknown_name_error_names_failed_plugins(failed: int, expected: str) -> None:
    catalog = Catalog()
    catalog.plugins = [
        PluginRecord(f"p{i}", f"d{i}", "1.0", "m", status="failed") for i in range(failed)
    ]
    catalog.plugins.append(PluginRecord("off", "d", "1.0", "m", status="disabled"))
    with pytest.raises(UnknownNameError) as info:
        catalog.model("nosuchmodel")
    message = str(info.value)
    assert message.startswith("unknown model 'nosuchmodel' (available: none installed)")
    assert expected in message
    assert ("failed to load" in message) == bool(failed)
