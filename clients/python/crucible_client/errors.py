"""Exceptions of crucible_client.

Every failed call raises CrucibleError carrying the gRPC status code and the
server's message (the server names the bad field, the unknown id, ...)::

    try:
        client.get_job("nope")
    except CrucibleError as e:
        assert e.code == grpc.StatusCode.NOT_FOUND
        print(e.message)

JobFailedError is raised by Job.wait() and Job.report for a job that FAILED or
was CANCELLED; JobTimeoutError (also a TimeoutError) when wait() runs out of time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import grpc

if TYPE_CHECKING:
    from crucible_client.job import Job


class CrucibleError(Exception):
    """A call to the Crucible service failed.

    code: the gRPC status code (grpc.StatusCode), or None for failures found
    by the client itself; message: the server's explanation.
    """

    def __init__(self, code: Optional[grpc.StatusCode], message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code.name}: {message}" if code is not None else message)

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> "CrucibleError":
        # Call errors raised by grpcio are also grpc.Call objects.
        code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
        details = error.details() if hasattr(error, "details") else str(error)
        return cls(code, details or "")


class JobFailedError(CrucibleError):
    """The job ended FAILED or CANCELLED; ``job`` is its final state."""

    def __init__(self, job: "Job") -> None:
        self.job = job
        reason = job.error or "no reason given"
        super().__init__(None, f"job {job.id} {job.state}: {reason}")


class JobTimeoutError(CrucibleError, TimeoutError):
    """Job.wait() ran out of time; the job goes on running."""

    def __init__(self, job_id: str, timeout: float) -> None:
        self.job_id = job_id
        super().__init__(grpc.StatusCode.DEADLINE_EXCEEDED,
                         f"job {job_id} did not end within {timeout:g} s")
