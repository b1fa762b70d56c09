"""De-identified copies of DICOM files: the DICOM PS3.15 Annex E Basic Application Level Confidentiality
Profile, read from curricula/deidentification.yaml (which cites the table it follows).

Identifying attributes are removed, blanked or replaced at any depth; private attributes, curves and
overlays go; every instance UID is replaced by a new one derived from it with a secret drawn once per
run, so the same study, series or referenced instance keeps one new UID across all files of the run.
The pixel data is copied byte for byte. Nothing here prints, and no reason for refusing a file quotes
a value from it: a header value may be an identifier.
"""

from __future__ import annotations

import os
import secrets
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retinavlm.atomic import atomic_open
from retinavlm.data.io import quiet_loggers
from retinavlm.errors import ConfigError, RetinaVLMError
from retinavlm.resources import curricula_dir
from retinavlm.yaml_files import read_yaml_mapping

ACTIONS = frozenset("DZXKU")
MEDIA_DIRECTORY_STORAGE = "1.2.840.10008.1.3.10"  # DICOMDIR


class DeidentificationError(RetinaVLMError):
    """A file cannot be de-identified. `str()` is one line: the file, then the problem (never a header value)."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path, self.problem = str(path), problem
        super().__init__(f"{self.path}: {problem}")


def default_profile_path() -> Path:
    return curricula_dir() / "deidentification.yaml"


@dataclass(frozen=True)
class Profile:
    """The confidentiality profile as data: one action (D, Z, X, K or U) per attribute tag."""

    path: str
    name: str
    method: str
    code: dict[str, str]
    actions: dict[int, str]
    dummy_values: dict[str, str]
    removed_groups: tuple[tuple[int, int], ...]
    kept_uids: frozenset[int]
    person_names: str
    dates: str
    uids: str
    well_known_uid_root: str

    def action(self, tag: int) -> str | None:
        return self.actions.get(tag)


def load_profile(path: str | os.PathLike | None = None) -> Profile:
    """The profile YAML (default curricula/deidentification.yaml); ConfigError naming the key for any mistake."""
    from pydicom.datadict import tag_for_keyword

    path = Path(path or default_profile_path())
    doc = read_yaml_mapping(path, ConfigError, "de-identification profile")

    def tag_of(keyword: Any, key: str) -> int:
        tag = tag_for_keyword(keyword) if isinstance(keyword, str) else None
        if tag is None:
            raise ConfigError(f"{keyword!r} is not a DICOM keyword known to pydicom", key, path)
        return tag

    try:
        compound = {str(code): str(action) for code, action in doc["compound_codes"].items()}
        for code, action in compound.items():
            if action not in ACTIONS:
                raise ConfigError(f"resolves to {action!r}, not one of D, Z, X, K, U", f"compound_codes.{code}", path)
        actions = {}
        for keyword, code in doc["attributes"].items():
            action = compound.get(str(code), str(code))
            if action not in ACTIONS:
                raise ConfigError(f"unknown action code {code!r}", f"attributes.{keyword}", path)
            actions[tag_of(keyword, f"attributes.{keyword}")] = action
        other = doc["other_attributes"]
        for key in ("person_names", "dates", "uids"):
            if other[key] not in ACTIONS:
                raise ConfigError(f"{other[key]!r} is not one of D, Z, X, K, U", f"other_attributes.{key}", path)
        profile = doc["profile"]
        return Profile(
            path=str(path),
            name=str(profile["name"]),
            method=str(profile["method"]),
            code={k: str(v) for k, v in profile["code"].items()},
            actions=actions,
            dummy_values={str(vr): str(value) for vr, value in doc["dummy_values"].items()},
            removed_groups=tuple((int(g["first"]), int(g["last"])) for g in doc["removed_groups"].values()),
            kept_uids=frozenset(tag_of(k, "kept_uids") for k in doc["kept_uids"]),
            person_names=str(other["person_names"]),
            dates=str(other["dates"]),
            uids=str(other["uids"]),
            well_known_uid_root=str(other["well_known_uid_root"]),
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"malformed profile ({type(exc).__name__}: {exc})", source=path) from None


class UIDMap:
    """Replaces each UID by a new one derived from it and a secret: the same UID always gives the same new
    UID within one map, and without the secret (never stored) the original cannot be recovered."""

    def __init__(self, secret: str | None = None):
        self._secret = secret or secrets.token_hex(32)

    def __call__(self, uid: str) -> str:
        from pydicom.uid import generate_uid

        return str(generate_uid(entropy_srcs=[self._secret, str(uid)])) if uid else uid


@dataclass
class Outcome:
    """What a batch did: (source, copy) for each written file, (source, reason) for each skipped one."""

    written: list[tuple[Path, Path]] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """The CLI contract: 0 every file written, 1 some skipped, 2 nothing written."""
        return 2 if not self.written else 1 if self.skipped else 0


def deidentify_dataset(ds, profile: Profile, uids: UIDMap) -> None:
    """Apply the profile to `ds` in place (file meta and preamble included) and mark it de-identified."""
    from pydicom.dataset import Dataset, FileMetaDataset

    _clean(ds, profile, uids)
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = profile.method
    code = Dataset()
    code.CodeValue = profile.code["value"]
    code.CodingSchemeDesignator = profile.code["scheme"]
    code.CodeMeaning = profile.code["meaning"]
    ds.DeidentificationMethodCodeSequence = [code]
    old_meta = getattr(ds, "file_meta", None) or FileMetaDataset()
    meta = FileMetaDataset()  # only what names the object and its encoding; the rest is rewritten by pydicom
    for keyword in ("MediaStorageSOPClassUID", "TransferSyntaxUID"):
        if keyword in old_meta:
            setattr(meta, keyword, old_meta[keyword].value)
    if "SOPInstanceUID" in ds:
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta = meta
    ds.preamble = b"\x00" * 128


def _clean(ds, profile: Profile, uids: UIDMap) -> None:
    from pydicom.datadict import dictionary_has_tag, repeater_has_tag

    for tag in list(ds.keys()):
        elem = ds[tag]
        if (
            tag.is_private
            or tag.element == 0  # group length: wrong once anything changes
            or any(first <= tag.group <= last for first, last in profile.removed_groups)
            or not (dictionary_has_tag(tag) or repeater_has_tag(tag))
        ):
            del ds[tag]
            continue
        action = profile.action(tag)
        if action is None:
            action = _action_by_vr(elem, profile)
        if action == "X":
            del ds[tag]
        elif action == "Z" or (action == "D" and elem.VR == "SQ"):  # no dummy items are invented
            elem.value = [] if elem.VR == "SQ" else elem.empty_value
        elif action == "D":
            dummy = profile.dummy_values.get(elem.VR)
            elem.value = elem.empty_value if dummy is None else dummy
        elif action == "U" and elem.VR == "UI":
            elem.value = _map_uids(elem.value, uids)
        if action in ("K", "U") and elem.VR == "SQ":
            for item in elem.value:
                _clean(item, profile, uids)


def _action_by_vr(elem, profile: Profile) -> str:
    """For attributes the table does not name: person names and dates blanked, instance UIDs replaced."""
    if elem.VR == "PN":
        return profile.person_names
    if elem.VR in ("DA", "DT"):
        return profile.dates
    if elem.VR == "UI" and elem.tag not in profile.kept_uids:
        values = elem.value if elem.VM > 1 else [elem.value]
        if any(v and not str(v).startswith(profile.well_known_uid_root) for v in values):
            return profile.uids
    return "K"


def _map_uids(value, uids: UIDMap):
    from pydicom.multival import MultiValue

    if isinstance(value, MultiValue | list):
        return [uids(v) for v in value]
    return uids(value)


def read_dicom(path: Path):
    """The dataset of a DICOM image file, refused (DeidentificationError) when it is not one, is cut short,
    has burned-in annotations, or is a DICOMDIR."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        with path.open("rb") as handle:
            head = handle.read(132)
    except OSError as exc:
        raise DeidentificationError(path, f"cannot open ({exc.strerror or type(exc).__name__})") from None
    if not head:
        raise DeidentificationError(path, "empty file (0 bytes)")
    if head[128:132] != b"DICM":
        raise DeidentificationError(path, "not a DICOM file (no DICM marker at byte 128)")
    try:
        with warnings.catch_warnings(), quiet_loggers():
            warnings.simplefilter("ignore")  # pydicom's warnings may quote header values
            ds = pydicom.dcmread(path)
            _refuse_unsafe(path, ds)
    except InvalidDicomError:
        raise DeidentificationError(path, "not a valid DICOM file") from None
    except DeidentificationError:
        raise
    except Exception as exc:  # the library boundary; its message may quote a value, so only the kind is kept
        raise DeidentificationError(path, f"corrupt or unreadable DICOM file ({type(exc).__name__})") from None
    return ds


def _refuse_unsafe(path: Path, ds) -> None:
    sop_class = str(getattr(getattr(ds, "file_meta", None), "MediaStorageSOPClassUID", ""))
    if sop_class == MEDIA_DIRECTORY_STORAGE:
        raise DeidentificationError(
            path, "DICOMDIR index: not copied (it lists the originals); rebuild it from the copies"
        )
    if str(ds.get("BurnedInAnnotation", "")).upper() == "YES":
        raise DeidentificationError(
            path, "BurnedInAnnotation is YES: the pixels carry text, and this tool never changes pixel data"
        )
    _check_pixel_data(path, ds)


def _check_pixel_data(path: Path, ds) -> None:
    """pydicom reads a file cut short without complaint: the pixel data must be whole."""
    from pydicom.encaps import generate_fragments
    from pydicom.pixels.utils import get_expected_length

    if "PixelData" not in ds:
        raise DeidentificationError(path, "DICOM file has no pixel data (not an image object, or cut short)")
    data = ds.PixelData
    syntax = getattr(ds.file_meta, "TransferSyntaxUID", None)
    try:
        if syntax is not None and syntax.is_encapsulated:
            fragments = sum(1 for _ in generate_fragments(data))
            if fragments == 0:
                raise DeidentificationError(path, "truncated DICOM file: the compressed pixel data holds no frame")
            return
        expected = get_expected_length(ds)
    except DeidentificationError:
        raise
    except Exception as exc:
        raise DeidentificationError(path, f"unreadable pixel data ({type(exc).__name__})") from None
    if len(data) < expected:
        raise DeidentificationError(
            path, f"truncated DICOM file: the pixel data holds {len(data):,} of {expected:,} bytes"
        )


def find_files(root: Path) -> list[Path]:
    """Every regular file under `root` (or `root` itself), sorted; hidden files and folders skipped."""
    if root.is_file():
        return [root]
    return [
        path
        for path in sorted(root.rglob("*"))
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts)
    ]


def deidentify_tree(
    source: str | os.PathLike,
    out: str | os.PathLike,
    *,
    profile: Profile | None = None,
    keep_source_names: bool = False,
    uids: UIDMap | None = None,
) -> Iterator[tuple[Path, Path | None, str | None]]:
    """De-identify every file under `source` into `out`, yielding (source file, copy, None) or
    (source file, None, reason) as it goes. A copy is named by its new SOP Instance UID, or, with
    `keep_source_names`, by its path relative to `source`. Each copy is written atomically."""
    source, out = Path(source), Path(out)
    profile = profile or load_profile()
    uids = uids or UIDMap()
    names: set[Path] = set()
    for path in find_files(source):
        try:
            ds = read_dicom(path)
            with warnings.catch_warnings(), quiet_loggers():
                warnings.simplefilter("ignore")
                try:
                    deidentify_dataset(ds, profile, uids)
                except Exception as exc:  # a value pydicom cannot decode; its message may quote it
                    raise DeidentificationError(path, f"corrupt DICOM header ({type(exc).__name__})") from None
                if keep_source_names:
                    name = Path(path.name) if source.is_file() else path.relative_to(source)
                else:
                    name = Path(f"{ds.get('SOPInstanceUID') or uids(os.fsdecode(path))}.dcm")
                if name in names:
                    raise DeidentificationError(
                        path, "same SOP Instance UID as an earlier file: a duplicate, not copied"
                    )
                target = out / name
                try:
                    with atomic_open(target, "wb") as handle:
                        ds.save_as(handle, enforce_file_format=True)
                except OSError:
                    raise
                except Exception as exc:  # pydicom refusing to encode a value; its message may quote it
                    raise DeidentificationError(path, f"cannot encode the copy ({type(exc).__name__})") from None
        except DeidentificationError as exc:
            yield path, None, exc.problem
            continue
        except OSError as exc:
            yield path, None, f"cannot write the copy ({exc.strerror or type(exc).__name__})"
            continue
        names.add(name)
        yield path, target, None
