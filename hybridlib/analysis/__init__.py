"""Stage 6, analysis: what the scores say. Runs over seeds, paired tests and the paper's claims as verdicts
(:mod:`~hybridlib.analysis.comparison`), the paper's reported numbers (:mod:`~hybridlib.analysis.paper`), the open
questions and domains (notebooks 06-07), the training-length curve read (:mod:`~hybridlib.analysis.length_curve`), the
low-resource study (:mod:`~hybridlib.analysis.low_resource`) and the figures (:mod:`~hybridlib.analysis.plots`). It
reads results and run specs (:mod:`hybridlib.models.runs`) and never imports training."""
