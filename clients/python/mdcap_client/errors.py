"""The client's one exception, :class:`MdcapError`, and how gRPC errors become one."""

from __future__ import annotations

from typing import Any, Optional

import grpc

__all__ = ["MdcapError", "ERROR_CODE_METADATA"]

#: Trailing metadata key with the server's ``MDCAP_ERR_*`` code.
ERROR_CODE_METADATA = "mdcap-error-code"


class MdcapError(Exception):
    """An error from ``mdcap serve`` (or from this client before it sent anything).

    Attributes:
        code: the stable ``MDCAP_ERR_*`` code (docs/errors.md) — match on it, never on the
            message; None for transport errors that carry none (the server is not reachable,
            the deadline passed: see ``status``).
        status: the gRPC status code (``grpc.StatusCode.NOT_FOUND``, ``INVALID_ARGUMENT``,
            ``UNAUTHENTICATED``, ``RESOURCE_EXHAUSTED``, ``UNAVAILABLE``, …).
        message: what went wrong, without the code.

    ``str(error)`` is ``"MDCAP_ERR_X: message"`` (``"UNAVAILABLE: message"`` without a code).
    """

    def __init__(self, code: Optional[str], message: str, status: Optional[grpc.StatusCode] = None) -> None:
        super().__init__(code, message, status)
        self.code = code
        self.message = message
        self.status = status

    def __str__(self) -> str:
        label = self.code or (self.status.name if self.status is not None else "MDCAP_ERROR")
        return f"{label}: {self.message}"

    def __repr__(self) -> str:
        return f"MdcapError(code={self.code!r}, status={self.status}, message={self.message!r})"

    @classmethod
    def from_rpc(cls, error: Any) -> "MdcapError":
        """The MdcapError of a failed call (a ``grpc.RpcError`` that is also a ``grpc.Call``).

        The code comes from the trailing metadata ``mdcap-error-code``, else from the start of
        the status details (``"MDCAP_ERR_X: …"``); that prefix is taken off the message.
        """
        status: Optional[grpc.StatusCode] = _call(error, "code")
        details: str = _call(error, "details") or ""
        code: Optional[str] = None
        for key, value in _call(error, "trailing_metadata") or ():
            if key == ERROR_CODE_METADATA:
                code = value.decode() if isinstance(value, bytes) else str(value)
        head, sep, rest = details.partition(": ")
        if sep and head.startswith("MDCAP_ERR_") and " " not in head:
            code = code or head
            if head == code:
                details = rest
        return cls(code, details or (status.name.lower().replace("_", " ") if status is not None else "failed"), status)


def _call(error: Any, method: str) -> Any:
    fn = getattr(error, method, None)
    try:
        return fn() if callable(fn) else None
    except Exception:  # noqa: BLE001 - a half-made call object; report what we have
        return None
