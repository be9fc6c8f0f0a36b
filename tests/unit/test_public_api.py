"""The public API (endplate/__init__.py): every name resolves, is documented, and importing stays light."""

import subprocess
import sys

import endplate


def test_every_public_name_resolves_and_has_a_docstring():
    for name in endplate.__all__:
        if name == "__version__":
            continue
        obj = getattr(endplate, name)
        assert (obj.__doc__ or "").strip(), f"endplate.{name} has no docstring"
    assert endplate.simulate.__module__ == "endplate.disease.simulate"
    assert endplate.replay.__module__ == "endplate.replay"  # the function, not the module of that name
    assert endplate.paired_pulse.__name__ == "paired_pulse" and endplate.run_fit.__name__ == "run_fit"


def test_an_unknown_name_is_an_attribute_error():
    try:
        endplate.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("endplate.no_such_thing resolved")


def test_import_endplate_does_not_import_the_higher_layers():
    code = (
        "import sys, endplate; heavy = [m for m in ('endplate.disease.simulate', 'endplate.therapy.engine', "
        "'endplate.calibrate.fit', 'pyabc', 'distributed') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
