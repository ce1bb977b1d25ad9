# Cython declarations for the compiled build of jsonscan.py (Python ignores this file): the
# scanner as a final extension type, positions as C integers and characters as code points,
# so reading a character is a load, not a one-character string. Values stay Python objects.
import cython


@cython.final
cdef class _Scanner:
    cdef str text
    cdef Py_ssize_t n
    cdef Py_ssize_t pos
    cdef Py_ssize_t max_depth

    cdef _fail(self, str message, Py_ssize_t at)

    @cython.locals(text=str, n=Py_ssize_t, c=Py_UCS4)
    cdef Py_ssize_t _skip(self, Py_ssize_t i) noexcept

    @cython.locals(i=Py_ssize_t)
    cpdef document(self)

    @cython.locals(text=str, c=Py_UCS4)
    cdef value(self, Py_ssize_t i, Py_ssize_t depth)

    @cython.locals(text=str, n=Py_ssize_t, result=dict)
    cdef obj(self, Py_ssize_t i, Py_ssize_t depth)

    @cython.locals(text=str, n=Py_ssize_t, result=list)
    cdef array(self, Py_ssize_t i, Py_ssize_t depth)

    @cython.locals(text=str, n=Py_ssize_t, start=Py_ssize_t, end=Py_ssize_t, fraction=bint)
    cdef number(self, Py_ssize_t i)

    @cython.locals(text=str, n=Py_ssize_t)
    cdef Py_ssize_t _digits(self, Py_ssize_t i) noexcept

    @cython.locals(text=str, n=Py_ssize_t, i=Py_ssize_t, c=Py_UCS4)
    cdef str string(self, Py_ssize_t start)

    @cython.locals(text=str, n=Py_ssize_t, c=Py_UCS4, code=long, low=long, run=Py_ssize_t,
                   chunks=list)
    cdef str _escaped(self, Py_ssize_t start, Py_ssize_t i)

    @cython.locals(text=str, code=long, k=Py_ssize_t, digit=long, c=Py_UCS4)
    cdef long _hex4(self, Py_ssize_t i) except? -1
