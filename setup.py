"""Only the optional C extensions; everything else is in pyproject.toml.

`optional=True`: without a C compiler the build warns and goes on, and the
node runs the Python implementation of the same code (see
ranvier/eventstore/native.py and syncer.py)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "ranvier.eventstore._native",
            ["src/ranvier/eventstore/_native.c"],
            optional=True,
            extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wextra"],
        ),
        Extension(
            "ranvier.eventstore._syncer",
            ["src/ranvier/eventstore/_syncer.c"],
            optional=True,
            extra_compile_args=["-O2", "-std=gnu11", "-Wall", "-Wextra", "-pthread"],
            extra_link_args=["-pthread"],
        ),
    ]
)
