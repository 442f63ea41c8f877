"""Every registry family, filled from one explicit list each, with lazy targets.

Each entry names a member, the ``"module:attr"`` of its factory and its one-line doc (what
``manyheads ls`` prints). The modules are imported on the first ``get``/``create`` of an entry,
so listing names and docs imports neither torch, scikit-learn nor pandas (``manyheads ls``
starts in well under a second). The family modules re-export these registries and hold their
helpers: :mod:`manyheads.architectures._registry`, :mod:`manyheads.encoders._registry`,
:mod:`manyheads._methods`, :mod:`manyheads.tasks._registry` and
:mod:`manyheads.builtin_datasets._registry`. ``tests/contract/test_catalogue.py`` resolves
every entry and checks the docs copied from the classes (task types and their metrics).

Example:
    >>> ARCHITECTURES.describe()["hps"]
    'hard parameter sharing: shared bottom + task towers'
    >>> "mgda" in METHODS
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from manyheads._registry import Registry

if TYPE_CHECKING:  # type names only: importing them would import torch / pandas
    from manyheads.aggregation.base import Aggregator
    from manyheads.architectures.base import MTLModel
    from manyheads.builtin_datasets._registry import DatasetSplits
    from manyheads.encoders.base import InputEncoder
    from manyheads.tasks._base import TaskType
    from manyheads.weighting.base import Weighting

__all__ = ["ARCHITECTURES", "DATASETS", "ENCODERS", "METHODS", "TASK_METRICS", "TASK_TYPES"]

_ARCH = "manyheads.architectures"
ARCHITECTURES: Registry[MTLModel] = Registry("architecture")
for _name, _target, _doc in [
    ("stl", f"{_ARCH}.stl:STL", "single-task: one independent network per task (baseline)"),
    ("hps", f"{_ARCH}.hps:HPS", "hard parameter sharing: shared bottom + task towers"),
    (
        "mmoe",
        f"{_ARCH}.mmoe:MMoE",
        "multi-gate mixture of experts: shared experts, a gate per task",
    ),
    ("ple", f"{_ARCH}.ple:PLE", "progressive layered extraction: stacked shared + task experts"),
    (
        "cross_stitch",
        f"{_ARCH}.cross_stitch:CrossStitch",
        "cross-stitch: task columns mixed by learned units",
    ),
    (
        "soft_sharing",
        f"{_ARCH}.soft_sharing:SoftSharing",
        "soft sharing: task networks tied by an L2/L1 penalty",
    ),
    (
        "cascade",
        f"{_ARCH}.cascade:Cascade",
        "cascade: towers chained in order; funnel=True is ESMM",
    ),
    ("mtan", f"{_ARCH}.mtan:MTAN", "MTAN: shared CNN + a soft-attention network per task"),
]:
    ARCHITECTURES.register_lazy(_name, _target, _doc)

# Each encoder class carries its metadata (``info``: what it reads, its tokenizer options).
ENCODERS: Registry[InputEncoder] = Registry("encoder")
for _name, _target, _doc in [
    (
        "tabular",
        "manyheads.encoders.tabular:TabularInput",
        "numbers | categorical embeddings | text bags, concatenated",
    ),
    (
        "tabular_embed",
        "manyheads.encoders.numeric_embeddings:NumericEmbeddingInput",
        "tabular + numeric embeddings, Gorishniy et al. 2022 (options: numeric, d_embedding, ...)",
    ),
    (
        "lenet",
        "manyheads.encoders.lenet:LeNet",
        "LeNet of Sener & Koltun 2018 (MultiMNIST), one image column -> 50 (options: dropout)",
    ),
    (
        "resnet18",
        "manyheads.encoders.resnet18:ResNet18",
        "ResNet-18 (He et al. 2016), one image column -> 512*width (options: small_input, width)",
    ),
    (
        "cnn",
        "manyheads.encoders.cnn:TextCNN",
        "CNN of Kim 2014, one text/tokens column -> n_filters*len(widths) (options: widths, "
        "n_filters, embedding_dim, dropout + tokenizer)",
    ),
    (
        "bilstm",
        "manyheads.encoders.bilstm:BiLSTM",
        "bidirectional LSTM, one text/tokens column -> 2*hidden (options: hidden, n_layers, "
        "pooling, embedding_dim, dropout + tokenizer)",
    ),
    (
        "transformer",
        "manyheads.encoders.transformer:TextTransformer",
        "Transformer encoder from scratch, one text/tokens column -> d_model (options: d_model, "
        "n_heads, n_layers, ff_dim, pooling, dropout + tokenizer)",
    ),
    (
        "pretrained",
        "manyheads.encoders.pretrained:PretrainedTransformer",
        "pretrained transformers model (default MiniLM-L6), one text/tokens column -> its "
        "hidden size (options: path, freeze, pooling, max_length)",
    ),
]:
    ENCODERS.register_lazy(_name, _target, _doc)

_W = "manyheads.weighting"
_A = "manyheads.aggregation"
METHODS: Registry[Weighting | Aggregator] = Registry("method")
for _name, _target, _doc in [
    # loss weightings
    ("ew", f"{_W}._ew:EW", "equal weights: the plain sum of task losses"),
    ("static", f"{_W}._static:Static", "fixed per-task weights from each task's 'weight'"),
    ("uw", f"{_W}._uw:UW", "uncertainty weighting (Kendall et al. 2018)"),
    ("dwa", f"{_W}._dwa:DWA", "dynamic weight average (Liu et al. 2019)"),
    ("rlw", f"{_W}._rlw:RLW", "random loss weighting (Lin et al. 2022)"),
    ("gls", f"{_W}._gls:GLS", "geometric loss strategy (Chennupati et al. 2019)"),
    ("imtl_l", f"{_W}._imtl_l:IMTLL", "IMTL loss balance (Liu et al. 2021)"),
    ("famo", f"{_W}._famo:FAMO", "fast adaptive multitask optimisation (Liu et al. 2023)"),
    ("stch", f"{_W}._stch:STCH", "smooth Tchebycheff scalarisation (Lin et al. 2024)"),
    ("gradnorm", f"{_W}._gradnorm:GradNorm", "gradient normalisation (Chen et al. 2018)"),
    # gradient aggregators (DB-MTL balances losses too, but it is an Aggregator: it reads the
    # task gradients; the order of this list is that of `manyheads ls methods`)
    ("db_mtl", f"{_A}._db_mtl:DBMTL", "dual-balancing MTL (Lin et al. 2023); needs task gradients"),
    ("mgda", f"{_A}._mgda:MGDA", "min-norm point of the task gradients (Sener & Koltun 2018)"),
    ("pcgrad", f"{_A}._pcgrad:PCGrad", "projecting conflicting gradients (Yu et al. 2020)"),
    ("graddrop", f"{_A}._graddrop:GradDrop", "gradient sign dropout (Chen et al. 2020)"),
    ("gradvac", f"{_A}._gradvac:GradVac", "gradient vaccine (Wang et al. 2021)"),
    ("imtl", f"{_A}._imtl:IMTL", "IMTL gradient balance (Liu et al. 2021)"),
    ("cagrad", f"{_A}._cagrad:CAGrad", "conflict-averse gradient descent (Liu et al. 2021)"),
    ("nash_mtl", f"{_A}._nash_mtl:NashMTL", "Nash bargaining solution (Navon et al. 2022)"),
    ("moco", f"{_A}._moco:MoCo", "multi-objective gradient correction (Fernando et al. 2023)"),
    ("aligned_mtl", f"{_A}._aligned_mtl:AlignedMTL", "aligned gradients (Senushkin et al. 2023)"),
    ("fairgrad", f"{_A}._fairgrad:FairGrad", "alpha-fair resource allocation (Ban & Ji 2024)"),
    (
        "upgrad",
        f"{_A}._upgrad:UPGrad",
        "unconflicting projection of gradients (Quinton & Rey 2024)",
    ),
]:
    METHODS.register_lazy(_name, _target, _doc)

#: Task type -> metric -> higher is better; the first metric is the primary one. A copy of each
#: class's ``metric_directions`` (checked by the contract test), for ``manyheads ls metrics``.
TASK_METRICS: dict[str, dict[str, bool]] = {
    "binary": {"auc": True, "accuracy": True, "f1": True, "logloss": False},
    "multiclass": {"accuracy": True, "macro_f1": True},
    "multilabel": {"micro_f1": True, "macro_f1": True, "mean_auc": True},
    "regression": {"rmse": False, "mae": False, "r2": True},
    "tagging": {"f1": True, "precision": True, "recall": True, "accuracy": True},
    "box": {"iou": True, "acc50": True},
}
_T = "manyheads.tasks"
TASK_TYPES: Registry[TaskType] = Registry("task type")
for _name, _target, _doc in [
    ("binary", f"{_T}._binary:Binary", "two classes; BCE loss; metrics auc, accuracy, f1, logloss"),
    (
        "multiclass",
        f"{_T}._multiclass:Multiclass",
        "one of C classes; cross-entropy; metrics accuracy, macro_f1",
    ),
    (
        "multilabel",
        f"{_T}._multilabel:Multilabel",
        "any subset of L labels (L 0/1 columns); summed BCE; micro_f1, macro_f1, mean_auc",
    ),
    (
        "regression",
        f"{_T}._regression:Regression",
        "a real value (standardised on train); mse or huber; metrics rmse, mae, r2",
    ),
    (
        "tagging",
        f"{_T}._tagging:Tagging",
        "one tag per token (POS, NER); scheme none|bio|bioes, crf; entity f1/precision/recall "
        "with a scheme (f1 primary), token accuracy",
    ),
    (
        "box",
        f"{_T}._box:Box",
        "a bounding box (columns x1, y1, x2, y2 in [0, 1]); smooth_l1 or giou; iou, acc50",
    ),
]:
    TASK_TYPES.register_lazy(_name, _target, _doc)

_D = "manyheads.builtin_datasets"
DATASETS: Registry[DatasetSplits] = Registry("dataset")
for _name, _target, _doc in [
    (
        "census-income",
        f"{_D}._census:load_census_income",
        "UCI census-income (KDD), MMoE group 1: income>50K + never married "
        "(options: sample, group)",
    ),
    (
        "multi-mnist",
        f"{_D}._multimnist:load_multi_mnist",
        "MultiMNIST (Sener & Koltun 2018): left + right digit of an overlaid pair "
        "(options: seed, n_train, n_test, interpolation)",
    ),
    (
        "multi-fashion",
        f"{_D}._multimnist:load_multi_fashion",
        "MultiFashion: MultiMNIST's construction on Fashion-MNIST "
        "(options: seed, n_train, n_test, interpolation)",
    ),
    (
        "fashion-mnist-loc",
        f"{_D}._fashion_loc:load_fashion_loc",
        "Fashion-MNIST localisation: class + box of one item on a cluttered 64 x 64 canvas "
        "(options: seed, n_train, n_test, n_clutter)",
    ),
    (
        "womens-clothing-reviews",
        f"{_D}._reviews:load_clothing_reviews",
        "clothing reviews (text): department 6-way + rating 5-way + recommended "
        "(options: title, limit)",
    ),
    (
        "sentiment-sentences",
        f"{_D}._reviews:load_sentiment_sentences",
        "Kotzias et al. 2015 review sentences: sentiment + domain (amazon/imdb/yelp) "
        "(options: limit)",
    ),
    (
        "uner-en-ewt",
        f"{_D}._uner:load_uner_en_ewt",
        "UD English-EWT + Universal NER: UPOS tagging + NER (BIO) per word (options: limit)",
    ),
    (
        "ali-ccp",
        f"{_D}._ali_ccp:load_ali_ccp",
        "Ali-CCP (ESMM, Taobao): click + purchase per impression, from "
        "$MANYHEADS_DATA/ali-ccp (options: layout, limit)",
    ),
    (
        "synthetic-ccp",
        f"{_D}._synthetic_ccp:load_synthetic_ccp",
        "impressions -> clicks -> purchases with known true probabilities (ESMM's "
        "sample-selection bias) (options: n_impressions, seed, test_fraction)",
    ),
    (
        "twitter-financial-news",
        f"{_D}._twitter_news:load_twitter_news",
        "finance tweets (zeroshot): topic 20-way, sentiment 3-way, different tweets "
        "(options: part, seed, limit)",
    ),
]:
    DATASETS.register_lazy(_name, _target, _doc)
