"""UCI census-income (KDD) as in the MMoE paper (Ma et al., KDD 2018, §6.3) and PLE (§5.2).

Group 1: income > 50K (main) and marital status == "Never married" (auxiliary); group 2: education
at least college (main, Associates..Doctorate) and never married. Education, marital status and
the survey instance weight are never inputs. Train is ``census-income.data``; the test file is
split 1:1 at random (``random_state=1``, as keras-mmoe) into validation and test. A 24k-row sample
(CC BY 4.0, U.S. Census Bureau / Lane & Kohavi / UCI) ships with the package for the quickstart.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from manyheads.builtin_datasets._registry import DatasetSplits, data_root
from manyheads.errors import InvalidParameterError
from manyheads.tasks.task import Task

__all__ = ["CENSUS_COLUMNS", "NUMERIC", "load_census_income", "prepare_census"]

CENSUS_COLUMNS = [
    "age",
    "class_worker",
    "det_ind_code",
    "det_occ_code",
    "education",
    "wage_per_hour",
    "hs_college",
    "marital_stat",
    "major_ind_code",
    "major_occ_code",
    "race",
    "hisp_origin",
    "sex",
    "union_member",
    "unemp_reason",
    "full_or_part_emp",
    "capital_gains",
    "capital_losses",
    "stock_dividends",
    "tax_filer_stat",
    "region_prev_res",
    "state_prev_res",
    "det_hh_fam_stat",
    "det_hh_summ",
    "instance_weight",
    "mig_chg_msa",
    "mig_chg_reg",
    "mig_move_reg",
    "mig_same",
    "mig_prev_sunbelt",
    "num_emp",
    "fam_under_18",
    "country_father",
    "country_mother",
    "country_self",
    "citizenship",
    "own_or_self",
    "vet_question",
    "vet_benefits",
    "weeks_worked",
    "year",
    "income_50k",
]
NUMERIC = [
    "age",
    "wage_per_hour",
    "capital_gains",
    "capital_losses",
    "stock_dividends",
    "num_emp",
    "weeks_worked",
]
_COLLEGE = {
    "Associates degree-occup /vocational",
    "Associates degree-academic program",
    "Bachelors degree(BA AB BS)",
    "Masters degree(MA MS MEng MEd MSW MBA)",
    "Prof school degree (MD DDS DVM LLB JD)",
    "Doctorate degree(PhD EdD)",
}
SAMPLE_FILE = "census_income_sample.csv.gz"


def prepare_census(raw: pd.DataFrame) -> pd.DataFrame:
    """Raw 42-column frame -> inputs + label columns (income, never_married, college)."""
    out = raw.copy()
    out.columns = CENSUS_COLUMNS
    out["income"] = (out["income_50k"] == "50000+.").astype(int)
    out["never_married"] = (out["marital_stat"] == "Never married").astype(int)
    out["college"] = out["education"].isin(_COLLEGE).astype(int)
    return out.drop(columns=["income_50k", "marital_stat", "education", "instance_weight"])


def _read(path: object) -> pd.DataFrame:
    frame: pd.DataFrame = pd.read_csv(
        path, header=None, skipinitialspace=True, keep_default_na=False, low_memory=False
    )
    return frame


def _inputs(frame: pd.DataFrame) -> dict[str, str]:
    labels = {"income", "never_married", "college", "split"}
    return {
        c: ("numeric" if c in NUMERIC else "categorical") for c in frame.columns if c not in labels
    }


def _with_lines(frame: pd.DataFrame, path: str) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    frame.attrs["path"] = path
    return frame


def load_census_income(*, sample: bool = False, group: int = 1) -> DatasetSplits:
    """Load census-income with the MMoE protocol.

    Args:
        sample: use the 24k-row sample shipped in the package instead of the full data in
            ``$MANYHEADS_DATA/census-income-kdd`` (199,523 train / 49,881 valid / 49,881 test).
        group: task group 1 (income, never_married) or 2 (college, never_married).
    """
    if group not in (1, 2):
        raise InvalidParameterError(
            f"The 'group' option of census-income must be 1 or 2. Got {group!r}."
        )
    if sample and group != 1:
        raise InvalidParameterError(
            "The census-income sample holds task group 1 only; use sample: false for group 2."
        )
    if sample:
        ref = resources.files("manyheads.builtin_datasets") / "_files" / SAMPLE_FILE
        with resources.as_file(ref) as path:
            frame = pd.read_csv(path, keep_default_na=False, low_memory=False)
        parts = {
            name: frame[frame["split"] == name].drop(columns=["split"])
            for name in ("train", "valid", "test")
        }
        where = f"<package>/{SAMPLE_FILE}"
    else:
        root = data_root("census-income-kdd")
        train = prepare_census(_read(root / "census-income.data.gz"))
        other = prepare_census(_read(root / "census-income.test.gz"))
        valid = other.sample(frac=0.5, random_state=1)
        parts = {"train": train, "valid": valid, "test": other.drop(valid.index)}
        where = str(root)
    main = "income" if group == 1 else "college"
    drop = "college" if group == 1 else "income"
    frames = {
        k: _with_lines(v.drop(columns=[drop], errors="ignore"), f"{where}:{k}")
        for k, v in parts.items()
    }
    tasks = (Task(main, type="binary"), Task("never_married", type="binary"))
    return DatasetSplits(
        name="census-income",
        train=frames["train"],
        valid=frames["valid"],
        test=frames["test"],
        tasks=tasks,
        inputs=_inputs(frames["train"]),
        description=f"census-income group {group}{' (sample)' if sample else ''}",
    )
