"""Inference from the user's own data: a patient's visits, a mouse cohort's table, a recorded scan."""
