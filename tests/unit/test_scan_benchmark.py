"""The benchmark's scoring: median absolute error in % of the truth, and interval coverage."""

import pytest

from endplate.infer.benchmark import summarise


def test_benchmark_summary_scores_error_and_coverage_per_stage_and_muscle():
    rows = [
        {
            "muscle": "APB",
            "stage": "healthy",
            "true_units": 100,
            "inference": 110,
            "inference_low": 90,
            "inference_high": 120,
            "mps": 50,
        },
        {
            "muscle": "APB",
            "stage": "late",
            "true_units": 10,
            "inference": 10,
            "inference_low": 11,
            "inference_high": 12,
            "mps": None,
        },
        {
            "muscle": "FDI",
            "stage": "late",
            "true_units": 20,
            "inference": 25,
            "inference_low": 21,
            "inference_high": 30,
            "mps": 20,
        },
    ]
    s = summarise(rows)
    approx = pytest.approx
    assert s["all"]["median_abs_error_percent"]["inference"] == approx(10.0)
    assert s["all"]["median_abs_error_percent"]["mps"] == approx(25.0)  # (50 + 0) / 2: the undefined MPS is left out
    assert abs(s["all"]["coverage_90"] - 1 / 3) < 1e-12
    assert s["late"]["scans"] == 2 and s["FDI"]["median_abs_error_percent"]["inference"] == approx(25.0)
    assert "reinnervated" not in s
