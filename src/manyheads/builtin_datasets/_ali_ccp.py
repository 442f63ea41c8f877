"""``ali-ccp``: Alibaba Click and Conversion Prediction (Ma et al., SIGIR 2018, the ESMM data).

Read from ``$MANYHEADS_DATA/ali-ccp/`` in one of three layouts (``layout: auto`` picks the first
present):

* ``official``: Tianchi's ``sample_skeleton_{train,test}.csv`` + ``common_features_{train,test}
  .csv``. A skeleton line is ``sample_id,click,purchase,common_feature_md5,feature_num,features``,
  a common-features line ``md5,feature_num,features``; ``features`` is ``field\\x02id\\x03value``
  entries joined by ``\\x01``. As in the AITM authors' preprocessing, the 18 single-valued fields
  of :data:`FIELDS` are kept (the last id of a field wins; absent -> ``0``), the impression's
  own fields override the common (user) ones, and impressions with a purchase but no click are
  dropped. Validation is a seeded 10% of train; test is the test file.
* ``rechub``: torch-rechub's preprocessed ``ali_ccp_{train,val,test}.csv`` (or the
  ``*_sample.csv`` files shipped for format tests).
* ``aitm``: PaddleRec's AITM ``train.csv`` (with a header) and ``test.csv`` (without one).

The tasks are ``click`` (CTR) and ``purchase`` (click and purchase: CTCVR), on every impression;
field ``101`` is the user id (``data.group_by: "101"`` for per-user metrics).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from manyheads.builtin_datasets._ccp import ccp_splits
from manyheads.builtin_datasets._registry import DatasetSplits, data_root, hold_out_valid
from manyheads.errors import DataError, InvalidParameterError

__all__ = ["FIELDS", "LAYOUTS", "load_ali_ccp", "read_official"]

#: The single-valued fields kept from the official layout (AITM, KDD 2021).
FIELDS = (
    "101", "121", "122", "124", "125", "126", "127", "128", "129",
    "205", "206", "207", "216", "508", "509", "702", "853", "301",
)  # fmt: skip
LAYOUTS = ("auto", "official", "rechub", "aitm")
_FILES = {
    "official": ("sample_skeleton_train.csv", "sample_skeleton_test.csv"),
    "rechub": ("ali_ccp_train.csv", "ali_ccp_val.csv", "ali_ccp_test.csv"),
    "rechub-sample": (
        "ali_ccp_train_sample.csv",
        "ali_ccp_val_sample.csv",
        "ali_ccp_test_sample.csv",
    ),
    "aitm": ("train.csv", "test.csv"),
    "aitm-sample": ("paddlerec_aitm_train_sample.csv", "paddlerec_aitm_test_sample.csv"),
}


def _parse_features(text: str, path: Path, line: int) -> dict[str, str]:
    out = {}
    for entry in text.split("\x01"):
        field, sep, rest = entry.partition("\x02")
        feature, sep2, _value = rest.partition("\x03")
        if not sep or not sep2:
            raise DataError(
                f"the feature entry {entry[:40]!r} is not 'field\\x02id\\x03value' (the Tianchi "
                "Ali-CCP layout). Restore the file from the original archive.",
                path=str(path),
                line=line,
            )
        if field in FIELDS:
            out[field] = feature
    return out


def _common_features(path: Path) -> dict[str, dict[str, str]]:
    common = {}
    with path.open(encoding="utf-8") as fh:
        for i, raw in enumerate(fh, start=1):
            parts = raw.rstrip("\n").split(",", 2)
            if len(parts) != 3:
                raise DataError(
                    "a common-features line must be 'md5,feature_num,features'; found "
                    f"{len(parts)} field(s).",
                    path=str(path),
                    line=i,
                )
            common[parts[0]] = _parse_features(parts[2], path, i)
    return common


def read_official(skeleton: Path, common: Path, *, limit: int | None = None) -> pd.DataFrame:
    """One official split (skeleton + common features) as ``click, purchase`` + :data:`FIELDS`.

    Raises:
        DataError: a malformed line or an unknown common-feature key (file and line named).
    """
    users = _common_features(common)
    rows: list[list[object]] = []
    with skeleton.open(encoding="utf-8") as fh:
        for i, raw in enumerate(fh, start=1):
            if limit is not None and i > limit:
                break
            parts = raw.rstrip("\n").split(",", 5)
            if len(parts) != 6 or parts[1] not in ("0", "1") or parts[2] not in ("0", "1"):
                raise DataError(
                    "a skeleton line must be 'sample_id,click(0/1),purchase(0/1),md5,"
                    "feature_num,features'.",
                    path=str(skeleton),
                    line=i,
                )
            if parts[1] == "0" and parts[2] == "1":  # purchase without click: dropped (AITM)
                continue
            if parts[3] not in users:
                raise DataError(
                    f"the common-feature key {parts[3]!r} is not in {common.name}. Use the "
                    "skeleton and common-features files of the same split.",
                    path=str(skeleton),
                    line=i,
                )
            fields = users[parts[3]] | _parse_features(parts[5], skeleton, i)
            rows.append([int(parts[1]), int(parts[2]), *(fields.get(f, "0") for f in FIELDS)])
    frame = pd.DataFrame(rows, columns=["click", "purchase", *FIELDS])
    for f in FIELDS:
        ids = pd.to_numeric(frame[f], errors="coerce")
        if ids.isna().any():
            bad = int(ids.isna().to_numpy().argmax())
            raise DataError(
                f"the feature id {frame[f].iloc[bad]!r} of field {f} is not an integer (the "
                f"{bad + 1}th impression kept). Restore the file from the original archive.",
                path=str(skeleton),
                column=f,
            )
        frame[f] = ids.astype("int64")
    return frame


def _layout(root: Path, layout: str) -> str:
    if layout not in LAYOUTS:
        raise InvalidParameterError(
            f"The 'layout' option of ali-ccp must be one of {', '.join(LAYOUTS)}. "
            f"Got {layout!r} instead."
        )
    candidates = ["official", "rechub", "rechub-sample", "aitm", "aitm-sample"]
    if layout != "auto":
        candidates = [c for c in candidates if c.split("-")[0] == layout]
    for name in candidates:
        if all((root / f).is_file() for f in _FILES[name]):
            return name
    wanted = "; ".join(" + ".join(_FILES[c]) for c in candidates)
    raise DataError(
        f"no Ali-CCP files of layout '{layout}' found. Expected {wanted} (see the module "
        "docstring of manyheads.builtin_datasets._ali_ccp, or docs/ranking.md).",
        path=str(root),
    )


def _read_csv(
    path: Path, limit: int | None, drop: bool, header: list[str] | None = None
) -> pd.DataFrame:
    """A preprocessed file; purchases without a click are refused (naming the line) or dropped."""
    try:
        frame = pd.read_csv(path, nrows=limit, header=None if header else "infer", names=header)
    except (ValueError, OSError, UnicodeDecodeError) as exc:  # pandas' ParserError is a ValueError
        raise DataError(f"cannot read this Ali-CCP file as CSV ({exc}).", path=str(path)) from None
    missing = [c for c in ("click", "purchase") if c not in frame.columns]
    if missing:
        raise DataError(
            f"an Ali-CCP file needs the label columns click and purchase; {missing} missing.",
            path=str(path),
        )
    bad = ((frame["purchase"] == 1) & (frame["click"] == 0)).to_numpy()
    if bad.any() and not drop:
        first = int(bad.argmax()) + (1 if header else 2)  # 1-based file line (header: line 1)
        raise DataError(
            f"{int(bad.sum())} row(s) have purchase = 1 and click = 0, which the click -> "
            "purchase funnel cannot produce (the first shown here). Pass "
            "purchase_without_click: drop to drop them (as the ESMM/AITM preprocessing does), "
            "or fix the labels.",
            path=str(path),
            line=first,
            column="purchase",
        )
    return frame[~bad].reset_index(drop=True)


def load_ali_ccp(
    *, layout: str = "auto", limit: int | None = None, purchase_without_click: str = "error"
) -> DatasetSplits:
    """Load Ali-CCP from ``$MANYHEADS_DATA/ali-ccp`` (layouts: see the module docstring).

    Args:
        layout: ``auto``, ``official``, ``rechub`` or ``aitm``.
        limit: read at most this many lines (impressions) of each file (a quick look at the
            full data).
        purchase_without_click: rows of a preprocessed file with purchase = 1 and click = 0:
            ``error`` (refuse, naming the file and row) or ``drop``. The official layout
            always drops them, as the published preprocessing does.

    Raises:
        DataError: no files of the layout, a malformed file, or purchases without clicks.
    """
    if purchase_without_click not in ("error", "drop"):
        raise InvalidParameterError(
            "The 'purchase_without_click' option of ali-ccp must be 'error' or 'drop'. "
            f"Got {purchase_without_click!r} instead."
        )
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InvalidParameterError(
            f"The 'limit' option of ali-ccp must be an int >= 1 or null. Got {limit!r} instead."
        )
    drop = purchase_without_click == "drop"
    root = data_root("ali-ccp")
    found = _layout(root, layout)
    files = [root / f for f in _FILES[found]]
    if found == "official":
        train = read_official(files[0], root / "common_features_train.csv", limit=limit)
        test = read_official(files[1], root / "common_features_test.csv", limit=limit)
        train, valid = hold_out_valid(train, seed=0)
        parts = {"train": train, "valid": valid, "test": test}
    elif found.startswith("rechub"):
        read = [_read_csv(f, limit, drop) for f in files]
        parts = dict(zip(("train", "valid", "test"), read, strict=True))
    else:
        train = _read_csv(files[0], limit, drop)
        test = _read_csv(files[1], limit, drop, header=list(train.columns))
        train, valid = hold_out_valid(train, seed=0)
        parts = {"train": train, "valid": valid, "test": test}
    labels = {"click", "purchase"}
    inputs = {
        c: ("numeric" if str(c).startswith("D") else "categorical")
        for c in parts["train"].columns
        if c not in labels
    }
    return ccp_splits(
        "ali-ccp",
        parts,
        where=f"{root}:{found}",
        inputs=inputs,
        description=f"Ali-CCP ({found} layout)",
    )
