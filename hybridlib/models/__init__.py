"""Stage 3, models: what a model is and where it comes from. The registry of known encoders
(:mod:`~hybridlib.models.registry`), one record per model (:mod:`~hybridlib.models.model_record`), building
multilingual-e5-small offline (:mod:`~hybridlib.models.e5_conversion`), loading and embedding with a resumable cache
(:mod:`~hybridlib.models.encoder`), the guard that a model is not scored on what it trained on
(:mod:`~hybridlib.models.leakage`), and what a training run is: its spec, identity, folder and snapshots, found again
by the recorded spec (:mod:`~hybridlib.models.runs`).

The names of :mod:`~hybridlib.models.encoder` most used from notebooks are re-exported here
(``from hybridlib import models; models.load_encoder("default")``).
"""

from hybridlib.models.encoder import (
    STATIC_LABEL,
    ModelLoadError,
    build_static_encoder,
    default_max_seq_length,
    embed_texts,
    load_encoder,
    model_label,
    model_record,
    normalize,
    prompts_for,
    resolve_model,
    training_record,
)

__all__ = ["STATIC_LABEL", "ModelLoadError", "build_static_encoder", "default_max_seq_length", "embed_texts",
           "load_encoder", "model_label", "model_record", "normalize", "prompts_for", "resolve_model", "training_record"]
