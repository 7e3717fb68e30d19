"""Stage 7, studies: training and scoring in one call, for the notebooks that ask a question by training many small
runs: the static grid model under data conditions (:mod:`~hybridlib.studies.conditions`, notebook 06), sweeps over
data conditions (:mod:`~hybridlib.studies.sweeps`, notebook 07) and the training-length curve's runs
(:mod:`~hybridlib.studies.length_runs`, notebook 10)."""
