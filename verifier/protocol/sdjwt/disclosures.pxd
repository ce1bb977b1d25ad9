# Cython declarations for the compiled build of disclosures.py (Python ignores this file):
# the payload walk as an extension type with typed attributes and direct method calls. Only
# object types, so every value and comparison keeps Python's semantics.
import cython


@cython.final
cdef class _Rebuilder:
    cdef readonly dict by_digest
    cdef readonly object max_nesting
    cdef readonly set seen
    cdef readonly dict used
    cdef readonly set top_level
    cdef readonly set disclosed
    cdef readonly set concealed

    @cython.locals(sent=tuple)
    cpdef _take(self, digest)

    cpdef value(self, node, depth, tuple path)

    cpdef obj(self, node, depth, tuple path)

    cpdef _insert(self, node, disclosure, depth, tuple path)

    @cython.locals(out=list)
    cpdef array(self, node, depth, tuple path)
