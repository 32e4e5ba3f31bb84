"""Compile: a valid bundle → one canonical snapshot per tenant, plus its provenance.

Public surface: :func:`compile_bundle`, :func:`compile_paths`, :class:`CompiledSnapshot`,
:class:`CompileResult`. The snapshot format itself is defined in :mod:`runtime.snapshot`.
"""

from focalctl.compile.build import CompiledSnapshot, CompileResult, compile_bundle, compile_paths

__all__ = ["CompileResult", "CompiledSnapshot", "compile_bundle", "compile_paths"]
