"""Layer E: targets, observation models, fits (ABC-SMC with model choice) and the calibrated-preset writer.

A fit writes ``presets/calibrated/<problem>.toml`` (``preset_writer.py``); the disease layer reads
those files (``endplate.disease.calibrated``), as it reads its other presets.
"""
