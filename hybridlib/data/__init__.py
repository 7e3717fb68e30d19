"""Stage 1, data: the LAReQA evaluation sets (:mod:`~hybridlib.data.lareqa`, pinned and sha256-checked, as question
and candidate tables), AfriQA and NTREX-128 (:mod:`~hybridlib.data.corpora`), the languages registry
(:mod:`~hybridlib.data.languages`), offline machine translation (:mod:`~hybridlib.data.translate`), the parallel
training pairs and their splits (:mod:`~hybridlib.data.pairs`) and the content guard that keeps training rows out of
the evaluation sets (:mod:`~hybridlib.data.overlap`).

The names of :mod:`~hybridlib.data.lareqa` most used from notebooks are re-exported here
(``from hybridlib import data; data.open_lareqa("xquad-r")``).
"""

from hybridlib.data.lareqa import (
    ChecksumError,
    DataError,
    LareqaDataset,
    MissingDataError,
    dataset_languages,
    dataset_names,
    is_lareqa,
    lareqa_from_squad,
    load_lareqa,
    load_lareqa_files,
    open_lareqa,
    parse_lareqa,
    read_json,
)

__all__ = ["ChecksumError", "DataError", "LareqaDataset", "MissingDataError", "dataset_languages", "dataset_names",
           "is_lareqa", "lareqa_from_squad", "load_lareqa", "load_lareqa_files", "open_lareqa", "parse_lareqa",
           "read_json"]
