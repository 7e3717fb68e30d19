"""Batch samplers of the paper (X-X-mono, X-Y, hybrid) and LAReQA's X-X, for sentence-transformers' trainer.

Every batch is of one *kind*:

* **X-X-mono**: monolingual pairs (query language = passage language), all in one language, the language drawn
  uniformly per batch (the paper's X-X-mono);
* **X-Y**: cross-lingual pairs (query language != passage language). How the paper mixes language pairs inside an
  X-Y batch is unreported: ``xy_pairing="mixed"`` (default) draws pairs of any language combination,
  ``"pair"`` draws one (query, passage) language pair per batch, uniformly;
* **X-X**: monolingual pairs with the languages mixed inside a batch (LAReQA's baseline, absent from the paper);
* **any**: every pair, kinds and languages mixed (the default sampler without repeated groups; used to compute
  the validation loss on the same footing for every training sampler);
* **hybrid**: X-X-mono with probability ``alpha``, X-Y otherwise. ``alpha=1`` gives exactly the X-X-mono batches
  and ``alpha=0`` exactly the X-Y batches of the same seed (each kind draws from its own random stream).

No parallel group appears twice in a batch: translations of one pair would be false in-batch negatives for
``MultipleNegativesRankingLoss`` (sentence-transformers' ``NO_DUPLICATES`` only catches identical strings).

The samplers plug into ``SentenceTransformerTrainingArguments(batch_sampler=...)`` through :func:`make_sampler`,
which binds the pairs' languages and groups (kept out of the dataset, so they never reach the model as input
columns) and the experiment's seed (the trainer itself hands every sampler ``seed=0``). Batches change every
epoch (``set_epoch``) and repeat for the same seed and epoch.

Under ``torchrun`` / ``accelerate launch`` with W processes, each step's batch is drawn once at W times the batch
size, of one kind (and language), and yielded as W consecutive per-process batches: accelerate hands process r
every W-th batch from r on, so all processes train on the same kind at the same step, and no group repeats across
them either (in-batch negatives gathered across devices stay true negatives).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

try:
    from sentence_transformers.base.sampler import DefaultBatchSampler
except ImportError:  # pragma: no cover - older sentence-transformers
    from sentence_transformers.sampler import DefaultBatchSampler

class BatchKind:
    """A sampler strategy: what one kind of batch draws, how its runs are named, and whether it takes alpha.

    Subclasses set ``name`` (the code name, in run folders and parameters), ``label`` (the paper's name), ``draws``
    (what a batch holds) and either ``takes_alpha`` (the run's own alpha acts) or ``fixed_alpha`` (the share of
    X-X-mono batches it amounts to); ``reported`` is False for a kind no paper reports (it can still be trained).
    :class:`ParallelBatchSampler` asks a kind which pools it needs (:meth:`pools`), how many rows an epoch covers
    (:meth:`epoch_rows`) and which pool each step draws from (:meth:`pick`). Adding a sampler is one subclass in
    :data:`SAMPLERS` and its tests.
    """

    name: str = ""
    label: str = ""
    draws: str = ""
    takes_alpha: bool = False
    fixed_alpha: float | None = None
    reported: bool = True
    pool: str = ""  # the pool of rows its batches come from (see ParallelBatchSampler._make_pools)
    covers: str = "mono"  # the pairs an epoch of it covers: "mono", "xy" or "all"

    def acting_alpha(self, alpha: float) -> float | None:
        """alpha as it acts in a run of this kind."""
        return float(alpha) if self.takes_alpha else self.fixed_alpha

    def run_stem(self, alpha: float, seed: int) -> str:
        """The readable part of a run's folder name: ``hybrid-a0.5-s0``, ``xy-s1``."""
        return f"{self.name}-a{alpha:g}-s{seed}" if self.takes_alpha else f"{self.name}-s{seed}"

    def pools(self, alpha: float) -> list[str]:
        """The pools its batches draw from at this alpha."""
        return [self.pool]

    def epoch_rows(self, n_mono: int, n_xy: int, alpha: float) -> float:
        """The rows one epoch of it covers, of ``n_mono`` monolingual and ``n_xy`` cross-lingual pairs."""
        return {"mono": n_mono, "xy": n_xy, "all": n_mono + n_xy}[self.covers]

    def pick(self, coin: np.random.Generator, alpha: float) -> str:
        """The pool of this step's batch (``coin``: the run's stream for choices between pools)."""
        return self.pool


class XXMono(BatchKind):
    """X-X-mono (the paper): monolingual pairs of one language per batch, the language drawn uniformly."""

    name, label, pool, covers, fixed_alpha = "xx-mono", "X-X-mono", "xx-mono", "mono", 1.0
    draws = "monolingual pairs of one language per batch, the language drawn uniformly"


class XY(BatchKind):
    """X-Y (the paper): cross-lingual pairs (query language != passage language)."""

    name, label, pool, covers, fixed_alpha = "xy", "X-Y", "xy", "xy", 0.0
    draws = "cross-lingual pairs (query language != passage language)"


class Hybrid(BatchKind):
    """hybrid (the paper's proposal): an X-X-mono batch with probability alpha, else an X-Y batch; alpha 1 (0)
    draws exactly the X-X-mono (X-Y) batches of the same seed."""

    name, label, takes_alpha = "hybrid", "hybrid", True
    draws = "an X-X-mono batch with probability alpha, else an X-Y batch"

    def pools(self, alpha: float) -> list[str]:
        return [pool for pool, share in ((XXMono.pool, alpha), (XY.pool, 1 - alpha)) if share > 0]

    def epoch_rows(self, n_mono: int, n_xy: int, alpha: float) -> float:
        return alpha * n_mono + (1 - alpha) * n_xy

    def pick(self, coin: np.random.Generator, alpha: float) -> str:
        return XXMono.pool if coin.random() < alpha else XY.pool


class XX(BatchKind):
    """X-X (LAReQA's baseline, absent from the paper): monolingual pairs, languages mixed in a batch."""

    name, label, pool, covers = "xx", "X-X", "xx", "mono"
    draws = "monolingual pairs, languages mixed in a batch (LAReQA)"


class AnyGroupFree(BatchKind):
    """Every pair, kinds and languages mixed, no group repeated: the validation batches, and notebook 07's
    group-free sampler against sentence-transformers' own (trainable, but no paper reports it)."""

    name, label, pool, covers, reported = "any", "mixed, group-free", "any", "all", False
    draws = "every pair, kinds and languages mixed, no group repeated (the validation batches)"


class ReferenceSampler:
    """sentence-transformers' own batch sampler, a reference for the false negatives of parallel data (notebook
    07): every pair mixed, groups free to repeat."""

    name: str = ""
    label: str = ""
    takes_alpha: bool = False
    reported: bool = False

    def acting_alpha(self, alpha: float) -> None:
        return None

    def build(self, dataset, batch_size: int, *, seed: int = 0, drop_last: bool = False):
        """The sampler over ``dataset`` (its text columns), seeded by the experiment's ``seed``."""
        raise NotImplementedError


class STDefault(ReferenceSampler):
    """sentence-transformers' default: a shuffled pass cut into batches."""

    name, label = "st-default", "ST default"

    def build(self, dataset, batch_size: int, *, seed: int = 0, drop_last: bool = False):
        import torch
        from torch.utils.data import RandomSampler

        generator = torch.Generator().manual_seed(int(seed))
        return DefaultBatchSampler(RandomSampler(dataset, generator=generator), batch_size=batch_size,
                                   drop_last=drop_last, generator=generator, seed=int(seed))


class STNoDuplicates(ReferenceSampler):
    """sentence-transformers' ``NO_DUPLICATES``: no identical string twice in a batch."""

    name, label = "st-no-duplicates", "ST NO_DUPLICATES"

    def build(self, dataset, batch_size: int, *, seed: int = 0, drop_last: bool = False):
        import torch

        try:
            from sentence_transformers.base.sampler import NoDuplicatesBatchSampler
        except ImportError:  # pragma: no cover - older sentence-transformers
            from sentence_transformers.sampler import NoDuplicatesBatchSampler
        generator = torch.Generator().manual_seed(int(seed))
        return NoDuplicatesBatchSampler(dataset, batch_size, drop_last, generator=generator, seed=int(seed))


# The registry: every sampler by its code name (the batch kinds of this module, then sentence-transformers' own)
KIND_TABLE: dict[str, BatchKind] = {k.name: k for k in (XXMono(), XY(), Hybrid(), XX(), AnyGroupFree())}
REFERENCES: dict[str, ReferenceSampler] = {k.name: k for k in (STDefault(), STNoDuplicates())}
SAMPLERS: dict[str, BatchKind | ReferenceSampler] = {**KIND_TABLE, **REFERENCES}
KINDS = tuple(k for k, spec in KIND_TABLE.items() if spec.reported)  # the samplers the papers report
ALL_KINDS = tuple(KIND_TABLE)
REFERENCE_SAMPLERS = {name: spec.label for name, spec in REFERENCES.items()}
SAMPLER_NAMES = tuple(SAMPLERS)
PROPOSED = Hybrid.name  # the paper's proposal, the sampler its claims are about


def sampler_spec(name: str) -> BatchKind | ReferenceSampler:
    """The registered sampler ``name``; a ValueError naming the known ones otherwise."""
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; one of {SAMPLER_NAMES}")
    return SAMPLERS[name]


def kind_label(kind: str) -> str:
    """The paper's name of a sampler (``xx-mono`` -> ``X-X-mono``); any other name is returned as it is."""
    return SAMPLERS[kind].label if kind in SAMPLERS else kind


def acting_alpha(kind: str, alpha: float) -> float | None:
    """alpha as it acts in a run of ``kind``: the hybrid's own, 1 for X-X-mono, 0 for X-Y, None for the others."""
    return SAMPLERS[kind].acting_alpha(alpha) if kind in SAMPLERS else None


def run_stem(kind: str, alpha: float, seed: int) -> str:
    """The readable part of a run's folder name: ``hybrid-a0.5-s0``, ``xy-s1``."""
    spec = SAMPLERS.get(kind)
    return spec.run_stem(alpha, seed) if isinstance(spec, BatchKind) else f"{kind}-s{seed}"


@dataclass(frozen=True)
class PairMeta:
    """Per-row metadata of a pair table, aligned with the training dataset's rows."""

    query_lang: np.ndarray
    passage_lang: np.ndarray
    group: np.ndarray  # integer codes of the parallel groups

    @classmethod
    def from_columns(cls, query_lang: Sequence[str], passage_lang: Sequence[str], group_id: Sequence[str]) -> PairMeta:
        _, codes = np.unique(np.asarray(group_id, dtype=object).astype(str), return_inverse=True)
        return cls(np.asarray(query_lang, dtype=object), np.asarray(passage_lang, dtype=object), codes)

    @classmethod
    def from_dataset(cls, dataset) -> PairMeta:
        """From a ``datasets.Dataset`` (or DataFrame) with ``query_lang``, ``passage_lang`` and ``group_id``."""
        return cls.from_columns(dataset["query_lang"], dataset["passage_lang"], dataset["group_id"])

    def __len__(self) -> int:
        return len(self.group)

    @property
    def mono(self) -> np.ndarray:
        return self.query_lang == self.passage_lang


class SamplerError(ValueError):
    """The data cannot fill a batch of some kind."""


class _GroupFreeStream:
    """An endless stream of batches from a pool of row indices, reshuffled on every pass, with no group repeated
    inside a batch (a row that would repeat one waits for the next batch)."""

    def __init__(self, rows: np.ndarray, group: np.ndarray, rng: np.random.Generator, label: str, size: int):
        distinct = len(np.unique(group[rows])) if len(rows) else 0
        if distinct < size:
            raise SamplerError(f"{label}: {distinct} parallel groups cannot fill a batch of {size} "
                               "(no group may appear twice in a batch); lower the batch size or add data")
        self.rows, self.group, self.rng = rows, group, rng
        self.queue: list[int] = []
        self.waiting: list[int] = []

    def take(self, size: int) -> list[int]:
        batch: list[int] = []
        seen: set[int] = set()
        held: list[int] = []
        pending = self.waiting
        self.waiting = []
        while len(batch) < size:
            if pending:
                row = pending.pop(0)
            else:
                if not self.queue:
                    self.queue = self.rng.permutation(self.rows).tolist()
                row = self.queue.pop()
            g = int(self.group[row])
            if g in seen:
                held.append(row)
                if len(held) > 4 * len(self.rows) + size:  # cannot happen when the pool has >= size groups
                    raise SamplerError("could not fill a batch without repeating a group")
            else:
                seen.add(g)
                batch.append(row)
        self.waiting = held + pending
        return batch


class ParallelBatchSampler(DefaultBatchSampler):
    """Batches of one kind per step; see the module docstring. Use :func:`make_sampler` with the trainer.

    Args:
        dataset: the training dataset (its length must match ``meta``); only its length is read.
        batch_size: pairs per batch (per process).
        drop_last: accepted for the trainer; every batch is full, so it changes nothing.
        meta: languages and groups of the dataset's rows (:class:`PairMeta`).
        kind: ``"xx-mono"``, ``"xy"``, ``"hybrid"`` or ``"xx"``.
        alpha: the share of X-X-mono batches in hybrid training, in [0, 1].
        seed: the experiment's seed (the trainer's own ``seed`` argument is overridden by it).
        xy_pairing: ``"mixed"`` or ``"pair"`` (one language pair per X-Y batch).
        world_size: processes sharing each step (default: the launcher's ``WORLD_SIZE``, else 1).
        steps_per_epoch: batches per epoch per process; default: the kind's pool size over the global batch.

    Example::

        args = SentenceTransformerTrainingArguments(
            output_dir="out", batch_sampler=make_sampler(PairMeta.from_dataset(pairs), "hybrid", alpha=0.5, seed=1))
        SentenceTransformerTrainer(model=model, args=args, train_dataset=pairs.select_columns(["query", "passage"]),
                                   loss=MultipleNegativesRankingLoss(model)).train()
    """

    def __init__(self, dataset, batch_size: int, drop_last: bool = False, valid_label_columns=None,
                 generator=None, seed: int = 0, *, meta: PairMeta, kind: str = "hybrid", alpha: float = 0.5,
                 xy_pairing: str = "mixed", world_size: int | None = None, steps_per_epoch: int | None = None):
        super().__init__(dataset, batch_size=batch_size, drop_last=drop_last,
                         valid_label_columns=valid_label_columns, generator=generator, seed=seed)
        check_sampler_args(kind, alpha, batch_size, xy_pairing)
        if len(meta) != len(dataset):
            raise ValueError(f"meta describes {len(meta)} rows but the dataset has {len(dataset)}")
        self.meta, self.kind, self.alpha, self.xy_pairing = meta, kind, float(alpha), xy_pairing
        self.spec: BatchKind = KIND_TABLE[kind]
        self.world_size = world_size or int(os.environ.get("WORLD_SIZE", "1"))
        self.epoch = 0
        self._pools = self._make_pools()
        self._check_pools()
        global_batch = batch_size * self.world_size
        if steps_per_epoch is None:
            n_mono, n_xy = int(meta.mono.sum()), int((~meta.mono).sum())
            steps_per_epoch = max(1, int(self.spec.epoch_rows(n_mono, n_xy, self.alpha) // global_batch))
        self.steps = int(steps_per_epoch)

    # -- pools ---------------------------------------------------------------------------------------------
    def _make_pools(self) -> dict[str, dict[object, np.ndarray]]:
        m = self.meta
        mono_rows, xy_rows = np.flatnonzero(m.mono), np.flatnonzero(~m.mono)
        by_lang = {lang: mono_rows[m.query_lang[mono_rows] == lang] for lang in sorted(set(m.query_lang[mono_rows]))}
        if self.xy_pairing == "pair":
            keys = sorted({(q, p) for q, p in zip(m.query_lang[xy_rows], m.passage_lang[xy_rows])})
            xy = {k: xy_rows[(m.query_lang[xy_rows] == k[0]) & (m.passage_lang[xy_rows] == k[1])] for k in keys}
        else:
            xy = {"all": xy_rows}
        return {XXMono.pool: by_lang, XY.pool: xy, XX.pool: {"all": mono_rows},
                AnyGroupFree.pool: {"all": np.arange(len(m))}}

    def _needed(self) -> list[str]:
        return self.spec.pools(self.alpha)

    def _check_pools(self) -> None:
        size = self.batch_size * self.world_size
        for kind in self._needed():
            pools = self._pools[kind]
            if not pools or not any(len(rows) for rows in pools.values()):
                raise SamplerError(f"no {kind} pairs in the data: the {self.kind} sampler needs them")
            for key, rows in pools.items():
                _GroupFreeStream(rows, self.meta.group, np.random.default_rng(0), f"{kind} pool {key}", size)

    # -- iteration -----------------------------------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.steps * self.world_size

    def _rngs(self) -> tuple[np.random.Generator, ...]:
        # one independent stream per purpose, so that alpha = 1 (0) reproduces X-X-mono (X-Y) exactly
        seq = np.random.SeedSequence([int(self.seed), int(self.epoch)])
        return tuple(np.random.default_rng(s) for s in seq.spawn(3))

    def batches(self) -> Iterator[tuple[str, object, list[int]]]:
        """Global batches of one epoch: ``(kind, pool key, rows)``, each of ``batch_size * world_size`` rows."""
        coin, mono_rng, xy_rng = self._rngs()
        size = self.batch_size * self.world_size
        rng_of = {XXMono.pool: mono_rng, XX.pool: mono_rng, XY.pool: xy_rng, AnyGroupFree.pool: mono_rng}
        streams = {kind: {key: _GroupFreeStream(rows, self.meta.group, rng_of[kind], f"{kind} {key}", size)
                          for key, rows in pools.items() if len(rows)}
                   for kind, pools in self._pools.items() if kind in self._needed()}
        for _ in range(self.steps):
            kind = self.spec.pick(coin, self.alpha)
            keys = list(streams[kind])
            key = keys[int(rng_of[kind].integers(len(keys)))] if len(keys) > 1 else keys[0]
            yield kind, key, streams[kind][key].take(size)

    def __iter__(self) -> Iterator[list[int]]:
        for _, _, rows in self.batches():
            for r in range(self.world_size):
                yield rows[r * self.batch_size : (r + 1) * self.batch_size]


def check_sampler_args(kind: str, alpha: float, batch_size: int, xy_pairing: str = "mixed") -> None:
    """Raise ValueError for an unknown sampler or pairing, alpha outside [0, 1], or a non-positive batch size: the
    one check of a sampler's arguments, which every entry point calls before it draws a batch (the parameters of a
    scale or a command, :func:`hybridlib.params.check_values`; Python calls: :func:`make_sampler`,
    :class:`ParallelBatchSampler`, ``fine_tune``, ``train_runs``). :class:`SamplerFactory`, built by those, trusts
    its values."""
    sampler_spec(kind)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)):
        raise TypeError(f"alpha must be a number in [0, 1], got {alpha!r} ({type(alpha).__name__})")
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if xy_pairing not in ("mixed", "pair"):
        raise ValueError(f"xy_pairing must be 'mixed' or 'pair', got {xy_pairing!r}")


@dataclass
class SamplerFactory:
    """A picklable ``batch_sampler`` for ``SentenceTransformerTrainingArguments``: the trainer calls it with
    ``(dataset, batch_size, drop_last, valid_label_columns, generator, seed)``; it binds the pairs' metadata,
    the kind, alpha and the experiment's seed, which replaces the trainer's."""

    meta: PairMeta
    kind: str = "hybrid"
    alpha: float = 0.5
    seed: int = 0
    options: dict = field(default_factory=dict)

    def __call__(self, dataset, batch_size: int, drop_last: bool = False, valid_label_columns=None,
                 generator=None, seed: int = 0):
        if isinstance(sampler_spec(self.kind), ReferenceSampler):
            return reference_sampler(self.kind, dataset, batch_size, seed=self.seed, drop_last=drop_last)
        return ParallelBatchSampler(dataset, batch_size, drop_last, valid_label_columns, generator, self.seed,
                                    meta=self.meta, kind=self.kind, alpha=self.alpha, **self.options)


def reference_sampler(name: str, dataset, batch_size: int, *, seed: int = 0, drop_last: bool = False):
    """sentence-transformers' own batch sampler ``name`` (:data:`REFERENCE_SAMPLERS`) over ``dataset`` (its text
    columns), seeded by the experiment's ``seed``; raises :class:`SamplerError` when the data cannot fill a batch."""
    if name not in REFERENCES:
        raise ValueError(f"unknown reference sampler {name!r}; one of {tuple(REFERENCE_SAMPLERS)}")
    if len(dataset) < batch_size:
        raise SamplerError(f"{name}: {len(dataset)} pairs cannot fill a batch of {batch_size}")
    return REFERENCES[name].build(dataset, batch_size, seed=seed, drop_last=drop_last)


def make_sampler(meta: PairMeta, kind: str = "hybrid", *, alpha: float = 0.5, seed: int = 0, **options) -> SamplerFactory:
    """The ``batch_sampler`` argument for the trainer (see :class:`SamplerFactory`), its arguments checked."""
    check_sampler_args(kind, alpha, 1, options.get("xy_pairing", "mixed"))
    return SamplerFactory(meta, kind, alpha, seed, options)


def group_collisions(batches: Sequence[Sequence[int]], group: np.ndarray) -> tuple[int, int]:
    """``(batches with a repeated group, repeated rows in all)``: how often parallel translations of one pair
    share a batch, the false in-batch negatives our samplers rule out."""
    per_batch = false_negatives_per_batch(batches, group)
    return int((per_batch["repeated_rows"] > 0).sum()), int(per_batch["repeated_rows"].sum())


def false_negatives_per_batch(batches: Sequence[Sequence[int]], group: np.ndarray) -> "pd.DataFrame":
    """Per batch: its size, the rows that repeat a group already in it, and the ordered (query, other passage)
    pairs of one group: the in-batch negatives of ``MultipleNegativesRankingLoss`` that are really positives
    (translations of the query's own pair)."""
    import pandas as pd

    rows = []
    for batch in batches:
        g = group[np.asarray(batch, dtype=int)]
        counts = np.unique(g, return_counts=True)[1]
        rows.append({"size": len(g), "repeated_rows": int(len(g) - len(counts)),
                     "false_negatives": int((counts * (counts - 1)).sum())})
    return pd.DataFrame(rows, columns=["size", "repeated_rows", "false_negatives"])


def default_batches(n_rows: int, batch_size: int, seed: int = 0) -> list[list[int]]:
    """The batches of sentence-transformers' default sampler (a shuffled pass cut into batches) for comparison."""
    order = np.random.default_rng(seed).permutation(n_rows)
    return [order[i : i + batch_size].tolist() for i in range(0, n_rows - batch_size + 1, batch_size)]


def sampled_rows(meta: PairMeta, kinds: Sequence[str] = KINDS, *, batch_size: int = 32, alpha: float = 0.5,
                 seed: int = 0):
    """Every pair drawn in one epoch of each sampler, and of sentence-transformers' default (``"default"``):
    one row per (sampler, batch, pair) with the batch's kind, the pair's languages and group."""
    import pandas as pd

    runs = [(k, [(kind, rows) for kind, _, rows in ParallelBatchSampler(
        range(len(meta)), batch_size, meta=meta, kind=k, alpha=alpha, seed=seed).batches()]) for k in kinds]
    runs.append(("default", [("mixed", b) for b in default_batches(len(meta), batch_size, seed)]))
    frames = []
    for sampler, batches in runs:
        idx = np.concatenate([np.asarray(b) for _, b in batches])
        frames.append(pd.DataFrame({
            "sampler": sampler, "batch": np.repeat(np.arange(len(batches)), [len(b) for _, b in batches]),
            "kind": np.repeat([k for k, _ in batches], [len(b) for _, b in batches]),
            "query_lang": meta.query_lang[idx], "passage_lang": meta.passage_lang[idx], "group": meta.group[idx]}))
    return pd.concat(frames, ignore_index=True)


def batch_statistics(sampled) -> "pd.DataFrame":
    """Per sampler, from :func:`sampled_rows`: batches, the share of X-X-mono batches, the share of monolingual
    pairs, and the batches (and rows) in which a parallel group repeats."""
    import pandas as pd

    per_batch = sampled.groupby(["sampler", "batch"], sort=False).agg(
        kind=("kind", "first"), mono=("query_lang", "size"), groups=("group", "nunique"))
    per_batch["mono"] = sampled.assign(m=sampled.query_lang == sampled.passage_lang).groupby(
        ["sampler", "batch"], sort=False)["m"].mean()
    per_batch["size"] = sampled.groupby(["sampler", "batch"], sort=False).size()
    per_batch["repeats"] = per_batch["size"] - per_batch["groups"]
    out = per_batch.groupby(level="sampler", sort=False).agg(
        batches=("kind", "size"), xx_mono_batches=("kind", lambda k: float((k == XXMono.pool).mean())),
        monolingual_pairs=("mono", "mean"), batches_with_a_repeated_group=("repeats", lambda r: int((r > 0).sum())),
        repeated_rows=("repeats", "sum"))
    return pd.DataFrame(out)


def false_negative_rates(dataset, samplers: Sequence[str], *, batch_size: int = 32, alpha: float = 0.5,
                         seed: int = 0, n_batches: int = 200) -> "pd.DataFrame":
    """How often translations of one pair share a batch, per sampler (our kinds and :data:`REFERENCE_SAMPLERS`)
    over the first ``n_batches`` batches it draws from ``dataset`` (a pair dataset with ``query``, ``passage``,
    languages and ``group_id``): the share of batches with a repeated group, false in-batch negatives per batch,
    and their share of all in-batch negatives (``size * (size - 1)`` per batch)."""
    import itertools

    import pandas as pd

    meta = PairMeta.from_dataset(dataset)
    texts = dataset.select_columns(["query", "passage"])
    rows = []
    for name in samplers:
        check_sampler_args(name, alpha, batch_size)
        sampler = SamplerFactory(meta, name, alpha, seed)(texts, batch_size)
        per_batch = false_negatives_per_batch(list(itertools.islice(iter(sampler), n_batches)), meta.group)
        negatives = int((per_batch["size"] * (per_batch["size"] - 1)).sum())
        rows.append({"sampler": kind_label(name), "batches": len(per_batch),
                     "batches with a repeated group": float((per_batch["repeated_rows"] > 0).mean()),
                     "false negatives per batch": float(per_batch["false_negatives"].mean()),
                     "false share of in-batch negatives": per_batch["false_negatives"].sum() / max(negatives, 1)})
    return pd.DataFrame(rows)
