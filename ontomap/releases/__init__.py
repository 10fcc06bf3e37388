"""Terminology releases beside the graph: RadLex OWL, SNOMED CT RF2, LOINC, any OWL/SKOS file.

Each release is read as a stream (:mod:`~ontomap.releases.owl`, :mod:`~ontomap.releases.rf2`,
:mod:`~ontomap.releases.loinc`) into ontomap's vocabulary and written into its own named graph
of a store, ``<https://w3id.org/ontomap/graph/_release/SYSTEM/VERSION>``, in the store's current
write (one generation: all or nothing). Release graphs are never exported with the models and
do not take part in the crosswalk. :class:`Releases` loads, lists and removes them and answers
what a release says about a code. See ``docs/releases.md``.
"""

from ontomap.releases.api import Concept, ReleaseInfo, Releases, write_release
from ontomap.releases.common import Counts, Release
from ontomap.releases.owl import Profile, radlex_profile
from ontomap.releases.readers import READERS, ReleaseReader, open_release

__all__ = [
    "READERS",
    "Concept",
    "Counts",
    "Profile",
    "Release",
    "ReleaseInfo",
    "ReleaseReader",
    "Releases",
    "open_release",
    "radlex_profile",
    "write_release",
]
