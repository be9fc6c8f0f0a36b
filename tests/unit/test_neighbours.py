import numpy as np
import pytest
from scipy.spatial import cKDTree

from endplate.muscle.anatomy import build_anatomy
from endplate.muscle.neighbours import nearest
from endplate.muscle.presets import load_muscle


@pytest.mark.parametrize(
    "points",
    [
        build_anatomy(load_muscle("mouse", "soleus"), seed=3).fibre_xy_mm,  # a jittered lattice in a circle
        np.random.default_rng(0).random((700, 2)) ** 3,  # a cloud crowded in one corner, sparse elsewhere
    ],
    ids=["lattice", "crowded-cloud"],
)
def test_nearest_fibres_agree_with_a_kd_tree(points):
    assert np.array_equal(nearest(points, 7), cKDTree(points).query(points, 7)[1])


def test_equal_distances_are_ordered_by_index_and_the_point_comes_first():
    grid = np.array([(x, y) for x in range(4) for y in range(4)], float)  # exact ties everywhere
    nb = nearest(grid, 5)
    assert np.array_equal(nb[:, 0], np.arange(16))
    d = np.hypot(*(grid[nb] - grid[:, None, :]).transpose(2, 0, 1))
    assert (np.diff(d, axis=1) >= 0).all()
    tied = np.diff(d, axis=1) == 0
    assert tied.any() and (np.diff(nb, axis=1)[tied] > 0).all()
    # the distances themselves are the kd-tree's (only the order among ties may differ)
    assert np.allclose(d, cKDTree(grid).query(grid, 5)[0])


@pytest.mark.parametrize("k", [0, 17])
def test_k_outside_one_to_n_is_refused(k):
    with pytest.raises(ValueError, match="k must be 1 to 16"):
        nearest(np.zeros((16, 2)) + np.arange(16)[:, None], k)
