"""The one exception type for bad user input.

The CLI turns it into a one-paragraph message and exit code 2; library users catch it like any
``ValueError``.
"""


class EndplateInputError(ValueError):
    """Input that names something unknown or holds a value outside its allowed range."""
