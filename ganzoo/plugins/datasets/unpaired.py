"""``unpaired:PATH`` or ``unpaired:A,B``: two image domains with no pairing between them.

``unpaired:PATH`` reads ``PATH/trainA`` and ``PATH/trainB`` (the CycleGAN datasets'
layout); ``unpaired:A,B`` two folders. An argument that is itself an existing folder is
PATH, commas and all; otherwise it is split at the one comma that leaves two existing
folders.

Each domain is read exactly as ``folder:`` reads a folder (recursively, through the same
hardened pipeline and decode cache) and independently of the other: the two may hold
different numbers of images.
"""

from __future__ import annotations

from pathlib import Path

from torch import Tensor

from ganzoo.core.data.store import DataRequest, DataStore
from ganzoo.core.errors import DataError
from ganzoo.plugins.datasets.folder import pipeline, reasons
from ganzoo.plugins.datasets.folder.names import printable

USAGE = "unpaired:PATH (with trainA/ and trainB/) or unpaired:A,B (two folders)"


def load(request: DataRequest) -> DataStore:
    pipeline.check_image_request(request, "unpaired", USAGE)
    (a_root, a_prefix), (b_root, b_prefix) = domain_folders(request.argument)
    a, a_skipped, a_hit = _domain(a_root, "A", a_prefix, request)
    b, b_skipped, b_hit = _domain(b_root, "B", b_prefix, request)
    return DataStore(
        kind="image",
        a=a,
        b=b,
        description=(
            f"{len(a)} images in domain A ({printable(str(a_root))}) and "
            f"{len(b)} in domain B ({printable(str(b_root))})"
        ),
        skipped=sorted(a_skipped + b_skipped),
        cache="hit" if a_hit and b_hit else "miss",
    )


def domain_folders(argument: str) -> tuple[tuple[Path, str], tuple[Path, str]]:
    """The two domain folders (absolute), each with the prefix its skipped files are named
    with: ``trainA/`` for the PATH form, the folder as given for the A,B form."""
    whole = Path(argument).expanduser()
    if whole.is_dir():
        root = whole.resolve()
        missing = [f"{name}/" for name in ("trainA", "trainB") if not (root / name).is_dir()]
        if missing:
            raise DataError(
                f"unpaired folder {printable(str(root))} needs trainA/ and trainB/ "
                f"subfolders ({' and '.join(missing)} missing), or give two folders: "
                "unpaired:A,B"
            )
        return (root / "trainA", "trainA/"), (root / "trainB", "trainB/")
    if whole.exists():
        raise DataError(f"unpaired path {printable(argument)} is not a folder")
    commas = [index for index, char in enumerate(argument) if char == ","]
    if not commas:
        raise DataError(f"unpaired folder {printable(argument)} does not exist ({USAGE})")
    splits = [(argument[:i], argument[i + 1 :]) for i in commas]
    found = [split for split in splits if all(_folder(side) for side in split)]
    if len(found) > 1:
        raise DataError(
            f"unpaired:{printable(argument)} is ambiguous: it splits into two existing "
            f"folders at {len(found)} of its commas (rename one of them)"
        )
    if not found:
        if len(splits) == 1:
            for side, name in zip(splits[0], "AB", strict=True):
                if not side.strip():
                    raise DataError(f"unpaired:A,B needs two folders; domain {name} is empty")
                pipeline.existing_folder(side, f"domain {name}")
        raise DataError(
            f"no comma in {printable(argument)} splits it into two existing folders ({USAGE})"
        )
    a_side, b_side = found[0]
    a_root, b_root = _folder(a_side), _folder(b_side)
    return (a_root, _as_prefix(a_side)), (b_root, _as_prefix(b_side))


def _folder(side: str) -> Path | None:
    """An existing folder named ``side`` (or ``side`` without its surrounding spaces, as
    in ``a, b``); None if there is none. An empty side is never the current folder."""
    for text in dict.fromkeys((side, side.strip())):
        if text and Path(text).expanduser().is_dir():
            return Path(text).expanduser().resolve()
    return None


def _as_prefix(side: str) -> str:
    side = side.strip()
    return side if side.endswith("/") else side + "/"


def _domain(
    root: Path, name: str, prefix: str, request: DataRequest
) -> tuple[Tensor, list[tuple[str, str]], bool]:
    where = f"domain {name} folder {printable(str(root))}"
    files, not_files = pipeline.scan_images(root, where)
    decoded = pipeline.decode_cached(root, files, request)
    unreadable = [(prefix + file, reason) for file, reason in not_files + decoded.undecodable]
    unreadable.sort()
    if decoded.images is None:
        raise DataError(f"no readable image in {where}; {reasons.skip_summary(unreadable)}")
    if unreadable and not decoded.hit:
        request.report(f"domain {name}: {reasons.skip_summary(unreadable)}")
    return decoded.images, unreadable, decoded.hit
