"""The foundation every stage stands on: where files live (the project root, ``HYBRIDLIB_DATA``) and writing them
atomically, with locks (:mod:`~hybridlib.core.paths`, :mod:`~hybridlib.core._io`). It imports no other hybridlib
module."""
