# Cython declarations for the compiled build of jsonfast.py (Python ignores this file): the walk
# as a C function (its recursion a C call, its flags and depth C values).
import cython


cpdef bint plain(object value, bint ascii_only)

@cython.locals(kind=object)
cdef bint _plain(object item, bint ascii_only, Py_ssize_t depth) except -1

cdef bint _escapes_alike(object text) except -1

cpdef loads(object text)
