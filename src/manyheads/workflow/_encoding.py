"""Encode a run's splits: fit the preprocessor on train, encode every split (each source's
too), and share the result between runs that would encode the same way (``compare``)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from manyheads.config.schema import RunConfig
from manyheads.data.preprocess import TablePreprocessor
from manyheads.data.sources import SourceTables, encode_sources, sampling_line
from manyheads.data.tensors import EncodedTable
from manyheads.engine.checkpoint import fingerprint, split_digest
from manyheads.errors import InvalidParameterError
from manyheads.workflow._builders import Log, build_preprocessor, text_settings
from manyheads.workflow._splits import Splits

__all__ = ["Encoded", "encode", "encoded_splits", "run_fingerprint", "say_fitted_lengths"]


@dataclasses.dataclass(frozen=True)
class Encoded:
    """A fitted preprocessor and the splits it encoded (each source's too, if any)."""

    pre: TablePreprocessor
    #: a :class:`~manyheads.data.streaming.StreamingTable` for a streamed train.
    train: EncodedTable
    valid: EncodedTable
    test: EncodedTable | None
    sources: list[SourceTables]
    #: split -> its digest for resume fingerprints, computed once per encoding (``compare``).
    digests: dict[str, Any] = dataclasses.field(default_factory=dict)


def encode(pre: TablePreprocessor, splits: Splits, config: RunConfig, say: Log) -> Encoded:
    """Fit ``pre`` on the training split(s) and encode every split."""
    sources: list[SourceTables] = []
    if splits.stream is not None:
        train_t, valid_t, test_t = _encode_stream(pre, splits, config, say)
    elif splits.sources:
        data = config.data
        stacked = encode_sources(
            pre,
            splits.train,
            splits.sources,
            config.tasks,
            sampling=data.sampling,
            temperature=data.temperature,
        )
        assert stacked.train.sampler is not None
        names = [s.name for s in splits.sources]
        say(sampling_line(stacked.train.sampler, names, data.sampling, data.temperature))
        train_t, valid_t, test_t = stacked.train, stacked.valid, stacked.test
        sources = stacked.sources
    else:
        pre.fit(splits.train)
        train_t = pre.transform(splits.train)
        valid_t = pre.transform(splits.valid)
        test_t = pre.transform(splits.test) if splits.test is not None else None
    for name, table in (("train", train_t), ("valid", valid_t), ("test", test_t)):
        if table is not None:
            counts = ", ".join(f"{k}={v}" for k, v in table.labelled_counts().items())
            say(f"{name}: {table.n_rows} rows; labelled per task: {counts}")
    return Encoded(pre, train_t, valid_t, test_t, sources)


def _encode_stream(
    pre: TablePreprocessor, splits: Splits, config: RunConfig, say: Log
) -> tuple[EncodedTable, EncodedTable, EncodedTable | None]:
    """Fit ``pre`` in one pass over the streamed train; encode validation and test."""
    from manyheads.data.streaming import fit_stream

    stream = splits.stream
    assert stream is not None
    if config.train.batch_by == "tokens":
        raise InvalidParameterError(
            "The 'batch_by: tokens' setting is not used with a streamed train (data.stream): "
            "use train.group_by_length, which groups rows within the shuffle buffer."
        )
    source = stream.source
    say(
        f"streaming {source.path}: {len(source.files)} Parquet file(s), {len(source.row_groups)} "
        f"row groups, {source.n_rows} rows; shuffle buffer {stream.options.shuffle_buffer} rows"
    )
    table = fit_stream(pre, stream)
    if stream.holdout is not None:
        say(
            f"held out by row hash (data.split_seed {stream.holdout.seed}): validation "
            f"{stream.holdout.valid_fraction:g}, test {stream.holdout.test_fraction:g} of the rows"
        )
    if table.cache is not None:
        say(
            f"encoded once into {table.cache.n_bytes / 2**20:.1f} MiB of tensors in "
            f"{table.cache.directory} (removed when the run ends; data.stream_options.cache)"
        )
    for col, cap in table.capped.items():
        say(f"{col}: more than {cap} values; kept the {cap} most frequent (others are unseen)")
    texts = [c for c, k in pre.inputs.items() if k in ("text", "tokens")]
    if texts and table.rows > stream.options.sample_rows:
        say(
            f"text tokenisers of {', '.join(texts)} trained on a uniform sample of "
            f"{stream.options.sample_rows} rows (data.stream_options.sample_rows)"
        )
    valid = pre.transform(splits.valid)
    test = pre.transform(splits.test) if splits.test is not None else None
    return table, valid, test  # type: ignore[return-value]  # the loop's EncodedTable surface


def encoded_splits(
    config: RunConfig, splits: Splits, encodings: dict[str, Encoded] | None, say: Log
) -> Encoded:
    """The run's encoded splits: from ``encodings`` (a cache shared by several runs on the same
    ``splits``) when the inputs, tasks, text options and data agree, else encoded now. The
    encoded tables are never modified by training, so runs can share them."""
    text = text_settings(config)
    key = json.dumps(
        {
            "inputs": config.inputs,
            "tasks": [t.to_dict() for t in config.tasks],
            "text": text,
            "data": dataclasses.asdict(config.data),
        },
        sort_keys=True,
        default=str,
    )
    encoded = encodings.get(key) if encodings is not None else None
    if encoded is not None:
        say("reusing the encoded data of an earlier run with the same inputs and tasks")
        return encoded
    encoded = encode(build_preprocessor(config, text), splits, config, say)
    if encodings is not None:
        encodings[key] = encoded
    return encoded


def say_fitted_lengths(pre: TablePreprocessor, encoder: str, say: Log) -> None:
    """Say each sequence column's ``max_length`` fitted on the training rows."""
    for col, tok in pre.sequence_.items():
        if tok.fitted_length:
            covers = "the longest row" if pre.inputs[col] == "tokens" else "99.9% of the rows"
            say(
                f"{col}: max_length {tok.max_length} pieces (covers {covers} of train, at least "
                f"128: {encoder} has no position limit; set model.encoder_options.max_length "
                "to change it)"
            )


def run_fingerprint(config: RunConfig, encoded: Encoded) -> dict[str, Any]:
    """What a resume must share with the run: configuration, encoded data and encodings."""
    splits = {"train": encoded.train, "valid": encoded.valid, "test": encoded.test}
    if not encoded.digests:
        for name, table in splits.items():
            if table is None:
                encoded.digests[name] = None
                continue
            if not isinstance(table, EncodedTable):  # streamed: the files stand for the rows
                encoded.digests[name] = stream_digest(table)
                continue
            named = {f"x.{k}": v for k, v in table.x.items()}
            named |= {f"y.{k}": v for k, v in table.y.items()}
            named |= {f"mask.{k}": v for k, v in table.mask.items()}
            encoded.digests[name] = split_digest(table.n_rows, named)
    saved = encoded.pre.to_dict()
    labels = saved.pop("task_states")
    encodings = {f"labels.{t}": v for t, v in labels.items()}
    encodings |= {f"inputs.{k}": v for k, v in saved.items()}
    data = config.data
    files = [f for f in (data.train, data.valid, data.test) if f]
    files += [f for src in data.sources for f in (src.train, src.valid, src.test) if f]
    return fingerprint(
        config.to_dict(),
        data=encoded.digests,
        encodings=encodings,
        files=files,
    )


def stream_digest(table: Any) -> dict[str, Any]:  # noqa: ANN401 - a StreamingTable
    """What a resume compares of a streamed train: its rows and each file's size and
    modification time (reading every row again would cost an epoch)."""
    import os

    files = []
    for path in table.source.files:
        stat = os.stat(path)
        files.append([path, stat.st_size, stat.st_mtime_ns])
    return {"rows": table.rows, "files": files}
