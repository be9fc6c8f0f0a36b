"""Layer E: targets, observation models, fits (ABC-SMC with model choice) and calibrated presets.

Other layers read the shipped calibration through ``calibrated_values(genotype, hypothesis)``.
"""

from endplate.calibrate.presets import calibrated_presets, calibrated_values

__all__ = ["calibrated_presets", "calibrated_values"]
