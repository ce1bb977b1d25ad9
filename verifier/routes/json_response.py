"""The JSON answers of every route: Starlette's ``JSONResponse``, its body written faster.

Starlette renders with ``json.dumps(content, ensure_ascii=False, allow_nan=False,
separators=(",", ":")).encode("utf-8")``. :class:`JSONResponse` returns the same bytes through
:class:`verifier.protocol.jsonfast.Encoder` (orjson where it writes exactly that; the standard
library otherwise, so a NaN still raises and a lone surrogate still fails to encode): a flow's
relying-party answers carry the whole result, and the standard encoder was ~4 % of a flow.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse as StarletteJSONResponse

from verifier.protocol.jsonfast import Encoder

__all__ = ["JSONResponse"]

_BODY = Encoder(ensure_ascii=False, allow_nan=False).bytes


class JSONResponse(StarletteJSONResponse):
    def render(self, content: Any) -> bytes:
        return _BODY(content)
