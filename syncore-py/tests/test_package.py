from __future__ import annotations

import importlib.metadata
import pathlib

import syncore


def test_package_metadata_and_typing_markers() -> None:
    meta = importlib.metadata.metadata("syncore")
    assert meta["Requires-Python"] == ">=3.9"
    assert syncore.__version__ == importlib.metadata.version("syncore")
    package = pathlib.Path(syncore.__file__).parent
    assert (package / "py.typed").exists() and (package / "_syncore.pyi").exists()


def test_everything_native_is_exported() -> None:
    from syncore import _syncore

    assert set(_syncore.__all__) <= set(syncore.__all__)
    for name in syncore.__all__:
        assert getattr(syncore, name) is not None
