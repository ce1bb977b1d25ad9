# Cython declarations for the compiled build of b64codec.py (Python ignores this file): sizes
# and positions as C integers, the texts and tables read through byte pointers, so each step
# of a loop is a load and a store, not an object. The values stay what Python computes:
# every intermediate fits in 32 bits and is masked to a byte before it is stored.
import cython


@cython.locals(out=bytearray)
cpdef decode(bytes raw)


@cython.locals(out=bytearray)
cpdef decode_text(bytes raw)


@cython.locals(n=Py_ssize_t, tail=Py_ssize_t, full=Py_ssize_t, i=Py_ssize_t, k=Py_ssize_t,
               table=bytes, values="const unsigned char *",
               src="const unsigned char *", dst="unsigned char *",
               a=cython.uint, b=cython.uint, c=cython.uint, d=cython.uint, bad=cython.uint)
cdef bint _decode_into(bytes raw, bytearray out)


@cython.locals(n=Py_ssize_t, rest=Py_ssize_t, full=Py_ssize_t, i=Py_ssize_t, k=Py_ssize_t,
               out=bytearray, alphabet=bytes, chars="const unsigned char *",
               src="const unsigned char *", dst="unsigned char *",
               a=cython.uint, b=cython.uint, c=cython.uint)
cpdef str encode(bytes data)
