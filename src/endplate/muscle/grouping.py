"""Fibre-type grouping in the cross-section, the histological sign of reinnervation.

The index compares how often a fibre's nearest neighbours are of another type with how often
they would be if the types of the same fibres were relabelled at random within a biopsy-sized
field (a permutation null): expected over observed. A random mosaic reads 1 whatever the type
proportions (Lexell et al. 1984, R15: healthy human muscle is random); reinnervation by
collateral sprouting, which gives neighbouring fibres to one unit and so one type, leaves
fewer type boundaries and raises it. Counting boundaries rather than same-type neighbours
keeps the index sensitive when one type predominates, as after the loss of the FF units.
The field is local because a biopsy samples one region: a regional gradient of types (the deep
oxidative region of mouse fast muscles, M112-M113) is not grouping. Every fibre of the section
counts, denervated ones with the type their last unit gave them, as a stained section types
every fibre; counting only innervated fibres would stretch the field over the whole of a
muscle that has lost most of its junctions and count the regional gradient after all.
"""

from __future__ import annotations

import hashlib
import threading

import numpy as np
from scipy.spatial import cKDTree

from endplate.muscle.anatomy import Anatomy
from endplate.readings import reading

NEIGHBOURS = 6  # the first ring of a fibre in a packed section
# Fibres of the biopsy-sized field whose types are relabelled in the null (assumed: a biopsy
# section holds a few hundred fibres; groups after reinnervation hold tens).
FIELD_FIBRES = 200
# The field of every fibre depends on the positions alone, which a muscle keeps through a run, so
# the last muscle's fields are kept (by content) for its next probe, if they are not too large.
KEEP_FIELDS_BYTES = 64 * 2**20
_last_fields: tuple[bytes, int, np.ndarray] | None = None
_fields_lock = threading.Lock()


def _other_type_share(types: np.ndarray, idx: np.ndarray) -> float:
    """Summed share, over fibres, of the fibres in ``idx`` rows (column 0 is the fibre itself) of another type."""
    return float(np.sum(np.mean(types[idx[:, 1:]] != types[:, None], axis=1)))


def _fields(xy: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` nearest fibres of every fibre (itself first), from the last call if ``xy`` is the same."""
    global _last_fields
    xy = np.ascontiguousarray(xy)
    key = hashlib.blake2b(xy.tobytes() + str((xy.dtype, xy.shape)).encode(), digest_size=20).digest()
    with _fields_lock:
        last = _last_fields
    if last is not None and last[0] == key and last[1] == k:
        return last[2]
    _, idx = cKDTree(xy).query(xy, k)
    idx.setflags(write=False)
    if idx.nbytes <= KEEP_FIELDS_BYTES:
        with _fields_lock:
            _last_fields = (key, k, idx)
    return idx


def grouping(anatomy: Anatomy) -> dict:
    """``grouping_index``: expected over observed share of neighbours of another type.

    Observed: for each fibre, the share of its 6 nearest neighbours of another type. Expected
    under relabelling: the share of other types among the other fibres of its field (its
    ``FIELD_FIBRES`` nearest), exact for a permutation within the field. Undefined (None, with
    the reason) with too few fibres, a single type, or no type boundary at all.
    """
    types = anatomy.fibre_type
    if anatomy.n_fibres <= NEIGHBOURS:
        return reading("grouping_index", None, f"fewer than {NEIGHBOURS + 1} fibres")
    if np.unique(types).size < 2:
        return reading("grouping_index", None, "all fibres are of one type")
    idx = _fields(anatomy.fibre_xy_mm, min(FIELD_FIBRES, anatomy.n_fibres - 1) + 1)
    observed = _other_type_share(types, idx[:, : NEIGHBOURS + 1])
    if observed == 0:
        return reading("grouping_index", None, "no fibre has a neighbour of another type (complete grouping)")
    return reading("grouping_index", _other_type_share(types, idx) / observed, "")


def grouping_index(anatomy: Anatomy) -> float | None:
    """The grouping index alone (None when undefined; see ``grouping``)."""
    return grouping(anatomy)["grouping_index"]
